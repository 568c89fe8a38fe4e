package testutil

import (
	"time"
)

// Fataler is the part of a test WaitFor needs: *testing.T, testing.TB, and *rapid.T in
// property tests all have it.
type Fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// pollInterval is how long WaitFor pauses between two calls of its condition.
const pollInterval = 10 * time.Millisecond

// WaitFor calls cond until it returns nil and returns how long that took. Once timeout has
// passed with cond still failing, it fails the test with cond's last error.
//
// Tests wait with WaitFor rather than time.Sleep; this is the one place that sleeps, between
// polls.
func WaitFor(t Fataler, timeout time.Duration, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("not true within %v: %v", timeout, err)
			return time.Since(start) // Fatalf does not return; this keeps the loop finite if it did
		}
		time.Sleep(pollInterval)
	}
}
