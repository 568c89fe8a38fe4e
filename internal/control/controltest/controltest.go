// Package controltest runs a one-region control plane for the tests of the packages that
// keep their state in it: real Raft on an in-memory store, a leader within moments, stopped
// when the test ends. control has no way to apply a batch outside Raft, so tests use the
// real thing.
package controltest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/testutil"
)

// noPeers is the peer transport of a one-region control plane: there is nobody to reach.
type noPeers struct{}

func (noPeers) DialStream(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("dial: no peers in this test")
}

func (noPeers) Do(*http.Request, string) (*http.Response, error) {
	return nil, errors.New("dial: no peers in this test")
}

// Start runs a one-region control plane ("r1") with validate (nil: none) until the test
// ends, and returns once it leads. Its log goes to the test's log at Warn and above.
func Start(t testing.TB, validate control.Validator) *control.Node {
	t.Helper()
	db, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	log := testutil.NewLog(t)
	n, err := control.Open(control.Options{
		Region: "r1", Bootstrap: []string{"r1"}, Store: db, SnapshotDir: t.TempDir(), Client: noPeers{},
		Validate: validate, Logger: log.LoggerAt(slog.LevelWarn).With("component", "control"),
		Timing: control.Timing{HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond, WriteTimeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control node: %v", err)
		}
		db.Close()
	})
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s := n.Status(); s.State != "Leader" {
			return fmt.Errorf("node is %s", s.State)
		}
		return nil
	})
	return n
}
