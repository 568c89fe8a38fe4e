package main

import (
	"errors"
	"syscall"
	"time"

	"github.com/polyregion/polyregion/bench/internal/procstat"
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
	serverCPUs, loadCPUs procstat.Ticks
}

func startMeter(cfg config, pid int) (*meter, error) {
	m := &meter{cfg: cfg, pid: pid, t0: time.Now()}
	var err1, err2, err3, err4 error
	m.server, err1 = procstat.CPUSeconds(pid)
	m.client, err2 = selfCPU()
	m.serverCPUs, err3 = procstat.CPUTicks(cfg.serverCPUs)
	m.loadCPUs, err4 = procstat.CPUTicks(cfg.loadCPUs)
	return m, errors.Join(err1, err2, err3, err4)
}

// stop reads the counters again and computes the run's usage.
func (m *meter) stop() (usage, error) {
	u := usage{seconds: time.Since(m.t0).Seconds()}
	server, err1 := procstat.CPUSeconds(m.pid)
	client, err2 := selfCPU()
	sc, err3 := procstat.CPUTicks(m.cfg.serverCPUs)
	lc, err4 := procstat.CPUTicks(m.cfg.loadCPUs)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return u, err
	}
	u.server, u.client = server-m.server, client-m.client
	if d := sc.Total - m.serverCPUs.Total; d > 0 {
		u.serverBusy = (sc.Tasks + sc.Interrupts - m.serverCPUs.Tasks - m.serverCPUs.Interrupts) / d
		u.foreign = max(0, ((sc.Tasks-m.serverCPUs.Tasks)/procstat.ClockTicks-u.server)/(d/procstat.ClockTicks))
	}
	if d := lc.Total - m.loadCPUs.Total; d > 0 {
		u.loadBusy = (lc.Tasks + lc.Interrupts - m.loadCPUs.Tasks - m.loadCPUs.Interrupts) / d
		u.foreignLoad = max(0, ((lc.Tasks-m.loadCPUs.Tasks)/procstat.ClockTicks-u.client)/(d/procstat.ClockTicks))
	}
	if d := sc.Total + lc.Total - m.serverCPUs.Total - m.loadCPUs.Total; d > 0 {
		u.steal = (sc.Steal + lc.Steal - m.serverCPUs.Steal - m.loadCPUs.Steal) / d
	}
	return u, nil
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

// percentile returns the p-th percentile (0 < p <= 1) of the sorted xs, nearest rank.
func percentile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return time.Duration(sorted[min(max(i, 0), len(sorted)-1)])
}
