package pcapwire

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// packet is an Ethernet + IPv4 + TCP frame from port src to port dst with payload.
func packet(src, dst uint16, payload string) []byte {
	eth := make([]byte, 14)
	ip := make([]byte, 20)
	ip[0] = 0x45
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp, src)
	binary.BigEndian.PutUint16(tcp[2:], dst)
	tcp[12] = 5 << 4
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(tcp)+len(payload)))
	return append(append(append(eth, ip...), tcp...), payload...)
}

func TestServerTimesPairsRequestsWithResponses(t *testing.T) {
	var b []byte
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b23c4d) // nanosecond timestamps
	binary.LittleEndian.PutUint32(hdr[20:], 1)     // Ethernet
	b = append(b, hdr...)
	add := func(at time.Duration, pkt []byte) {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, uint32(at/time.Second))
		binary.LittleEndian.PutUint32(rec[4:], uint32(at%time.Second))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(pkt)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(pkt)))
		b = append(append(b, rec...), pkt...)
	}
	add(10*time.Second, packet(40000, 8000, "POST / HTTP/1.1"))
	add(10*time.Second+time.Millisecond, packet(40001, 8000, "POST / HTTP/1.1"))
	add(10*time.Second+1500*time.Microsecond, packet(8000, 40000, "HTTP/1.1 200 OK")) // 1.5 ms
	add(10*time.Second+1600*time.Microsecond, packet(8000, 40000, "more body"))
	add(10*time.Second+1700*time.Microsecond, packet(40000, 8000, ""))             // an ACK
	add(10*time.Second+3*time.Millisecond, packet(8000, 40001, "HTTP/1.1 200 OK")) // 2 ms
	add(11*time.Second, packet(8000, 40002, "HTTP/1.1 200 OK"))                    // no request: left out
	path := filepath.Join(t.TempDir(), "lo.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ServerTimes(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{1500 * time.Microsecond, 2 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ServerTimes = %v, want %v", got, want)
	}
	if _, err := ServerTimes(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("a missing file read without error")
	}
}
