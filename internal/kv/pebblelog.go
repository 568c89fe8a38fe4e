package kv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// pebbleLogger routes Pebble's log lines to a *slog.Logger, or drops them
// when there is none. Pebble calls Fatalf when it cannot go on safely (a
// failed WAL write, corruption) and does not expect it to return, so Fatalf
// logs at Error and then panics, as Pebble's own default logger would exit.
type pebbleLogger struct {
	log *slog.Logger // nil: quiet
}

func (l pebbleLogger) Infof(format string, args ...any) {
	l.emit(slog.LevelDebug, format, args)
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.emit(slog.LevelWarn, format, args)
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if l.log != nil {
		l.log.Error(msg, "engine", "pebble")
	}
	panic("kv: pebble: " + msg)
}

func (l pebbleLogger) emit(level slog.Level, format string, args []any) {
	if l.log == nil || !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "engine", "pebble")
}
