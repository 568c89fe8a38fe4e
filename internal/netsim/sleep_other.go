//go:build !linux

package netsim

import "time"

// fineTimer is the runtime timer where there is no timerfd: waits are as
// precise as the runtime makes them (typically within a millisecond).
type fineTimer struct{}

func (*fineTimer) sleep(d time.Duration) { time.Sleep(d) }

func (*fineTimer) close() {}
