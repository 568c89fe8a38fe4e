package netsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The chaos API, served by [WAN.Handler] and called by [Client]:
//
//	GET  /v1/wan                                              -> {"pairs":[...]}
//	POST /v1/wan/partition {"a":"us-east","b":"eu-west"}
//	POST /v1/wan/heal      {"a":"us-east","b":"eu-west"} or {"all":true}
//	POST /v1/wan/latency   {"a":"us-east","b":"eu-west","one_way":"150ms"}
//	POST /v1/wan/loss      {"a":"us-east","b":"eu-west","loss":0.05}
//
// Every POST answers like GET, with the pairs after the change. Errors
// answer {"error":"..."} with status 400 (bad request), 404 or 405.
const (
	pathPairs     = "/v1/wan"
	pathPartition = "/v1/wan/partition"
	pathHeal      = "/v1/wan/heal"
	pathLatency   = "/v1/wan/latency"
	pathLoss      = "/v1/wan/loss"

	maxRequestBody = 64 << 10
)

type linkStateJSON struct {
	Delay       string  `json:"delay"` // Go duration
	Loss        float64 `json:"loss"`
	Partitioned bool    `json:"partitioned"`
}

type pairJSON struct {
	A        string        `json:"a"`
	B        string        `json:"b"`
	Baseline string        `json:"baseline"` // Go duration
	AtoB     linkStateJSON `json:"a_to_b"`
	BtoA     linkStateJSON `json:"b_to_a"`
}

type pairsResponse struct {
	Pairs []pairJSON `json:"pairs"`
}

type errorResponse struct {
	Error string `json:"error"`
}

type pairRequest struct {
	A string `json:"a"`
	B string `json:"b"`
}

type healRequest struct {
	A   string `json:"a"`
	B   string `json:"b"`
	All bool   `json:"all"`
}

type latencyRequest struct {
	A      string `json:"a"`
	B      string `json:"b"`
	OneWay string `json:"one_way"`
}

type lossRequest struct {
	A    string   `json:"a"`
	B    string   `json:"b"`
	Loss *float64 `json:"loss"`
}

func stateToJSON(s LinkState) linkStateJSON {
	return linkStateJSON{Delay: s.Delay.String(), Loss: s.Loss, Partitioned: s.Partitioned}
}

func stateFromJSON(j linkStateJSON) (LinkState, error) {
	d, err := time.ParseDuration(j.Delay)
	if err != nil {
		return LinkState{}, err
	}
	return LinkState{Delay: d, Loss: j.Loss, Partitioned: j.Partitioned}, nil
}

func pairsToJSON(ps []PairStatus) pairsResponse {
	out := pairsResponse{Pairs: make([]pairJSON, len(ps))}
	for i, p := range ps {
		out.Pairs[i] = pairJSON{
			A:        p.A,
			B:        p.B,
			Baseline: p.Baseline.String(),
			AtoB:     stateToJSON(p.AtoB),
			BtoA:     stateToJSON(p.BtoA),
		}
	}
	return out
}

func pairsFromJSON(r pairsResponse) ([]PairStatus, error) {
	out := make([]PairStatus, len(r.Pairs))
	for i, j := range r.Pairs {
		base, err := time.ParseDuration(j.Baseline)
		if err != nil {
			return nil, fmt.Errorf("pairs[%d].baseline: %w", i, err)
		}
		ab, err := stateFromJSON(j.AtoB)
		if err != nil {
			return nil, fmt.Errorf("pairs[%d].a_to_b.delay: %w", i, err)
		}
		ba, err := stateFromJSON(j.BtoA)
		if err != nil {
			return nil, fmt.Errorf("pairs[%d].b_to_a.delay: %w", i, err)
		}
		out[i] = PairStatus{A: j.A, B: j.B, Baseline: base, AtoB: ab, BtoA: ba}
	}
	return out, nil
}

// Handler serves the chaos API (see [Client]) for this WAN. Region names
// must have been given a baseline; requests naming others are rejected with
// 400. The handler starts no goroutines.
func (w *WAN) Handler() http.Handler {
	return http.HandlerFunc(w.serveHTTP)
}

func (w *WAN) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	var post func(*http.Request) error
	switch r.URL.Path {
	case pathPairs:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(rw, "GET")
			return
		}
		writeJSON(rw, http.StatusOK, pairsToJSON(w.Pairs()))
		return
	case pathPartition:
		post = w.postPartition
	case pathHeal:
		post = w.postHeal
	case pathLatency:
		post = w.postLatency
	case pathLoss:
		post = w.postLoss
	default:
		writeJSON(rw, http.StatusNotFound, errorResponse{Error: fmt.Sprintf("no such endpoint %s", r.URL.Path)})
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(rw, "POST")
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, maxRequestBody)
	if err := post(r); err != nil {
		writeJSON(rw, http.StatusBadRequest, errorResponse{Error: err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, pairsToJSON(w.Pairs()))
}

func (w *WAN) postPartition(r *http.Request) error {
	var req pairRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := w.checkPair(req.A, req.B); err != nil {
		return err
	}
	w.Partition(req.A, req.B)
	return nil
}

func (w *WAN) postHeal(r *http.Request) error {
	var req healRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.All {
		if req.A != "" || req.B != "" {
			return errors.New(`give either "all": true or "a" and "b", not both`)
		}
		w.HealAll()
		return nil
	}
	if err := w.checkPair(req.A, req.B); err != nil {
		return err
	}
	w.Heal(req.A, req.B)
	return nil
}

func (w *WAN) postLatency(r *http.Request) error {
	var req latencyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var problems []error
	if err := w.checkPair(req.A, req.B); err != nil {
		problems = append(problems, err)
	}
	d, err := time.ParseDuration(req.OneWay)
	switch {
	case req.OneWay == "":
		problems = append(problems, errors.New(`one_way: missing (a Go duration such as "150ms")`))
	case err != nil:
		problems = append(problems, fmt.Errorf(`one_way: %q is not a Go duration such as "150ms"`, req.OneWay))
	case d < 0:
		problems = append(problems, fmt.Errorf("one_way: %s is negative", d))
	}
	if len(problems) > 0 {
		return joinProblems(problems)
	}
	w.SetDelay(req.A, req.B, d)
	return nil
}

func (w *WAN) postLoss(r *http.Request) error {
	var req lossRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var problems []error
	if err := w.checkPair(req.A, req.B); err != nil {
		problems = append(problems, err)
	}
	switch {
	case req.Loss == nil:
		problems = append(problems, errors.New("loss: missing (a probability from 0 to 1)"))
	case *req.Loss < 0 || *req.Loss > 1:
		problems = append(problems, fmt.Errorf("loss: %v is not within [0, 1]", *req.Loss))
	}
	if len(problems) > 0 {
		return joinProblems(problems)
	}
	return w.SetLoss(req.A, req.B, *req.Loss)
}

// checkPair reports every problem with the region names of a request.
func (w *WAN) checkPair(a, b string) error {
	var problems []error
	for _, f := range []struct{ field, name string }{{"a", a}, {"b", b}} {
		switch {
		case f.name == "":
			problems = append(problems, fmt.Errorf("%s: missing region name", f.field))
		case !w.knownRegion(f.name):
			problems = append(problems, fmt.Errorf("%s: unknown region %q (known: %s)",
				f.field, f.name, strings.Join(w.Regions(), ", ")))
		}
	}
	if len(problems) == 0 && a == b {
		problems = append(problems, fmt.Errorf("a and b are both %q; a pair needs two regions", a))
	}
	return joinProblems(problems)
}

// joinProblems joins problems on one line, or returns nil if there are none.
func joinProblems(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("bad JSON: empty body")
		}
		return fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return errors.New("bad JSON: more than one value in body")
	}
	return nil
}

func methodNotAllowed(rw http.ResponseWriter, allow string) {
	rw.Header().Set("Allow", allow)
	writeJSON(rw, http.StatusMethodNotAllowed, errorResponse{Error: "method not allowed; use " + allow})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	// A failed write means the client went away; there is no one to tell.
	_ = json.NewEncoder(rw).Encode(v)
}
