package edge

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// tcpServer is a TCP endpoint for the benchmarks that runs handle on each
// connection.
func tcpServer(b *testing.B, handle func(net.Conn)) *backend {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &backend{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// benchSocket serves a socket with metrics, as the region runs it.
func benchSocket(b *testing.B, protocol string, rt *Routes) *Socket {
	b.Helper()
	l, err := Listen(SocketOptions{Name: "bench", Protocol: protocol, Addr: "127.0.0.1:0", Metrics: NewMetrics(nil)})
	if err != nil {
		b.Fatal(err)
	}
	l.SetRoutes(rt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Serve: %v", err)
		}
	})
	return l
}

// BenchmarkTCPThroughput sends a stream through the relay to an endpoint that
// discards it: the bulk path (iperf3's).
func BenchmarkTCPThroughput(b *testing.B) {
	for _, size := range []int{16 << 10, 128 << 10} {
		b.Run(fmt.Sprintf("write=%dKiB", size>>10), func(b *testing.B) {
			got := make(chan int64, 1)
			sink := tcpServer(b, func(c net.Conn) {
				n, _ := io.Copy(io.Discard, c)
				got <- n
			})
			l := benchSocket(b, TCP, routesTo(false, sink))
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.(*net.TCPConn).CloseWrite()
			if n := <-got; n != int64(b.N)*int64(size) {
				b.Fatalf("endpoint got %d bytes, want %d", n, int64(b.N)*int64(size))
			}
			b.StopTimer()
			c.Close()
		})
	}
}

// BenchmarkTCPRequestResponse sends a small request and waits for its answer,
// one at a time on one connection: the latency path (wrk's, without HTTP).
func BenchmarkTCPRequestResponse(b *testing.B) {
	echo := tcpServer(b, func(c net.Conn) { io.Copy(c, c) })
	l := benchSocket(b, TCP, routesTo(false, echo))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 100)
	resp := make([]byte, len(req))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDPRequestResponse sends a datagram through the relay to an echo
// endpoint and waits for the answer.
func BenchmarkUDPRequestResponse(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, MaxDatagram)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	b.Cleanup(func() { pc.Close(); wg.Wait() })
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	rt := &Routes{
		Router: NewRouter(AffinityNone, []string{"here"}, []RouteGroup{{Region: "here", Dial: 100, Endpoints: []RouteEndpoint{{ID: "ep", Weight: 128, Healthy: true}}}}),
		Groups: map[string]GroupTargets{"here": {Endpoints: map[string]EndpointTarget{"ep": {Host: ap.Addr().String(), Port: ap.Port()}}}},
	}
	l := benchSocket(b, UDP, rt)
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 1400)
	resp := make([]byte, MaxDatagram)
	b.SetBytes(int64(len(req)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(resp); err != nil {
			b.Fatal(err)
		}
	}
}
