package proc

import (
	"os"
	"testing"
	"time"
)

func TestCPUSecondsGrows(t *testing.T) {
	before, err := CPUSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has counted at least two ticks more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, err := CPUSeconds(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now >= before+2.0/ClockTicks {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time stayed at %v s (from %v s) while spinning for 10 s", now, before)
		}
	}
}

func TestCPUSecondsNoProcess(t *testing.T) {
	if _, err := CPUSeconds(-1); err == nil {
		t.Fatal("CPUSeconds(-1): no error")
	}
}
