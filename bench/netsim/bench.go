package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/netsim"
)

const (
	recordSize = 4 << 10 // a stream record: send time, sequence number, filler
	maxBurst   = 1 << 20 // the most the sender writes at once when catching up
	// warmUp is how long the start of each stream is not counted: the first
	// records pay for connection setup and cold buffers.
	warmUp = 100 * time.Millisecond
	target = time.Millisecond // what the link may add beyond its delay
)

type config struct {
	delay      time.Duration
	rateMB     float64
	duration   time.Duration // stream time per path, over all rounds
	rounds     int
	rtts       int // echo round trips per path, over all rounds
	msgSize    int
	cpuProfile string
}

func defaultConfig() config {
	return config{
		delay:    20 * time.Millisecond,
		rateMB:   50,
		duration: 3 * time.Second,
		rounds:   3,
		rtts:     200,
		msgSize:  64,
	}
}

// validate reports every bad flag at once.
func (c config) validate() error {
	var errs []error
	if c.delay < 0 || c.delay > time.Second {
		errs = append(errs, fmt.Errorf("-delay %v: want 0 to 1s", c.delay))
	}
	if c.rateMB <= 0 || c.rateMB > 1000 {
		errs = append(errs, fmt.Errorf("-rate %v: want more than 0 and at most 1000 MB/s", c.rateMB))
	}
	if c.rounds < 1 || c.rounds > 10 {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to 10", c.rounds))
	}
	if c.duration > 10*time.Second || (c.rounds > 0 && c.duration/time.Duration(c.rounds) < 4*warmUp) {
		errs = append(errs, fmt.Errorf("-duration %v: want at most 10s and at least %v per round", c.duration, 4*warmUp))
	}
	if c.rtts < 10 || c.rtts > 1000 {
		errs = append(errs, fmt.Errorf("-rtts %d: want 10 to 1000", c.rtts))
	}
	if c.msgSize < 1 || c.msgSize > 64<<10 {
		errs = append(errs, fmt.Errorf("-msg %d: want 1 to 65536 bytes", c.msgSize))
	}
	if len(errs) == 0 && c.budget() > 30*time.Second {
		errs = append(errs, fmt.Errorf("the run could take %v; lower -rtts, -delay or -duration to stay under 30s", c.budget()))
	}
	return errors.Join(errs...)
}

// budget bounds the whole run: the echo series and streams of both paths,
// with margin. The run is cancelled when it is spent.
func (c config) budget() time.Duration {
	echo := time.Duration(c.rtts) * (2*c.delay + 2*time.Millisecond)
	stream := 2*c.duration + time.Duration(c.rounds)*c.delay
	return echo + stream + 5*time.Second
}

// path is one way to reach the echo and sink servers.
type path struct {
	name       string
	echo, sink string // addresses
}

// figures is what was measured on one path, over all rounds.
type figures struct {
	rtt    []time.Duration // echo round trips
	oneWay []time.Duration // stream record latencies, after each warm-up
	bytes  int64           // stream bytes received
	span   time.Duration   // summed over rounds: first to last byte received
}

func (f figures) throughputMB() float64 {
	if f.span <= 0 {
		return 0
	}
	return float64(f.bytes) / f.span.Seconds() / 1e6
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.budget())
	defer cancel()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	clock := newClock()
	srv, err := startServers(clock)
	if err != nil {
		return err
	}
	defer srv.close()

	wan := netsim.New(nil)
	wan.SetBaseline("bench-a", "bench-b", cfg.delay)
	echoLink, err := wan.Listen("bench-a", "bench-b", "127.0.0.1:0", fixed(srv.echo.Addr().String()))
	if err != nil {
		return err
	}
	defer echoLink.Close()
	sinkLink, err := wan.Listen("bench-a", "bench-b", "127.0.0.1:0", fixed(srv.sink.Addr().String()))
	if err != nil {
		return err
	}
	defer sinkLink.Close()

	paths := []path{
		{name: "direct", echo: srv.echo.Addr().String(), sink: srv.sink.Addr().String()},
		{name: "link", echo: echoLink.Addr().String(), sink: sinkLink.Addr().String()},
	}
	fmt.Fprintf(out, "bench/netsim: %s/%s, GOMAXPROCS=%d, %d CPUs; link delay %v\n",
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.delay)
	fmt.Fprintf(out, "per path: %d echo round trips of %d B; a %.0f MB/s stream of %d B records for %v; "+
		"in %d rounds alternating direct and link (first %v of each stream not counted)\n\n",
		cfg.rtts, cfg.msgSize, cfg.rateMB, recordSize, cfg.duration, cfg.rounds, warmUp)

	// Alternate the paths in rounds, so that noise from the rest of the
	// machine falls on both alike.
	var results [2]figures
	for round := range cfg.rounds {
		rtts := cfg.rtts / cfg.rounds
		if round < cfg.rtts%cfg.rounds {
			rtts++
		}
		for i, p := range paths {
			if err := measure(ctx, cfg, clock, srv, p, rtts, &results[i]); err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, p.name, err)
			}
		}
	}
	report(out, cfg, results[0], results[1])
	return nil
}

func fixed(addr string) func() string { return func() string { return addr } }

// measure runs one round on one path and adds what it measured to f.
func measure(ctx context.Context, cfg config, clock *clock, srv *servers, p path, rtts int, f *figures) error {
	rtt, err := echoSeries(ctx, p.echo, rtts, cfg.msgSize)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	f.rtt = append(f.rtt, rtt...)
	if err := stream(ctx, cfg, clock, srv, p.sink, f); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
}

// echoSeries sends n messages of size bytes one at a time and times each
// round trip, after a few unmeasured ones.
func echoSeries(ctx context.Context, addr string, n, size int) ([]time.Duration, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msg := make([]byte, size)
	got := make([]byte, size)
	rtts := make([]time.Duration, 0, n)
	for i := range n + 3 {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, got); err != nil {
			return nil, err
		}
		if i >= 3 {
			rtts = append(rtts, time.Since(start))
		}
	}
	return rtts, nil
}

// stream sends records at cfg.rateMB for one round to the sink at addr,
// each stamped with the time it is handed to the kernel, and adds what the
// sink measured to f.
func stream(ctx context.Context, cfg config, clock *clock, srv *servers, addr string, f *figures) error {
	c, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	duration := cfg.duration / time.Duration(cfg.rounds)
	bytesPerSec := cfg.rateMB * 1e6
	buf := make([]byte, maxBurst)
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	var sent int64
	var seq uint64
	start := time.Now()
	for {
		elapsed := time.Since(start)
		if elapsed >= duration {
			break
		}
		owed := int64(elapsed.Seconds()*bytesPerSec) - sent
		if n := min(int(owed/recordSize), maxBurst/recordSize); n > 0 {
			now := clock.now()
			for i := range n {
				rec := buf[i*recordSize:]
				binary.LittleEndian.PutUint64(rec[0:8], uint64(now))
				binary.LittleEndian.PutUint64(rec[8:16], seq)
				seq++
			}
			if _, err := c.Write(buf[:n*recordSize]); err != nil {
				return err
			}
			sent += int64(n * recordSize)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	select {
	case r := <-srv.sinkResults:
		if r.err != nil {
			return r.err
		}
		if r.bytes != sent {
			return fmt.Errorf("sink received %d bytes, sent %d", r.bytes, sent)
		}
		f.oneWay = append(f.oneWay, r.latencies...)
		f.bytes += r.bytes
		f.span += r.span
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func dial(ctx context.Context, addr string) (*net.TCPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c.(*net.TCPConn), nil
}

// clock gives nanoseconds on the monotonic clock since the run began, the
// send time carried in stream records.
type clock struct{ base time.Time }

func newClock() *clock      { return &clock{base: time.Now()} }
func (c *clock) now() int64 { return int64(time.Since(c.base)) }

// servers are the peers the benchmark reaches: an echo server and a sink
// that timestamps stream records as they arrive.
type servers struct {
	clock       *clock
	echo, sink  net.Listener
	sinkResults chan sinkResult
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[net.Conn]struct{}
}

type sinkResult struct {
	latencies []time.Duration
	bytes     int64
	span      time.Duration
	err       error
}

func startServers(clock *clock) (*servers, error) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		echo.Close()
		return nil, err
	}
	s := &servers{
		clock:       clock,
		echo:        echo,
		sink:        sink,
		sinkResults: make(chan sinkResult, 1),
		conns:       map[net.Conn]struct{}{},
	}
	s.wg.Go(func() { s.accept(echo, serveEcho) })
	s.wg.Go(func() { s.accept(sink, s.serveSink) })
	return s, nil
}

func (s *servers) accept(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			handle(c)
		})
	}
}

func (s *servers) close() {
	s.echo.Close()
	s.sink.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func serveEcho(c net.Conn) {
	_, _ = io.Copy(c, c)
}

// serveSink reads records to EOF, noting each one's latency from its send
// time to the moment it was read whole, and checks their order.
func (s *servers) serveSink(c net.Conn) {
	r := bufio.NewReaderSize(c, 256<<10)
	rec := make([]byte, recordSize)
	var res sinkResult
	var first, last, firstSent int64
	for seq := uint64(0); ; seq++ {
		if _, err := io.ReadFull(r, rec); err != nil {
			if !errors.Is(err, io.EOF) {
				res.err = err
			}
			break
		}
		now := s.clock.now()
		sent := int64(binary.LittleEndian.Uint64(rec[0:8]))
		if got := binary.LittleEndian.Uint64(rec[8:16]); got != seq {
			res.err = fmt.Errorf("record %d arrived as number %d", got, seq)
			break
		}
		if res.bytes == 0 {
			first, firstSent = now, sent
		}
		last = now
		res.bytes += recordSize
		if time.Duration(sent-firstSent) >= warmUp {
			res.latencies = append(res.latencies, time.Duration(now-sent))
		}
	}
	res.span = time.Duration(last - first)
	s.sinkResults <- res
}
