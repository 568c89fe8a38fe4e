package netsim

import (
	"runtime"
	"time"
)

// The writer of a direction waits for each chunk's due time in three steps,
// because the Go runtime timer alone is not precise enough: timers are served
// by the network poller, whose sleep has a resolution of one millisecond on
// Linux, so a timer fires 0.5 to 1.1 ms late on an idle machine.
//
//   - until fineWindow before the deadline: a runtime timer, which also
//     watches the stop channel;
//   - until spinWindow before it: a fineTimer (a timerfd read through the
//     poller on Linux), which wakes within tens of microseconds and holds
//     no thread while waiting;
//   - the rest: yielding the processor in a loop, which absorbs the wake-up
//     latency of the fineTimer for a few tens of microseconds of CPU.
const (
	fineWindow = 5 * time.Millisecond
	spinWindow = 80 * time.Microsecond
)

// pacer waits for deadlines precisely. It is owned by one goroutine.
type pacer struct {
	t    *time.Timer
	fine fineTimer
}

func newPacer() *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{t: t}
}

func (p *pacer) close() {
	p.t.Stop()
	p.fine.close()
}

// until blocks until due has passed and returns true, or returns false when
// stop is closed (noticed within fineWindow).
func (p *pacer) until(due time.Time, stop <-chan struct{}) bool {
	for {
		d := time.Until(due)
		switch {
		case d <= 0:
			return true
		case d <= spinWindow:
			runtime.Gosched()
		case d <= fineWindow:
			select {
			case <-stop:
				return false
			default:
			}
			p.fine.sleep(d - spinWindow)
		default:
			p.t.Reset(d - fineWindow)
			select {
			case <-p.t.C:
			case <-stop:
				p.t.Stop()
				return false
			}
		}
	}
}
