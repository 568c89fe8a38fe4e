package child

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartStopAndExit(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("sleeper", Command("", "sh", "-c", "echo hello; exec sleep 60"), filepath.Join(dir, "sleeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.LogTail() != "hello" {
		if time.Now().After(deadline) {
			t.Fatalf("log %q, want hello", p.LogTail())
		}
		select {
		case <-p.Done():
			t.Fatalf("exited early: %v", p.Exited())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := p.Exited(); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := p.Exited(); err == nil || !strings.Contains(err.Error(), "sleeper exited") {
		t.Fatalf("after Stop: %v", err)
	}
	p.Stop() // again: nothing to do

	q, err := Start("quick", Command("", "false"), filepath.Join(dir, "quick.log"))
	if err != nil {
		t.Fatal(err)
	}
	<-q.Done()
	if q.Err() == nil {
		t.Fatal("false exited without an error")
	}
}
