package route53api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/health"
)

// Namespace is the XML namespace of every Route 53 document.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// Prefix is the path under which [New]'s handler serves; mount it there unchanged.
const Prefix = "/2013-04-01/"

// Store is the replicated control plane: control.Node implements it.
type Store interface {
	State() *control.State
	Apply(ctx context.Context, b control.Batch) (control.Result, error)
}

// Fleet reports whether every reachable region's DNS server serves the control-plane state
// at index or later; GetChange answers INSYNC once it does.
type Fleet interface {
	InSync(ctx context.Context, index uint64) bool
}

// Answerer answers a DNS query as polyregion's DNS server would for a resolver address and
// an EDNS Client Subnet prefix (invalid when the query has none); TestDNSAnswer uses it.
type Answerer interface {
	TestAnswer(ctx context.Context, name string, qtype uint16, resolver netip.Addr, ecs netip.Prefix) (*dns.Msg, error)
}

// Options configure the API. Store is required.
type Options struct {
	// Credentials are the access keys accepted.
	Credentials []awsapi.Credentials
	Store       Store
	// Fleet decides when a change is INSYNC; nil: as soon as this region has applied it.
	Fleet Fleet
	// Answerer serves TestDNSAnswer; nil: TestDNSAnswer is not available.
	Answerer Answerer
	// HealthStatus returns a health check's current status; nil: GetHealthCheckStatus
	// reports no observations.
	HealthStatus func(id string) (health.CheckStatus, bool)
	// NameServers returns the name servers of a zone (its delegation set, the apex NS
	// record); nil or empty: none are listed.
	NameServers func(zoneName string) []string
	Logger      *slog.Logger
	// Now is the clock for signatures and change times; nil: time.Now.
	Now func() time.Time
}

// api is the handler.
type api struct {
	opts   Options
	logger *slog.Logger
	mux    *http.ServeMux
}

// New returns the Route 53 API handler for requests under [Prefix].
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NameServers == nil {
		opts.NameServers = func(string) []string { return nil }
	}
	a := &api{opts: opts, logger: opts.Logger, mux: http.NewServeMux()}
	routes := map[string]handlerFunc{
		"POST /2013-04-01/hostedzone":                    a.createHostedZone,
		"GET /2013-04-01/hostedzone":                     a.listHostedZones,
		"GET /2013-04-01/hostedzone/{id}":                a.getHostedZone,
		"DELETE /2013-04-01/hostedzone/{id}":             a.deleteHostedZone,
		"POST /2013-04-01/hostedzone/{id}/rrset":         a.changeResourceRecordSets,
		"POST /2013-04-01/hostedzone/{id}/rrset/":        a.changeResourceRecordSets,
		"GET /2013-04-01/hostedzone/{id}/rrset":          a.listResourceRecordSets,
		"GET /2013-04-01/change/{id}":                    a.getChange,
		"POST /2013-04-01/healthcheck":                   a.createHealthCheck,
		"GET /2013-04-01/healthcheck":                    a.listHealthChecks,
		"GET /2013-04-01/healthcheck/{id}":               a.getHealthCheck,
		"POST /2013-04-01/healthcheck/{id}":              a.updateHealthCheck,
		"DELETE /2013-04-01/healthcheck/{id}":            a.deleteHealthCheck,
		"GET /2013-04-01/healthcheck/{id}/status":        a.getHealthCheckStatus,
		"POST /2013-04-01/cidrcollection":                a.createCidrCollection,
		"GET /2013-04-01/cidrcollection":                 a.listCidrCollections,
		"POST /2013-04-01/cidrcollection/{id}":           a.changeCidrCollection,
		"GET /2013-04-01/cidrcollection/{id}":            a.listCidrLocations,
		"DELETE /2013-04-01/cidrcollection/{id}":         a.deleteCidrCollection,
		"GET /2013-04-01/cidrcollection/{id}/cidrblocks": a.listCidrBlocks,
		"GET /2013-04-01/testdnsanswer":                  a.testDNSAnswer,
		"/2013-04-01/":                                   a.notImplemented,
		"/":                                              a.notImplemented,
	}
	for pattern, h := range routes {
		a.mux.Handle(pattern, a.wrap(h))
	}
	return a.mux
}

// handlerFunc serves one operation; it returns an error for the wrapper to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *requestContext) error

// requestContext is what a handler knows about its request.
type requestContext struct {
	id  string
	now time.Time
}

// maxBody bounds request bodies; Route 53's largest (a change batch of 1,000 records of
// up to 32,000 characters of values in all) is far smaller.
const maxBody = 4 << 20

func (a *api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &requestContext{id: awsapi.NewRequestID(), now: a.opts.Now()}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if _, err := awsapi.Verify(r, "route53", a.opts.Credentials, rc.now); err != nil {
			var ae *awsapi.AuthError
			if errors.As(err, &ae) {
				a.logger.Debug("request not authenticated", "request_id", rc.id, "method", r.Method, "path", r.URL.Path, "err", err)
				awsapi.WriteXMLError(w, Namespace, ae.Status, ae.Code, ae.Message, rc.id)
				return
			}
			a.fail(w, r, rc, err)
			return
		}
		if err := h(w, r, rc); err != nil {
			a.fail(w, r, rc, err)
		}
	})
}

// apiError is an error answered with a Route 53 code.
type apiError struct {
	status   int
	code     string
	message  string
	messages []string // InvalidChangeBatch
}

func (e *apiError) Error() string {
	if len(e.messages) > 0 {
		return e.code + ": " + strings.Join(e.messages, "; ")
	}
	return e.code + ": " + e.message
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalidInput(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func invalidChangeBatch(messages ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidChangeBatch", messages: messages}
}

func noSuchHostedZone(id string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
}

func noSuchHealthCheck(id string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchHealthCheck", "A health check with id %s does not exist.", id)
}

func noSuchCidrCollection(id string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchCidrCollectionException", "The CIDR collection with ID %s does not exist.", id)
}

// fail answers err: an *apiError as it says, the control plane's errors by their kind.
func (a *api) fail(w http.ResponseWriter, r *http.Request, rc *requestContext, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, control.ErrNoQuorum):
		ae = errorf(http.StatusServiceUnavailable, "ServiceUnavailable",
			"polyregion's control plane cannot reach a majority of regions, so it cannot accept changes now; reads still work. Try again once most regions are reachable. (%v)", err)
	case errors.Is(err, control.ErrConflict), errors.Is(err, control.ErrExists), errors.Is(err, control.ErrNotFound):
		ae = errorf(http.StatusBadRequest, "PriorRequestNotComplete",
			"another change to the same resources was applied at the same time; submit the request again (%v)", err)
	case errors.Is(err, control.ErrInvalid):
		ae = invalidInput("%s", strings.TrimPrefix(err.Error(), control.ErrInvalid.Error()+": "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "the request timed out before the control plane answered; it may still be applied")
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ae = invalidInput("the request body is larger than %d bytes", maxBody)
			break
		}
		a.logger.Error("route53 API request failed", "request_id", rc.id, "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "InternalFailure", "an internal error occurred (request %s)", rc.id)
	}
	if ae.status >= 500 {
		a.logger.Warn("route53 API request failed", "request_id", rc.id, "method", r.Method, "path", r.URL.Path, "code", ae.code, "err", err)
	} else {
		a.logger.Debug("route53 API request rejected", "request_id", rc.id, "method", r.Method, "path", r.URL.Path, "code", ae.code, "err", ae.Error())
	}
	if ae.code == "InvalidChangeBatch" {
		awsapi.WriteXMLMessagesError(w, Namespace, "InvalidChangeBatch", ae.status, ae.messages, rc.id)
		return
	}
	awsapi.WriteXMLError(w, Namespace, ae.status, ae.code, ae.message, rc.id)
}

func (a *api) notImplemented(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	return errorf(http.StatusNotImplemented, "NotImplemented", "polyregion does not implement %s %s of the Route 53 API", r.Method, r.URL.Path)
}

// readXML decodes the request body into v.
func readXML(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return invalidInput("the request body is not a valid document: %v", err)
	}
	return nil
}

// writeXML answers v with status; v's root element gets the Route 53 namespace.
func writeXML(w http.ResponseWriter, rc *requestContext, status int, v any) error {
	awsapi.WriteXML(w, status, rc.id, v)
	return nil
}

// locationOf is the URL of a created resource, for the Location header.
func locationOf(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// apply writes a batch.
func (a *api) apply(ctx context.Context, ops ...control.Op) (control.Result, error) {
	return a.opts.Store.Apply(ctx, control.Batch{Ops: ops})
}
