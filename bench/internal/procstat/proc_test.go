package procstat

import (
	"os"
	"slices"
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

func TestCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0,2": {0, 2}, "1-3": {1, 2, 3}, "0,2-3,x,5-4": {0, 2, 3}, "": nil} {
		if got := CPUList(in); !slices.Equal(got, want) {
			t.Errorf("CPUList(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCPUTicksAddUp(t *testing.T) {
	got, err := CPUTicks("0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Total <= 0 || got.Busy() > got.Total || got.Tasks+got.Interrupts+got.Steal+got.Idle != got.Total {
		t.Fatalf("CPU 0: %+v", got)
	}
	if none, _ := CPUTicks(""); none != (Ticks{}) {
		t.Fatalf("no CPUs: %+v", none)
	}
}

func TestCheckPinning(t *testing.T) {
	if errs := CheckPinning("-a", "0", "-b", "0"); len(errs) != 0 {
		t.Errorf("CPU 0 for both: %v", errs)
	}
	if errs := CheckPinning("-a", "", "-b", ""); len(errs) != 0 {
		t.Errorf("no pinning: %v", errs)
	}
	for _, c := range [][2]string{{"0", ""}, {"x", "0"}, {"0", "9999"}} {
		if errs := CheckPinning("-a", c[0], "-b", c[1]); len(errs) == 0 {
			t.Errorf("%q and %q: no error", c[0], c[1])
		}
	}
	if MachineCPUs() < 1 {
		t.Errorf("MachineCPUs %d", MachineCPUs())
	}
}
