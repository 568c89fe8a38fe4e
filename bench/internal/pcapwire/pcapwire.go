// Package pcapwire measures an HTTP/1.1 server's share of request latency from a packet
// capture of its loopback traffic.
package pcapwire

import (
	"encoding/binary"
	"errors"
	"os"
	"time"
)

// ServerTimes reads the capture at path and returns, for each request on it, the time from
// its first packet (a payload starting "POST") to the first packet of its response (a
// payload starting "HTTP/1.") on the same connection: what the server took, from the
// loopback's point of view, with nothing of the client's. It reads pcap files (tcpdump -w,
// little-endian, micro- or nanosecond timestamps) of Ethernet or Linux cooked framing and
// IPv4. Keep-alive connections with one request outstanding pair up exactly; a capture
// that dropped packets pairs some wrongly.
func ServerTimes(path string) ([]time.Duration, error) {
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
