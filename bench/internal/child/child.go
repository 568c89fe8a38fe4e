// Package child runs the processes a benchmark measures — servers, peers, load generators
// — in the background, each pinned to CPUs when asked, its output in a log file, and never
// outliving the benchmark.
package child

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Command builds the command for name, pinned to cpus with taskset when cpus is not empty.
// The child is killed if this program dies (PR_SET_PDEATHSIG survives taskset's exec).
func Command(cpus, name string, args ...string) *exec.Cmd {
	if cpus != "" {
		args = append([]string{"-c", cpus, name}, args...)
		name = "taskset"
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Process is a child process running in the background.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Log  string // its stdout and stderr

	done chan struct{}
	err  error // how it exited, once done is closed
}

// Start runs cmd with its output in logPath.
func Start(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Process{Name: name, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited; it is set once Done is closed.
func (p *Process) Err() error { return p.err }

// Stop ends the process with SIGTERM, then SIGKILL after 10 s, and waits for it.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// PID is the process id (taskset execs the program, so it is the program's own).
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Exited reports an error, with the end of the output, if the process has stopped.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v):\n%s", p.Name, p.err, p.LogTail())
	default:
		return nil
	}
}

// LogTail is the end of the process's output, for error messages.
func (p *Process) LogTail() string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Polyregion returns the polyregion binary a benchmark measures: bin, made absolute, or
// when bin is empty a build of ./cmd/polyregion into dir (the benchmark runs from the
// module's root).
func Polyregion(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin)
	}
	bin = filepath.Join(dir, "polyregion")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/polyregion").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/polyregion (run from the module root): %w\n%s", err, out)
	}
	return bin, nil
}
