package netsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newAPIWAN(t *testing.T) *WAN {
	w := New(testLogger(t))
	w.SetBaseline("us-east", "eu-west", 40*time.Millisecond)
	w.SetBaseline("us-east", "ap-south", 110*time.Millisecond)
	return w
}

func callHandler(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return rec.Code, rec.Body.String()
}

func TestHandlerEndpoints(t *testing.T) {
	w := newAPIWAN(t)
	h := w.Handler()
	euUS := func() LinkState { return w.State("us-east", "eu-west") }

	code, body := callHandler(t, h, "GET", "/v1/wan", "")
	want := `{"pairs":[{"a":"ap-south","b":"us-east","baseline":"110ms","a_to_b":{"delay":"110ms","loss":0,"partitioned":false},"b_to_a":{"delay":"110ms","loss":0,"partitioned":false}},` +
		`{"a":"eu-west","b":"us-east","baseline":"40ms","a_to_b":{"delay":"40ms","loss":0,"partitioned":false},"b_to_a":{"delay":"40ms","loss":0,"partitioned":false}}]}` + "\n"
	if code != 200 || body != want {
		t.Fatalf("GET /v1/wan = %d\n%s\nwant 200\n%s", code, body, want)
	}

	steps := []struct {
		path, body string
		want       LinkState
	}{
		{"/v1/wan/partition", `{"a":"us-east","b":"eu-west"}`, LinkState{Delay: 40 * time.Millisecond, Partitioned: true}},
		{"/v1/wan/latency", `{"a":"eu-west","b":"us-east","one_way":"150ms"}`, LinkState{Delay: 150 * time.Millisecond, Partitioned: true}},
		{"/v1/wan/loss", `{"a":"us-east","b":"eu-west","loss":0.05}`, LinkState{Delay: 150 * time.Millisecond, Loss: 0.05, Partitioned: true}},
		{"/v1/wan/heal", `{"a":"us-east","b":"eu-west"}`, LinkState{Delay: 40 * time.Millisecond}},
		{"/v1/wan/loss", `{"a":"us-east","b":"eu-west","loss":1}`, LinkState{Delay: 40 * time.Millisecond, Loss: 1}},
		{"/v1/wan/heal", `{"all":true}`, LinkState{Delay: 40 * time.Millisecond}},
	}
	for _, s := range steps {
		code, body := callHandler(t, h, "POST", s.path, s.body)
		if code != 200 {
			t.Fatalf("POST %s %s = %d %s", s.path, s.body, code, body)
		}
		var resp pairsResponse
		if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Pairs) != 2 {
			t.Fatalf("POST %s answered %s (%v), want the pairs", s.path, body, err)
		}
		if got := euUS(); got != s.want {
			t.Errorf("after POST %s %s: state %+v, want %+v", s.path, s.body, got, s.want)
		}
		if w.State("us-east", "eu-west") != w.State("eu-west", "us-east") {
			t.Errorf("after POST %s: directions differ", s.path)
		}
	}
}

func TestHandlerRejects(t *testing.T) {
	w := newAPIWAN(t)
	h := w.Handler()
	tests := []struct {
		method, path, body string
		code               int
		says               []string // the error names what was wrong
	}{
		{"POST", "/v1/wan/partition", `{"a":"us-east","b":"mars"}`, 400, []string{`b: unknown region "mars"`, "known: ap-south, eu-west, us-east"}},
		{"POST", "/v1/wan/partition", `{"a":"venus","b":"mars"}`, 400, []string{`a: unknown region "venus"`, `b: unknown region "mars"`}},
		{"POST", "/v1/wan/partition", `{"a":"us-east"}`, 400, []string{"b: missing region name"}},
		{"POST", "/v1/wan/partition", `{"a":"us-east","b":"us-east"}`, 400, []string{"a pair needs two regions"}},
		{"POST", "/v1/wan/partition", `{"a":"us-east",`, 400, []string{"bad JSON"}},
		{"POST", "/v1/wan/partition", ``, 400, []string{"bad JSON: empty body"}},
		{"POST", "/v1/wan/partition", `{"a":"us-east","b":"eu-west","c":1}`, 400, []string{"bad JSON", `unknown field "c"`}},
		{"POST", "/v1/wan/partition", `{"a":"us-east","b":"eu-west"} {}`, 400, []string{"more than one value"}},
		{"POST", "/v1/wan/heal", `{"a":"mars","b":"eu-west"}`, 400, []string{`unknown region "mars"`}},
		{"POST", "/v1/wan/heal", `{"all":true,"a":"us-east"}`, 400, []string{`either "all": true or "a" and "b"`}},
		{"POST", "/v1/wan/heal", `[1,2]`, 400, []string{"bad JSON"}},
		{"POST", "/v1/wan/latency", `{"a":"us-east","b":"eu-west","one_way":"fast"}`, 400, []string{`one_way: "fast" is not a Go duration`}},
		{"POST", "/v1/wan/latency", `{"a":"us-east","b":"eu-west","one_way":150}`, 400, []string{"bad JSON"}},
		{"POST", "/v1/wan/latency", `{"a":"us-east","b":"eu-west"}`, 400, []string{"one_way: missing"}},
		{"POST", "/v1/wan/latency", `{"a":"us-east","b":"eu-west","one_way":"-5ms"}`, 400, []string{"one_way: -5ms is negative"}},
		{"POST", "/v1/wan/latency", `{"a":"mars","b":"eu-west","one_way":"x"}`, 400, []string{`a: unknown region "mars"`, `one_way: "x"`}},
		{"POST", "/v1/wan/loss", `{"a":"us-east","b":"eu-west","loss":1.5}`, 400, []string{"loss: 1.5 is not within [0, 1]"}},
		{"POST", "/v1/wan/loss", `{"a":"us-east","b":"eu-west"}`, 400, []string{"loss: missing"}},
		{"POST", "/v1/wan/loss", `{"a":"us-east","b":"pluto","loss":0.1}`, 400, []string{`unknown region "pluto"`}},
		{"GET", "/v1/wan/partition", ``, 405, []string{"use POST"}},
		{"POST", "/v1/wan", `{}`, 405, []string{"use GET"}},
		{"GET", "/v1/nothing", ``, 404, []string{"no such endpoint /v1/nothing"}},
	}
	for _, tt := range tests {
		code, body := callHandler(t, h, tt.method, tt.path, tt.body)
		var e errorResponse
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Errorf("%s %s %s: body %q is not a JSON error: %v", tt.method, tt.path, tt.body, body, err)
			continue
		}
		if code != tt.code {
			t.Errorf("%s %s %s = %d %s, want %d", tt.method, tt.path, tt.body, code, e.Error, tt.code)
		}
		for _, s := range tt.says {
			if !strings.Contains(e.Error, s) {
				t.Errorf("%s %s %s: error %q does not say %q", tt.method, tt.path, tt.body, e.Error, s)
			}
		}
	}
	// Nothing rejected changed anything.
	for _, p := range w.Pairs() {
		base := LinkState{Delay: p.Baseline}
		if p.AtoB != base || p.BtoA != base {
			t.Errorf("pair %s-%s changed: %+v / %+v", p.A, p.B, p.AtoB, p.BtoA)
		}
	}
}

func TestClient(t *testing.T) {
	w := newAPIWAN(t)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/", HTTP: srv.Client()}
	ctx := context.Background()

	check := func(step string, want LinkState) {
		t.Helper()
		pairs, err := c.Pairs(ctx)
		if err != nil {
			t.Fatalf("%s: Pairs: %v", step, err)
		}
		if len(pairs) != 2 || pairs[1].A != "eu-west" || pairs[1].B != "us-east" || pairs[1].Baseline != 40*time.Millisecond {
			t.Fatalf("%s: Pairs = %+v", step, pairs)
		}
		if pairs[1].AtoB != want || pairs[1].BtoA != want {
			t.Errorf("%s: eu-west/us-east = %+v / %+v, want %+v", step, pairs[1].AtoB, pairs[1].BtoA, want)
		}
	}
	check("start", LinkState{Delay: 40 * time.Millisecond})

	if err := c.Partition(ctx, "us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	check("Partition", LinkState{Delay: 40 * time.Millisecond, Partitioned: true})
	if err := c.SetDelay(ctx, "us-east", "eu-west", 1500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	check("SetDelay", LinkState{Delay: 1500 * time.Microsecond, Partitioned: true})
	if err := c.SetLoss(ctx, "eu-west", "us-east", 0.25); err != nil {
		t.Fatal(err)
	}
	check("SetLoss", LinkState{Delay: 1500 * time.Microsecond, Loss: 0.25, Partitioned: true})
	if err := c.Heal(ctx, "us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	check("Heal", LinkState{Delay: 40 * time.Millisecond})
	if err := c.SetLoss(ctx, "eu-west", "us-east", 0); err != nil {
		t.Fatal(err)
	}
	w.Partition("us-east", "ap-south")
	if err := c.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.State("ap-south", "us-east"); s.Partitioned {
		t.Errorf("after HealAll: %+v", s)
	}

	err := c.Partition(ctx, "us-east", "mars")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, `unknown region "mars"`) {
		t.Errorf("Partition with an unknown region = %v, want an APIError 400 naming it", err)
	}
	if err := c.SetLoss(ctx, "us-east", "eu-west", 2); err == nil || !strings.Contains(err.Error(), "not within [0, 1]") {
		t.Errorf("SetLoss(2) = %v, want a range error", err)
	}

	down := &Client{BaseURL: "http://127.0.0.1:1", HTTP: srv.Client()}
	if _, err := down.Pairs(ctx); err == nil {
		t.Error("Pairs against nothing succeeded")
	}
}

// FuzzHandler feeds arbitrary bodies to every endpoint: the handler answers
// 200 or 400 with JSON, and the two directions of a pair always agree.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		endpoint uint8
		body     string
	}{
		{0, `{"a":"us-east","b":"eu-west"}`},
		{1, `{"all":true}`},
		{1, `{"a":"us-east","b":"ap-south"}`},
		{2, `{"a":"us-east","b":"eu-west","one_way":"150ms"}`},
		{2, `{"a":"us-east","b":"eu-west","one_way":"-1h"}`},
		{3, `{"a":"us-east","b":"eu-west","loss":0.05}`},
		{3, `{"a":"us-east","b":"eu-west","loss":1e308}`},
		{0, `{"a":"us-east","b":`},
		{3, `null`},
	}
	for _, s := range seeds {
		f.Add(s.endpoint, s.body)
	}
	paths := []string{pathPartition, pathHeal, pathLatency, pathLoss}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		w := New(nil)
		w.SetBaseline("us-east", "eu-west", 40*time.Millisecond)
		w.SetBaseline("us-east", "ap-south", 110*time.Millisecond)
		req := httptest.NewRequest("POST", paths[int(endpoint)%len(paths)], strings.NewReader(body))
		rec := httptest.NewRecorder()
		w.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("answer %q is not JSON: %v", rec.Body.String(), err)
		}
		for _, p := range w.Pairs() {
			if p.AtoB != p.BtoA {
				t.Fatalf("pair %s-%s directions differ: %+v / %+v", p.A, p.B, p.AtoB, p.BtoA)
			}
			if p.AtoB.Delay < 0 || p.AtoB.Loss < 0 || p.AtoB.Loss > 1 {
				t.Fatalf("pair %s-%s has an impossible state %+v", p.A, p.B, p.AtoB)
			}
		}
	})
}
