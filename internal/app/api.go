package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/route53api"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/edge/gaapi"
	"github.com/polyregion/polyregion/internal/health"
)

// apiError is the body of every error polyregion's own API returns.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, apiError{Code: code, Message: fmt.Sprintf(format, args...)})
}

// writeControlError maps a control-plane error to the API's status and code.
func writeControlError(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, health.ErrInvalidCheck), errors.Is(err, control.ErrInvalid):
		writeError(w, http.StatusBadRequest, "InvalidInput", "%v", err)
	case errors.Is(err, control.ErrExists):
		writeError(w, http.StatusConflict, "AlreadyExists", "%s already exists", what)
	case errors.Is(err, control.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", "%s does not exist", what)
	case errors.Is(err, control.ErrConflict):
		writeError(w, http.StatusConflict, "ConcurrentModification", "%v", err)
	case errors.Is(err, control.ErrNoQuorum):
		writeError(w, http.StatusServiceUnavailable, "NoQuorum", "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "InternalError", "%v", err)
	}
}

// registerAPI adds polyregion's own REST API (docs/api.md) to the control listener.
func (r *Region) registerAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/health-checks", r.listHealthChecks)
	mux.HandleFunc("POST /v1/health-checks", r.createHealthCheck)
	mux.HandleFunc("GET /v1/health-checks/{id}", r.getHealthCheck)
	mux.HandleFunc("PUT /v1/health-checks/{id}", r.updateHealthCheck)
	mux.HandleFunc("DELETE /v1/health-checks/{id}", r.deleteHealthCheck)
	mux.HandleFunc("GET /v1/health-checks/{id}/status", r.healthCheckStatus)
	mux.HandleFunc("GET /v1/control", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.control.Status())
	})
	mux.HandleFunc("POST /v1/control/members", r.changeMembers)
	r.registerTablesAPI(mux)
	var creds []awsapi.Credentials
	if c := r.cfg.Credentials; c.AccessKeyID != "" {
		creds = append(creds, awsapi.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
	}
	// The Global Accelerator API: JSON 1.1 on POST /, told apart by X-Amz-Target.
	mux.Handle("POST /{$}", gaapi.New(gaapi.Options{
		Credentials:   creds,
		Store:         r.control,
		Regions:       r.cfg.RegionNames(),
		EdgeAddresses: r.edgeAddresses,
		HealthStatus:  r.health.Status,
		Logger:        r.logger.With("component", "globalaccelerator"),
	}))
	if r.dns != nil {
		mux.Handle(route53api.Prefix, route53api.New(route53api.Options{
			Credentials:  creds,
			Store:        r.control,
			Fleet:        r,
			Answerer:     r.dns.server,
			HealthStatus: r.health.Status,
			NameServers:  r.nameServerNames,
			Logger:       r.logger.With("component", "route53"),
		}))
	}
}

// edgeAddresses lists the edge locations' addresses: an accelerator's static IPs.
func (r *Region) edgeAddresses() []string {
	var out []string
	for _, reg := range r.cfg.Regions {
		if reg.Listen.Edge != "" {
			out = append(out, reg.Listen.Edge)
		}
	}
	return out
}

// nameServerNames lists the name servers of a zone: one per region, "ns-<region>.<zone>",
// which every region's DNS answers with glue.
func (r *Region) nameServerNames(zoneName string) []string {
	var out []string
	for _, reg := range r.cfg.Regions {
		if reg.Listen.DNS != "" {
			out = append(out, "ns-"+reg.Name+"."+zone.CanonicalName(zoneName))
		}
	}
	return out
}

// maxBody bounds request bodies of the control API.
const maxBody = 1 << 20

// HealthCheckView is a health check as the API returns it.
type HealthCheckView struct {
	health.Check
	Version uint64 `json:"version"`
}

func (r *Region) listHealthChecks(w http.ResponseWriter, _ *http.Request) {
	st := r.control.State()
	views := []HealthCheckView{}
	for _, res := range st.List(kindHealthCheck) {
		var c health.Check
		if err := json.Unmarshal(res.Value, &c); err == nil {
			views = append(views, HealthCheckView{Check: c, Version: res.Version})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"health_checks": views})
}

func (r *Region) getHealthCheck(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	res, ok := r.control.State().Get(kindHealthCheck, id)
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchHealthCheck", "no health check %q", id)
		return
	}
	var c health.Check
	if err := json.Unmarshal(res.Value, &c); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "health check %q: %v", id, err)
		return
	}
	writeJSON(w, http.StatusOK, HealthCheckView{Check: c, Version: res.Version})
}

// readCheck decodes and validates a check from a request body, giving it id when the body
// has none.
func readCheck(req *http.Request, id string) (health.Check, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if err != nil {
		return health.Check{}, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return health.Check{}, fmt.Errorf("%w: the body is not a JSON object: %v", health.ErrInvalidCheck, err)
	}
	if given, ok := raw["id"]; ok && id != "" {
		var g string
		if json.Unmarshal(given, &g) == nil && g != id {
			return health.Check{}, fmt.Errorf("%w: id: %q does not match the path's %q", health.ErrInvalidCheck, g, id)
		}
	}
	if _, ok := raw["id"]; !ok {
		if id == "" {
			id = newID()
		}
		raw["id"], _ = json.Marshal(id)
	}
	body, _ = json.Marshal(raw)
	return health.ParseCheck(body)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "hc-" + hex.EncodeToString(b)
}

func (r *Region) writeCheck(ctx context.Context, c health.Check, expect control.Expect) (uint64, error) {
	v, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	res, err := r.control.Apply(ctx, control.Batch{Ops: []control.Op{{Kind: kindHealthCheck, ID: c.ID, Value: v, Expect: expect}}})
	return res.Index, err
}

func (r *Region) createHealthCheck(w http.ResponseWriter, req *http.Request) {
	c, err := readCheck(req, "")
	if err != nil {
		writeControlError(w, err, "")
		return
	}
	version, err := r.writeCheck(req.Context(), c, control.ExpectAbsent)
	if err != nil {
		writeControlError(w, err, fmt.Sprintf("health check %q", c.ID))
		return
	}
	w.Header().Set("Location", "/v1/health-checks/"+c.ID)
	writeJSON(w, http.StatusCreated, HealthCheckView{Check: c, Version: version})
}

func (r *Region) updateHealthCheck(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	c, err := readCheck(req, id)
	if err != nil {
		writeControlError(w, err, "")
		return
	}
	version, err := r.writeCheck(req.Context(), c, control.ExpectPresent)
	if err != nil {
		writeControlError(w, err, fmt.Sprintf("health check %q", id))
		return
	}
	writeJSON(w, http.StatusOK, HealthCheckView{Check: c, Version: version})
}

func (r *Region) deleteHealthCheck(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	_, err := r.control.Apply(req.Context(), control.Batch{Ops: []control.Op{{Kind: kindHealthCheck, ID: id, Delete: true}}})
	if err != nil {
		writeControlError(w, err, fmt.Sprintf("health check %q", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Region) healthCheckStatus(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	if _, ok := r.control.State().Get(kindHealthCheck, id); !ok {
		writeError(w, http.StatusNotFound, "NoSuchHealthCheck", "no health check %q", id)
		return
	}
	st, ok := r.health.Status(id)
	if !ok {
		// Defined, but this region's monitor has not picked it up yet.
		st = health.CheckStatus{ID: id, State: health.StateInitializing, Healthy: true, Initializing: true}
	}
	writeJSON(w, http.StatusOK, st)
}

func (r *Region) changeMembers(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Region string `json:"region"`
		Add    bool   `json:"add"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, maxBody)).Decode(&body); err != nil || body.Region == "" {
		writeError(w, http.StatusBadRequest, "InvalidInput", `want {"region": "...", "add": true|false}`)
		return
	}
	if _, ok := r.cfg.Region(body.Region); !ok && body.Add {
		writeError(w, http.StatusBadRequest, "InvalidInput", "region %q is not in this region's configuration; add it there first", body.Region)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	if err := r.control.MembershipChange(ctx, body.Region, body.Add); err != nil {
		writeControlError(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, r.control.Status())
}
