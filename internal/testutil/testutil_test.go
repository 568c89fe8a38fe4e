package testutil

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWaitForReturnsOnceCondHolds(t *testing.T) {
	calls := 0
	took := WaitFor(t, 5*time.Second, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
	if took < 2*pollInterval {
		t.Errorf("WaitFor took %v for two failed polls, want at least %v", took, 2*pollInterval)
	}
}

func TestWaitForDoesNotPollAHoldingCondAgain(t *testing.T) {
	calls := 0
	WaitFor(t, 5*time.Second, func() error { calls++; return nil })
	if calls != 1 {
		t.Errorf("cond called %d times, want 1", calls)
	}
}

// recordingTB records what is passed to Log and holds cleanups until told to run them.
type recordingTB struct {
	testing.TB

	mu       sync.Mutex
	logged   []string
	cleanups []func()
}

func (r *recordingTB) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logged = append(r.logged, fmt.Sprint(args...))
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func (r *recordingTB) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logged...)
}

func TestLogKeepsAndForwardsUntilCleanup(t *testing.T) {
	rec := &recordingTB{TB: t}
	l := NewLog(rec)
	l.Logger().Debug("first", "k", "v")
	lines := rec.lines()
	if len(lines) != 1 || !strings.Contains(lines[0], "level=DEBUG msg=first k=v") || strings.HasSuffix(lines[0], "\n") {
		t.Fatalf("t.Log got %q, want one line with the record and no trailing newline", lines)
	}
	if got := l.String(); !strings.HasSuffix(got, "msg=first k=v\n") {
		t.Errorf("String() = %q, want the record, newline included", got)
	}

	rec.runCleanups()
	l.Logger().Info("second")
	if lines := rec.lines(); len(lines) != 1 {
		t.Errorf("t.Log called after cleanup: %q", lines)
	}
	if got := l.String(); !strings.Contains(got, "msg=first") || !strings.Contains(got, "msg=second") {
		t.Errorf("String() = %q, want both records kept", got)
	}
}

func TestLogLoggerAtDropsLowerLevels(t *testing.T) {
	rec := &recordingTB{TB: t}
	l := NewLog(rec)
	log := l.LoggerAt(slog.LevelInfo)
	log.Debug("quiet")
	log.Info("loud")
	if got := l.String(); strings.Contains(got, "quiet") || !strings.Contains(got, "level=INFO msg=loud") {
		t.Errorf("String() = %q, want the Info record only", got)
	}
	if lines := rec.lines(); len(lines) != 1 {
		t.Errorf("t.Log got %q, want the Info record only", lines)
	}
}

func TestLogWaitFor(t *testing.T) {
	l := NewLog(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Logger().Info("written later")
	}()
	l.WaitFor(t, 5*time.Second, "msg=\"written later\"")
	<-done
}
