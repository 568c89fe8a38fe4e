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
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lolatency FILE.pcap")
		os.Exit(2)
	}
	d, err := serverTimes(os.Args[1])
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

// serverTimes pairs requests and responses in the capture at path.
func serverTimes(path string) ([]time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("not a pcap file")
	}
	var nano bool
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	default:
		return nil, errors.New("not a little-endian pcap file (pcapng is not read: use tcpdump -w)")
	}
	link := binary.LittleEndian.Uint32(b[20:])
	type conn struct{ client, server uint16 }
	pending := map[conn]time.Duration{}
	var out []time.Duration
	for off := 24; off+16 <= len(b); {
		sec, frac := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			break
		}
		pkt := b[off : off+n]
		off += n
		t := time.Duration(sec) * time.Second
		if nano {
			t += time.Duration(frac)
		} else {
			t += time.Duration(frac) * time.Microsecond
		}
		switch link {
		case 1: // Ethernet
			pkt = pkt[min(14, len(pkt)):]
		case 113: // Linux cooked
			pkt = pkt[min(16, len(pkt)):]
		}
		if len(pkt) < 20 || pkt[0]>>4 != 4 {
			continue
		}
		ihl := int(pkt[0]&15) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:]))
		if len(pkt) < ihl+20 {
			continue
		}
		tcp := pkt[ihl:]
		src, dst := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		doff := int(tcp[12]>>4) * 4
		if total-ihl-doff <= 0 || len(tcp) < doff {
			continue
		}
		payload := tcp[doff:]
		switch {
		case hasPrefix(payload, "POST"):
			pending[conn{src, dst}] = t
		case hasPrefix(payload, "HTTP/1."):
			if t0, ok := pending[conn{dst, src}]; ok {
				out = append(out, t-t0)
				delete(pending, conn{dst, src})
			}
		}
	}
	return out, nil
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
