// Command lolatency reads a packet capture of loopback HTTP/1.1 traffic (tcpdump -w, pcap
// format, Ethernet or Linux cooked framing, IPv4) and prints how long the server took from
// each request's first packet ("POST") to its response's first packet ("HTTP/1.") on the
// same connection: the server's whole share of the latency — the wake-up of its CPU, its
// runtime's netpoller and scheduler, HTTP parsing, the handler and the write — without
// anything of the client's. bench/tables uses it to tell the server's tail from the load
// generator's (docs/performance.md, "Tables"):
//
//	taskset -c 0 timeout 7 tcpdump -i lo -s 96 --time-stamp-precision nano -w lo.pcap tcp
//	go run ./bench/tables/lolatency lo.pcap
//
// Keep-alive connections with one request outstanding each (as bench/tables sends them)
// pair up exactly; a capture that dropped packets pairs some wrongly, so compare the count
// with the requests sent.
package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/polyregion/polyregion/bench/internal/pcapwire"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lolatency FILE.pcap")
		os.Exit(2)
	}
	d, err := pcapwire.ServerTimes(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lolatency:", err)
		os.Exit(1)
	}
	if len(d) == 0 {
		fmt.Fprintln(os.Stderr, "lolatency: no request and response pairs")
		os.Exit(1)
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, max(0, int(float64(len(d))*p+0.999999)-1))] }
	over := func(x time.Duration) float64 {
		i, _ := slices.BinarySearch(d, x+1)
		return 100 * float64(len(d)-i) / float64(len(d))
	}
	ms := func(x time.Duration) string { return fmt.Sprintf("%.3f ms", x.Seconds()*1e3) }
	fmt.Printf("server, request packet to response packet: %d pairs, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s; over 1 ms %.2f%%, over 2 ms %.2f%%\n",
		len(d), ms(q(0.5)), ms(q(0.9)), ms(q(0.99)), ms(q(0.999)), ms(q(1)), over(time.Millisecond), over(2*time.Millisecond))
}
