package health

import (
	"strings"
	"testing"
	"time"
)

// TestMachine feeds a vantage point's state machine a series of results (H healthy, U
// unhealthy) and checks the state after each.
func TestMachine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		results   string
		states    string
	}{
		{"first result healthy sets the state", 3, "H", "H"},
		{"first result unhealthy sets the state", 3, "U", "U"},
		{"two failures keep healthy, the third flips", 3, "HUUU", "HHHU"},
		{"and back: two successes keep unhealthy, the third flips", 3, "UHHH", "UUUH"},
		{"both ways", 3, "HUUUHHH", "HHHUUUH"},
		{"a disagreeing run must be consecutive", 3, "HUUHUUHUUU", "HHHHHHHHHU"},
		{"unhealthy from the start stays until threshold", 3, "UHHUHHH", "UUUUUUH"},
		{"threshold 1 follows every result", 1, "HUHUU", "HUHUU"},
		{"threshold 10", 10, "H" + strings.Repeat("U", 10), "H" + strings.Repeat("H", 9) + "U"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m machine
			var got strings.Builder
			for _, r := range tc.results {
				m.record(r == 'H', tc.threshold)
				if !m.known {
					t.Fatal("state unknown after a result")
				}
				got.WriteByte(map[bool]byte{true: 'H', false: 'U'}[m.healthy])
			}
			if got.String() != tc.states {
				t.Errorf("results %s: states %s, want %s", tc.results, got.String(), tc.states)
			}
		})
	}
	var m machine
	if m.known {
		t.Error("a new machine is known")
	}
}

func TestAggregate(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const window = 32 * time.Second
	obs := func(spec ...string) []Observation {
		// Each spec is "<region> <H|U> <age>".
		var out []Observation
		for _, s := range spec {
			f := strings.Fields(s)
			age, err := time.ParseDuration(f[2])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, Observation{CheckID: "c", Region: f[0], Healthy: f[1] == "H", Reason: map[string]string{"H": "HTTP 200", "U": "HTTP 500"}[f[1]], CheckedAt: now.Add(-age)})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		obs    []Observation
		quorum float64
		want   State
		reason string
	}{
		{"1 of 3 healthy is more than 18%", obs("a H 1s", "b U 1s", "c U 1s"), 0.18, StateHealthy,
			"1 of 3 vantage points report healthy (more than 18% needed)"},
		{"0 of 3 is unhealthy", obs("a U 1s", "b U 1s", "c U 1s"), 0.18, StateUnhealthy,
			"0 of 3 vantage points report healthy (more than 18% needed); a: HTTP 500; b: HTTP 500; c: HTTP 500"},
		{"3 of 3", obs("a H 1s", "b H 1s", "c H 1s"), 0.18, StateHealthy, ""},
		{"quorum 0.5: 1 of 3 is unhealthy", obs("a H 1s", "b U 1s", "c U 1s"), 0.5, StateUnhealthy, ""},
		{"quorum 0.5: 2 of 3 is healthy", obs("a H 1s", "b H 1s", "c U 1s"), 0.5, StateHealthy, ""},
		{"quorum 0.5: 1 of 2 is not MORE than half", obs("a H 1s", "b U 1s"), 0.5, StateUnhealthy, ""},
		{"1 of 5 is 20%", obs("a H 1s", "b U 1s", "c U 1s", "d U 1s", "e U 1s"), 0.18, StateHealthy, ""},
		{"1 of 6 is 16.7%", obs("a H 1s", "b U 1s", "c U 1s", "d U 1s", "e U 1s", "f U 1s"), 0.18, StateUnhealthy, ""},
		{"a stale healthy vantage point drops out", obs("a H 32s", "b U 1s", "c U 31s"), 0.18, StateUnhealthy,
			"0 of 2 vantage points report healthy (more than 18% needed); b: HTTP 500; c: HTTP 500"},
		{"a stale unhealthy one too", obs("a H 1s", "b U 40s", "c U 1h"), 0.5, StateHealthy,
			"1 of 1 vantage points report healthy (more than 50% needed)"},
		{"every one stale: initializing", obs("a H 33s", "b H 1h"), 0.18, StateInitializing,
			"no vantage point has reported in the last 32s"},
		{"none yet: initializing", nil, 0.18, StateInitializing, "no vantage point has reported yet"},
		{"an observation from the future counts", obs("a H -5s"), 0.18, StateHealthy, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := aggregate(tc.obs, now, window, tc.quorum)
			if v.state != tc.want || tc.reason != "" && v.reason != tc.reason {
				t.Errorf("got %s (%s), want %s (%s)", v.state, v.reason, tc.want, tc.reason)
			}
		})
	}
}

func TestCalculate(t *testing.T) {
	const (
		H = StateHealthy
		U = StateUnhealthy
		I = StateInitializing
	)
	for _, tc := range []struct {
		name      string
		threshold int
		inverted  bool
		children  []State
		want      State
		reason    string
	}{
		{"threshold 0 is always healthy", 0, false, []State{U, U}, H, "health_threshold is 0: always healthy"},
		{"threshold 0 even while children initialize", 0, false, []State{I}, H, ""},
		{"more than the children is always unhealthy", 3, false, []State{H, H}, U, "health_threshold 3 is more than the 2 children: always unhealthy"},
		{"2 of 3 with threshold 2", 2, false, []State{H, U, H}, H, "2 of 3 children healthy, at least 2 needed"},
		{"1 of 3 with threshold 2", 2, false, []State{H, U, U}, U, "1 of 3 children healthy, at least 2 needed"},
		{"threshold equal to the children", 3, false, []State{H, H, H}, H, ""},
		{"one short of all", 3, false, []State{H, H, U}, U, ""},
		{"inverted healthy", 2, true, []State{H, H, U}, U, "inverted: 2 of 3 children healthy, at least 2 needed"},
		{"inverted unhealthy", 2, true, []State{U, U, H}, H, ""},
		{"inverted threshold 0", 0, true, []State{H}, U, "inverted: health_threshold is 0: always healthy"},
		{"inverted more than the children", 5, true, []State{U}, H, ""},
		{"decided healthy while one initializes", 2, false, []State{H, H, I}, H, "2 of 3 children healthy, at least 2 needed (1 initializing)"},
		{"decided unhealthy while one initializes", 2, false, []State{U, U, I}, U, ""},
		{"undecided: initializing", 2, false, []State{H, U, I}, I, "1 of 3 children healthy, at least 2 needed (1 initializing)"},
		{"undecided and inverted: still initializing", 2, true, []State{H, U, I}, I, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Check{ID: "all", Type: TypeCalculated, HealthThreshold: tc.threshold, Inverted: tc.inverted}
			v := calculate(&c, tc.children)
			if v.state != tc.want || tc.reason != "" && v.reason != tc.reason {
				t.Errorf("got %s (%s), want %s (%s)", v.state, v.reason, tc.want, tc.reason)
			}
		})
	}
}
