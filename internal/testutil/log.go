package testutil

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log is an io.Writer for a component's log output in a test. It keeps everything written to
// it, and passes each write to t.Log while the test runs. A component may still log after its
// test has ended (a server shutting down in the background), when t.Log would panic; from the
// test's cleanup on, Log only keeps what it is given.
//
// Make the Log before what logs to it: cleanups run last-registered first, so the components'
// own cleanups then still reach t.Log.
type Log struct {
	t testing.TB

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool // the test's cleanup has run
}

var _ io.Writer = (*Log)(nil)

// NewLog returns a Log that writes to t.Log until t's cleanup.
func NewLog(t testing.TB) *Log {
	l := &Log{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.done = true
	})
	return l
}

// Write keeps p and, while the test runs, logs it with t.Log without its final newline.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a logger that writes text records of every level, Debug and up, to l.
func (l *Log) Logger() *slog.Logger {
	return l.LoggerAt(slog.LevelDebug)
}

// LoggerAt returns a logger that writes text records of level and above to l.
func (l *Log) LoggerAt(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}

// WaitFor waits until the log contains want, and fails the test if it does not within timeout.
func (l *Log) WaitFor(t testing.TB, timeout time.Duration, want string) {
	t.Helper()
	WaitFor(t, timeout, func() error {
		if !strings.Contains(l.String(), want) {
			return fmt.Errorf("log lacks %q", want)
		}
		return nil
	})
}
