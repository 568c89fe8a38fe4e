package netsim

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// fineTimer waits for short durations precisely by reading a Linux timerfd
// through the runtime's network poller: the kernel's high-resolution timer
// wakes the poller at once, so the wait is precise to tens of microseconds
// and, unlike a sleeping system call, holds no thread and no P. The timerfd
// is made on first use and kept until close. If it cannot be made or used,
// fineTimer falls back to nanosleep(2), as precise but holding a thread.
type fineTimer struct {
	f      *os.File // nil until first use, or after a failure
	fd     uintptr  // f's descriptor; f.Fd() would make it blocking
	failed bool
}

type itimerspec struct {
	interval, value syscall.Timespec
}

func (t *fineTimer) open() {
	const clockMonotonic = 1
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		t.failed = true
		return
	}
	t.f, t.fd = os.NewFile(fd, "timerfd"), fd
}

// sleep waits for d, or returns early; the caller loops until its deadline.
func (t *fineTimer) sleep(d time.Duration) {
	if t.f == nil && !t.failed {
		t.open()
	}
	if t.f != nil {
		// A relative one-shot timer; zero would disarm it.
		spec := itimerspec{value: syscall.NsecToTimespec(int64(max(d, 1)))}
		_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, t.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
		if errno == 0 {
			var expirations [8]byte
			if _, err := t.f.Read(expirations[:]); err == nil {
				return
			}
		}
		t.close()
		t.failed = true
	}
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}

func (t *fineTimer) close() {
	if t.f != nil {
		_ = t.f.Close()
		t.f = nil
	}
}
