package netsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewWANHasNoDelay(t *testing.T) {
	w := New(nil)
	if s := w.State("us-east", "eu-west"); s != (LinkState{}) {
		t.Errorf("State of an unconfigured pair = %+v, want zero", s)
	}
	if p := w.Pairs(); len(p) != 0 {
		t.Errorf("Pairs = %+v, want none", p)
	}
}

func TestStateChanges(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("us-east", "eu-west", 40*time.Millisecond)
	w.SetBaseline("us-east", "ap-south", 110*time.Millisecond)
	w.SetBaseline("eu-west", "ap-south", 60*time.Millisecond)

	want := []PairStatus{
		{A: "ap-south", B: "eu-west", Baseline: 60 * time.Millisecond,
			AtoB: LinkState{Delay: 60 * time.Millisecond}, BtoA: LinkState{Delay: 60 * time.Millisecond}},
		{A: "ap-south", B: "us-east", Baseline: 110 * time.Millisecond,
			AtoB: LinkState{Delay: 110 * time.Millisecond}, BtoA: LinkState{Delay: 110 * time.Millisecond}},
		{A: "eu-west", B: "us-east", Baseline: 40 * time.Millisecond,
			AtoB: LinkState{Delay: 40 * time.Millisecond}, BtoA: LinkState{Delay: 40 * time.Millisecond}},
	}
	if got := w.Pairs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pairs =\n%+v\nwant\n%+v", got, want)
	}

	w.SetDelay("eu-west", "us-east", 150*time.Millisecond)
	if err := w.SetLoss("us-east", "eu-west", 0.05); err != nil {
		t.Fatal(err)
	}
	w.Partition("us-east", "eu-west")
	changed := LinkState{Delay: 150 * time.Millisecond, Loss: 0.05, Partitioned: true}
	for _, d := range [][2]string{{"us-east", "eu-west"}, {"eu-west", "us-east"}} {
		if got := w.State(d[0], d[1]); got != changed {
			t.Errorf("State(%s, %s) = %+v, want %+v", d[0], d[1], got, changed)
		}
	}
	if got := w.State("us-east", "ap-south"); got != (LinkState{Delay: 110 * time.Millisecond}) {
		t.Errorf("an unchanged pair changed: %+v", got)
	}

	w.Heal("eu-west", "us-east")
	if got := w.State("us-east", "eu-west"); got != (LinkState{Delay: 40 * time.Millisecond}) {
		t.Errorf("after Heal: %+v, want the baseline", got)
	}

	// A pair without a baseline is listed once changed, and heals to no delay.
	w.Partition("us-east", "mars")
	w.Partition("us-east", "ap-south")
	if got := w.Pairs(); len(got) != 4 || got[3].A != "mars" || !got[3].AtoB.Partitioned {
		t.Fatalf("Pairs after partitioning a new pair = %+v", got)
	}
	w.HealAll()
	for _, p := range w.Pairs() {
		base := LinkState{Delay: p.Baseline}
		if p.AtoB != base || p.BtoA != base {
			t.Errorf("after HealAll %s-%s = %+v / %+v, want %+v", p.A, p.B, p.AtoB, p.BtoA, base)
		}
	}
	if got, want := w.Regions(), []string{"ap-south", "eu-west", "us-east"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Regions = %v, want %v (mars never got a baseline)", got, want)
	}
}

func TestSetLossRejectsOutOfRange(t *testing.T) {
	w := New(nil)
	w.SetBaseline("a", "b", time.Millisecond)
	for _, p := range []float64{-0.01, 1.01, math.NaN(), math.Inf(1)} {
		err := w.SetLoss("a", "b", p)
		if !errors.Is(err, ErrLossRange) {
			t.Errorf("SetLoss(%v) = %v, want ErrLossRange", p, err)
		}
	}
	if got := w.State("a", "b").Loss; got != 0 {
		t.Errorf("loss after rejected changes = %v, want 0", got)
	}
	for _, p := range []float64{0, 0.5, 1} {
		if err := w.SetLoss("a", "b", p); err != nil {
			t.Errorf("SetLoss(%v) = %v", p, err)
		}
	}
}

func TestChangesAreLogged(t *testing.T) {
	var buf bytes.Buffer
	w := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	w.SetBaseline("us-east", "eu-west", 40*time.Millisecond)
	w.Partition("us-east", "eu-west")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var rec struct {
		Level  string
		Change string
		A, B   string
		AtoB   struct {
			Delay       int64
			Partitioned bool
		} `json:"a_to_b"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Level != "INFO" || rec.Change != "partition" || rec.A != "eu-west" || rec.B != "us-east" ||
		!rec.AtoB.Partitioned || rec.AtoB.Delay != int64(40*time.Millisecond) {
		t.Errorf("log record = %s", lines[1])
	}
}
