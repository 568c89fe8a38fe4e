package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usage is the CPU use during one run.
type usage struct {
	seconds     float64 // wall time
	server      float64 // CPU seconds the server process used
	client      float64 // CPU seconds this program used
	serverBusy  float64 // how busy the server's CPUs were (0 to 1), interrupts included
	loadBusy    float64 // how busy this program's CPUs were (0 to 1), interrupts included
	foreign     float64 // share of the server's CPUs that other processes used
	foreignLoad float64 // share of this program's CPUs that other processes used
	steal       float64 // share of the pinned CPUs' time the hypervisor gave to other guests
}

// cores is the server's CPU use in cores.
func (u usage) cores() float64 {
	if u.seconds <= 0 {
		return 0
	}
	return u.server / u.seconds
}

func (u usage) clientCores() float64 {
	if u.seconds <= 0 {
		return 0
	}
	return u.client / u.seconds
}

// meter takes the CPU counters at the start of a run.
type meter struct {
	cfg                  config
	pid                  int
	t0                   time.Time
	server, client       float64
	serverCPUs, loadCPUs ticks
}

func startMeter(cfg config, pid int) (*meter, error) {
	m := &meter{cfg: cfg, pid: pid, t0: time.Now()}
	var err1, err2, err3, err4 error
	m.server, err1 = cpuSeconds(pid)
	m.client, err2 = selfCPU()
	m.serverCPUs, err3 = cpuTicks(cfg.serverCPUs)
	m.loadCPUs, err4 = cpuTicks(cfg.loadCPUs)
	return m, errors.Join(err1, err2, err3, err4)
}

// stop reads the counters again and computes the run's usage.
func (m *meter) stop() (usage, error) {
	u := usage{seconds: time.Since(m.t0).Seconds()}
	server, err1 := cpuSeconds(m.pid)
	client, err2 := selfCPU()
	sc, err3 := cpuTicks(m.cfg.serverCPUs)
	lc, err4 := cpuTicks(m.cfg.loadCPUs)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return u, err
	}
	u.server, u.client = server-m.server, client-m.client
	if d := sc.total - m.serverCPUs.total; d > 0 {
		u.serverBusy = (sc.busy - m.serverCPUs.busy) / d
		u.foreign = max(0, ((sc.tasks-m.serverCPUs.tasks)/clockTicks-u.server)/(d/clockTicks))
	}
	if d := lc.total - m.loadCPUs.total; d > 0 {
		u.loadBusy = (lc.busy - m.loadCPUs.busy) / d
		u.foreignLoad = max(0, ((lc.tasks-m.loadCPUs.tasks)/clockTicks-u.client)/(d/clockTicks))
	}
	if d := sc.total + lc.total - m.serverCPUs.total - m.loadCPUs.total; d > 0 {
		u.steal = (sc.steal + lc.steal - m.serverCPUs.steal - m.loadCPUs.steal) / d
	}
	return u, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSeconds is the CPU time (user + system) the process and all its threads have used.
func cpuSeconds(pid int) (float64, error) {
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
	return (u + s) / clockTicks, nil
}

// selfCPU is this process's CPU time, user and system.
func selfCPU() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime), nil
}

// ticks are CPU times from /proc/stat, in clock ticks.
type ticks struct{ busy, tasks, steal, total float64 }

// cpuTicks sums the times of the CPUs of a taskset list ("" gives zero). Busy is everything
// but idle and iowait (interrupts included); tasks is user, nice and system.
func cpuTicks(list string) (ticks, error) {
	var t ticks
	if list == "" {
		return t, nil
	}
	want := map[string]bool{}
	for _, c := range cpuList(list) {
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
		for i, v := range f[1:] {
			if i >= 8 { // guest times are already counted in user and nice
				break
			}
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return t, fmt.Errorf("/proc/stat: %q: %w", line, err)
			}
			t.total += n
			switch {
			case i <= 2: // user, nice, system
				t.tasks += n
				t.busy += n
			case i == 7:
				t.steal += n
			case i == 5 || i == 6: // irq, softirq
				t.busy += n
			}
		}
	}
	return t, nil
}

// percentile returns the p-th percentile (0 < p <= 1) of the sorted xs, nearest rank.
func percentile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return time.Duration(sorted[min(max(i, 0), len(sorted)-1)])
}
