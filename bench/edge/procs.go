package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/polyregion/polyregion/bench/internal/child"
)

// proc is a child process: a backend, a proxy or a load generator.
type proc = child.Process

// niceness is the nice value of every process the benchmark starts (-nice); 0: inherited.
var niceness int

// rtPriority is the SCHED_FIFO priority of the proxies and load generators (-rt), the
// backends getting one more so that a client that never blocks (iperf3 -u -b 0) does not
// starve the server it shares a CPU with; 0: the normal scheduler.
var rtPriority int

// command builds a command pinned to cpus with taskset when cpus is not empty, at the
// -nice priority (or -rt). The child is killed if this program dies (PR_SET_PDEATHSIG
// survives the exec of taskset, nice and chrt).
func command(cpus, name string, args ...string) *exec.Cmd {
	return commandAt(rtPriority, cpus, name, args...)
}

// backendCommand is command for a backend.
func backendCommand(cpus, name string, args ...string) *exec.Cmd {
	prio := rtPriority
	if prio > 0 {
		prio++
	}
	return commandAt(prio, cpus, name, args...)
}

func commandAt(prio int, cpus, name string, args ...string) *exec.Cmd {
	if prio > 0 {
		args = append([]string{"-f", strconv.Itoa(prio), name}, args...)
		name = "chrt"
	}
	if niceness != 0 {
		// nice runs the program at its default priority, with a warning, when it may
		// not raise it.
		args = append([]string{"-n", strconv.Itoa(niceness), name}, args...)
		name = "nice"
	}
	return child.Command(cpus, name, args...)
}

// freePort returns a port that is free on 127.0.0.1 for both UDP and TCP. It is free when
// checked; the program that uses it binds it a moment later.
func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			t.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP on 127.0.0.1")
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	var out []int
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// lookSbin finds a program in PATH or /usr/sbin (not in the PATH of every user).
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run bench/edge/run.sh, which installs it", name)
}

// tool reports the Debian package version of a tool, or "?" when dpkg does not know it.
func tool(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "?"
	}
	return string(out)
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, as /proc/loadavg says.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
