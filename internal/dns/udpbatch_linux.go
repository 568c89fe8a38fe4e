package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// udpBatch is how many datagrams a UDP worker reads with one recvmmsg and answers with one
// sendmmsg. A worker takes what is queued, up to this many, and never waits to fill a batch.
const udpBatch = 32

// udpQueryBuffer is the room for each datagram read in a batch. A DNS query over UDP is a
// few hundred bytes; a datagram that does not fit (MSG_TRUNC) is answered FORMERR.
const udpQueryBuffer = maxUDPSize

// batchConn is a UDP worker's state on Linux: the buffers and the message headers of one
// recvmmsg and one sendmmsg, allocated once, so that a datagram costs no allocation and a
// batch two system calls.
type batchConn struct {
	rc     syscall.RawConn
	recvFn func(uintptr) bool // b.recv, made once: a method value allocates
	sendFn func(uintptr) bool

	in    [udpBatch]unix.Mmsghdr
	inIov [udpBatch]unix.Iovec
	names [udpBatch]unix.RawSockaddrInet6 // room for an IPv4 or IPv6 address
	bufs  [udpBatch][]byte

	out    [udpBatch]unix.Mmsghdr
	outIov [udpBatch]unix.Iovec
	outs   [udpBatch][]byte // reply buffers, by slot of out
	outTo  [udpBatch]int    // slot of in each reply answers
	nout   int              // replies in out
	sent   int              // replies of out sent so far

	n     int        // datagrams the last recvmmsg read, or replies the last sendmmsg sent
	errno unix.Errno // of the last system call
}

func newBatchConn(uc *net.UDPConn) (*batchConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &batchConn{rc: rc}
	b.recvFn, b.sendFn = b.recv, b.send
	for i := range udpBatch {
		b.bufs[i] = make([]byte, udpQueryBuffer)
		b.outs[i] = make([]byte, 0, maxUDPSize+1)
		b.inIov[i].Base = &b.bufs[i][0]
		b.inIov[i].SetLen(len(b.bufs[i]))
		b.in[i].Hdr.Iov = &b.inIov[i]
		b.in[i].Hdr.SetIovlen(1)
		b.in[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.out[i].Hdr.Iov = &b.outIov[i]
		b.out[i].Hdr.SetIovlen(1)
	}
	return b, nil
}

// recv is recvmmsg for RawConn.Read: false (wait until readable) when nothing is queued.
func (b *batchConn) recv(fd uintptr) bool {
	for i := range b.in {
		b.in[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.in[i].Hdr.Flags = 0
		b.in[i].Len = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), udpBatch, unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	b.n, b.errno = int(n), errno
	return true
}

// send is sendmmsg for RawConn.Write of the replies out[sent:nout]: false (wait until
// writable) when the socket's send buffer is full.
func (b *batchConn) send(fd uintptr) bool {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.nout-b.sent), 0, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	b.n, b.errno = int(n), errno
	return true
}

// client is the address a datagram of the last batch came from.
func (b *batchConn) client(i int) netip.AddrPort {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), portOf(sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), portOf(sa.Port))
	}
	return netip.AddrPort{}
}

// portOf reads a sockaddr's port, which is in network byte order.
func portOf(p uint16) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p))[:])
}

// serveUDPBatch is serveUDP on Linux: each round reads what is queued (up to udpBatch
// datagrams) with one recvmmsg, answers every datagram, and sends the answers with one
// sendmmsg (more only when the kernel takes part of them). It reports false when the
// socket gives no raw access (then serveUDP reads one datagram at a time).
func (s *Server) serveUDPBatch(ctx context.Context, uc *net.UDPConn) (bool, error) {
	b, err := newBatchConn(uc)
	if err != nil {
		return false, nil
	}
	q := newQuery(s)
	for {
		if err := b.rc.Read(b.recvFn); err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			if errors.Is(err, net.ErrClosed) {
				return true, fmt.Errorf("dns: udp: %w", err)
			}
			s.log.Debug("udp read failed", "err", err)
			continue
		}
		if b.errno != 0 {
			if ctx.Err() != nil {
				return true, nil
			}
			s.log.Debug("udp read failed", "err", b.errno)
			continue
		}
		b.nout, b.sent = 0, 0
		for i := range b.n {
			raw := b.bufs[i][:b.in[i].Len]
			q.out = b.outs[b.nout][:0]
			var resp []byte
			if b.in[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
				// Longer than any query: unreadable past the header.
				if resp = rawReply(raw, dns.RcodeFormatError, q.out); resp == nil {
					s.metrics.byDropped[transportUDP].Inc() // a response
				} else {
					s.metrics.count(transportUDP, dns.RcodeFormatError, false, nil)
				}
			} else {
				resp = s.handle(raw, b.client(i).Addr(), transportUDP, q)
			}
			if cap(q.out) > cap(b.outs[b.nout]) {
				b.outs[b.nout] = q.out[:0] // handle grew the buffer: keep it
			}
			if resp == nil {
				continue
			}
			o := &b.out[b.nout]
			o.Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
			o.Hdr.Namelen = b.in[i].Hdr.Namelen
			b.outIov[b.nout].Base = unsafe.SliceData(resp)
			b.outIov[b.nout].SetLen(len(resp))
			b.outTo[b.nout] = i
			b.nout++
		}
		for b.sent < b.nout {
			if err := b.rc.Write(b.sendFn); err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					s.log.Debug("udp write failed", "err", err)
				}
				break
			}
			if b.errno != 0 {
				// The first reply left cannot be sent (the kernel reports an error
				// only when it sent none): skip it.
				if ctx.Err() == nil {
					s.log.Debug("udp write failed", "client", b.client(b.outTo[b.sent]), "err", b.errno)
				}
				b.sent++
				continue
			}
			b.sent += b.n
		}
	}
}
