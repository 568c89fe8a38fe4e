// Package procstat reads what the benchmarks measure of processes and CPUs from /proc.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture
// Go supports.
const ClockTicks = 100

// CPUSeconds is the CPU time (user + system) a process and all its threads have used.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// Fields 14 (utime) and 15 (stime) of stat(5); f[0] is field 3.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return (u + s) / ClockTicks, nil
}

// Ticks are CPU times from /proc/stat, in clock ticks, summed over a set of CPUs.
type Ticks struct {
	// Tasks is user, nice and system time: what processes ran.
	Tasks float64
	// Interrupts is irq and softirq time.
	Interrupts float64
	// Steal is the time the hypervisor gave the CPUs to someone else.
	Steal float64
	// Idle is idle and iowait time.
	Idle float64
	// Total is all of it (guest time is already in user and nice).
	Total float64
}

// Busy is everything but idle and iowait: tasks, interrupts and steal.
func (t Ticks) Busy() float64 { return t.Total - t.Idle }

// CPUTicks sums the times of the CPUs of a taskset list ("" gives zero).
func CPUTicks(list string) (Ticks, error) {
	var t Ticks
	if list == "" {
		return t, nil
	}
	want := map[string]bool{}
	for _, c := range CPUList(list) {
		want["cpu"+strconv.Itoa(c)] = true
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !want[f[0]] {
			continue
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return t, fmt.Errorf("/proc/stat: %q: %w", line, err)
			}
			t.Total += n
			switch i {
			case 0, 1, 2:
				t.Tasks += n
			case 3, 4:
				t.Idle += n
			case 5, 6:
				t.Interrupts += n
			case 7:
				t.Steal += n
			}
		}
	}
	return t, nil
}

// CPUList expands a taskset CPU list ("0", "0,2", "1-3"); malformed parts are left out.
func CPUList(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// MachineCPUs counts the machine's CPUs in /proc/stat (runtime.NumCPU counts only those
// this process may run on, which is one once it is pinned).
func MachineCPUs() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return max(n, runtime.NumCPU())
}

// CheckPinning checks a benchmark's two taskset CPU-list flags, named aName and bName: both
// set or neither, each a list of this machine's CPUs. It returns every problem.
func CheckPinning(aName, a, bName, b string) []error {
	var errs []error
	if (a == "") != (b == "") {
		errs = append(errs, fmt.Errorf("%s and %s: set both, or neither", aName, bName))
	}
	for _, f := range []struct{ name, list string }{{aName, a}, {bName, b}} {
		cpus := CPUList(f.list)
		if f.list != "" && len(cpus) == 0 {
			errs = append(errs, fmt.Errorf("%s %q: not a CPU list like 1 or 0,2-3", f.name, f.list))
		}
		for _, n := range cpus {
			if n >= MachineCPUs() {
				errs = append(errs, fmt.Errorf("%s %q: this machine has CPUs 0 to %d", f.name, f.list, MachineCPUs()-1))
				break
			}
		}
	}
	return errs
}
