// Package testutil holds the helpers that tests across the module share: WaitFor polls a
// condition with a deadline instead of sleeping for a guessed time, and Log routes a
// component's slog output to t.Log while keeping it for assertions, and SyncBuffer collects a
// child process's output while it runs (the end-to-end tests and the benchmarks).
//
// It depends on the standard library only, so that any package's tests may use it.
package testutil
