package gaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
)

// TargetPrefix is the X-Amz-Target prefix of every operation.
const TargetPrefix = "GlobalAccelerator_V20180706."

// contentType is the JSON 1.1 protocol's media type, of requests and answers.
const contentType = "application/x-amz-json-1.1"

// service is the SigV4 signing name.
const service = "globalaccelerator"

// Store is the replicated control plane: control.Node implements it.
type Store interface {
	State() *control.State
	Apply(ctx context.Context, b control.Batch) (control.Result, error)
}

// Options configure the API. Store is required.
type Options struct {
	// Credentials are the access keys accepted.
	Credentials []awsapi.Credentials
	Store       Store
	// Regions are the fleet's regions: an endpoint group's EndpointGroupRegion must be one.
	Regions []string
	// EdgeAddresses returns the IP addresses of the edge locations: every accelerator's
	// static addresses (IpSets) and what its DnsName resolves to. nil: none.
	EdgeAddresses func() []string
	// HealthStatus returns the status of an endpoint's health check, whose id is
	// edge.HealthCheckID(groupArn, endpointId); nil: every endpoint is INITIAL.
	HealthStatus func(checkID string) (health.CheckStatus, bool)
	// AccountID is the account of every ARN; default "000000000000".
	AccountID string
	Logger    *slog.Logger
	// Now is the clock for signatures and resource times; nil: time.Now.
	Now func() time.Time
}

// api is the handler.
type api struct {
	opts   Options
	logger *slog.Logger
}

var _ http.Handler = (*api)(nil)

// New returns the Global Accelerator API handler; it serves POST / (any path, as AWS's
// endpoint does). It panics if opts.Store is nil.
func New(opts Options) http.Handler {
	if opts.Store == nil {
		panic("gaapi: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.EdgeAddresses == nil {
		opts.EdgeAddresses = func() []string { return nil }
	}
	return &api{opts: opts, logger: opts.Logger}
}

// operation serves one operation: it decodes body into its input and returns the output
// to encode, or an error for the handler to answer.
type operation func(a *api, ctx context.Context, rc *requestContext, body []byte) (any, error)

var operations = map[string]operation{
	"CreateAccelerator":             (*api).createAccelerator,
	"DescribeAccelerator":           (*api).describeAccelerator,
	"ListAccelerators":              (*api).listAccelerators,
	"UpdateAccelerator":             (*api).updateAccelerator,
	"DeleteAccelerator":             (*api).deleteAccelerator,
	"DescribeAcceleratorAttributes": (*api).describeAcceleratorAttributes,
	"UpdateAcceleratorAttributes":   (*api).updateAcceleratorAttributes,
	"CreateListener":                (*api).createListener,
	"DescribeListener":              (*api).describeListener,
	"ListListeners":                 (*api).listListeners,
	"UpdateListener":                (*api).updateListener,
	"DeleteListener":                (*api).deleteListener,
	"CreateEndpointGroup":           (*api).createEndpointGroup,
	"DescribeEndpointGroup":         (*api).describeEndpointGroup,
	"ListEndpointGroups":            (*api).listEndpointGroups,
	"UpdateEndpointGroup":           (*api).updateEndpointGroup,
	"DeleteEndpointGroup":           (*api).deleteEndpointGroup,
	"AddEndpoints":                  (*api).addEndpoints,
	"RemoveEndpoints":               (*api).removeEndpoints,
	"TagResource":                   (*api).tagResource,
	"UntagResource":                 (*api).untagResource,
	"ListTagsForResource":           (*api).listTagsForResource,
}

// requestContext is what an operation knows about its request.
type requestContext struct {
	id  string
	now time.Time
}

// maxBody bounds request bodies; Global Accelerator's largest (an endpoint group with its
// ten endpoints and port overrides) is a few kilobytes.
const maxBody = 1 << 20

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &requestContext{id: awsapi.NewRequestID(), now: a.opts.Now()}
	target := r.Header.Get("X-Amz-Target")
	if r.ContentLength > maxBody {
		a.fail(w, rc, target, invalidArgument("the request body is larger than %d bytes", maxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if _, err := awsapi.Verify(r, service, a.opts.Credentials, rc.now); err != nil {
		a.fail(w, rc, target, authError(err))
		return
	}
	if r.Method != http.MethodPost {
		a.fail(w, rc, target, errorf(codeUnknownOperation, "Global Accelerator takes POST requests, not %s", r.Method))
		return
	}
	name, ok := strings.CutPrefix(target, TargetPrefix)
	op := operations[name]
	if !ok || op == nil {
		if target == "" {
			a.fail(w, rc, target, errorf(codeUnknownOperation, "the request has no X-Amz-Target header naming the operation"))
			return
		}
		a.fail(w, rc, target, errorf(codeUnknownOperation, "%s is not an operation polyregion's Global Accelerator API serves", target))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		a.fail(w, rc, target, err)
		return
	}
	out, err := a.run(op, r.Context(), rc, body)
	if err != nil {
		a.fail(w, rc, target, err)
		return
	}
	resp, err := json.Marshal(out)
	if err != nil {
		a.fail(w, rc, target, fmt.Errorf("encoding the %s response: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	h.Set(awsapi.RequestIDHeader, rc.id)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

// run calls op, turning a panic (a bug) into an internal error, so that one bad request
// never takes the process down.
func (a *api) run(op operation, ctx context.Context, rc *requestContext, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return op(a, ctx, rc, body)
}

// Error codes, as the SDK's types/errors.go names them.
const (
	codeAcceleratorNotFound          = "AcceleratorNotFoundException"
	codeListenerNotFound             = "ListenerNotFoundException"
	codeEndpointGroupNotFound        = "EndpointGroupNotFoundException"
	codeEndpointNotFound             = "EndpointNotFoundException"
	codeAcceleratorNotDisabled       = "AcceleratorNotDisabledException"
	codeAssociatedListenerFound      = "AssociatedListenerFoundException"
	codeAssociatedEndpointGroupFound = "AssociatedEndpointGroupFoundException"
	codeEndpointGroupAlreadyExists   = "EndpointGroupAlreadyExistsException"
	codeInvalidPortRange             = "InvalidPortRangeException"
	codeInvalidArgument              = "InvalidArgumentException"
	codeInvalidNextToken             = "InvalidNextTokenException"
	codeLimitExceeded                = "LimitExceededException"
	codeTransactionInProgress        = "TransactionInProgressException"
	codeInternalServiceError         = "InternalServiceErrorException"
	codeUnknownOperation             = "UnknownOperationException"
	codeUnrecognizedClient           = "UnrecognizedClientException"
	codeInvalidSignature             = "InvalidSignatureException"
)

// apiError is an error answered with a Global Accelerator code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func invalidArgument(format string, args ...any) *apiError {
	return errorf(codeInvalidArgument, format, args...)
}

func internalError(format string, args ...any) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternalServiceError, message: fmt.Sprintf(format, args...)}
}

// authError maps a failed SigV4 verification to the codes AWS's JSON services answer.
func authError(err error) error {
	var ae *awsapi.AuthError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case errors.Is(err, awsapi.ErrMissingAuth):
		return errorf(codeUnrecognizedClient, "The request has no SigV4 authentication: %s", ae.Message)
	case errors.Is(err, awsapi.ErrUnknownAccessKey):
		return errorf(codeUnrecognizedClient, "The security token included in the request is invalid.")
	case errors.Is(err, awsapi.ErrBodyTooLarge):
		return invalidArgument("%s", ae.Message)
	default:
		return errorf(codeInvalidSignature, "%s", ae.Message)
	}
}

// fail answers err: an *apiError as it says, the control plane's errors by their kind,
// anything else as an internal error, logged.
func (a *api) fail(w http.ResponseWriter, rc *requestContext, target string, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	bug := false
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = invalidArgument("the request body is larger than %d bytes", maxBody)
	case errors.Is(err, control.ErrNoQuorum):
		ae = internalError("polyregion's control plane has no quorum: it cannot reach a majority of regions, so it cannot accept changes now; reads still work. Try again once most regions are reachable. (%v)", err)
	case errors.Is(err, control.ErrInvalid):
		ae = validationError(errors.New(strings.TrimPrefix(err.Error(), control.ErrInvalid.Error()+": ")))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = internalError("the request timed out before the control plane answered; the change may still be applied")
	default:
		ae = internalError("an internal error occurred (request %s)", rc.id)
		bug = true
	}
	switch {
	case bug:
		a.logger.Error("global accelerator API request failed", "request_id", rc.id, "target", target, "err", err)
	case ae.status >= 500:
		a.logger.Warn("global accelerator API request failed", "request_id", rc.id, "target", target, "code", ae.code, "err", err)
	default:
		a.logger.Debug("global accelerator API request rejected", "request_id", rc.id, "target", target, "code", ae.code, "message", ae.message)
	}
	awsapi.WriteJSONError(json11{w}, ae.status, ae.code, ae.message, rc.id)
}

// json11 gives an answer written by awsapi.WriteJSONError (a JSON 1.0 helper) the JSON 1.1
// Content-Type.
type json11 struct{ http.ResponseWriter }

func (w json11) WriteHeader(status int) {
	w.Header().Set("Content-Type", contentType)
	w.ResponseWriter.WriteHeader(status)
}

// validationError maps a failed edge validation: overlapping ports are an
// InvalidPortRangeException, anything else an InvalidArgumentException with the problems.
func validationError(err error) *apiError {
	msg := strings.TrimPrefix(err.Error(), "edge: ")
	if errors.Is(err, edge.ErrPortConflict) || strings.Contains(err.Error(), edge.ErrPortConflict.Error()) {
		return errorf(codeInvalidPortRange, "%s", msg)
	}
	return invalidArgument("%s", msg)
}

// decode unmarshals a request body into v; an empty body is an empty object.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidArgument("the request body is not valid: %s cannot be a JSON %s", te.Field, te.Value)
		}
		return invalidArgument("the request body is not a valid JSON object: %v", err)
	}
	return nil
}

// required reports a missing member.
func required(name string, v *string) error {
	if v == nil || *v == "" {
		return invalidArgument("%s is required", name)
	}
	return nil
}
