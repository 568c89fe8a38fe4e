package dns

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// ednsInfo is what a query's OPT record asks for.
type ednsInfo struct {
	present bool
	size    uint16 // the client's UDP payload size
	do      bool
	ecs     *dns.EDNS0_SUBNET // the query's Client Subnet option, valid when set
}

// parseEDNS reads the query's OPT record. rcode is FORMERR for a malformed OPT record or
// Client Subnet option, BADVERS for an EDNS version other than 0, and 0 otherwise.
func parseEDNS(req *dns.Msg) (e ednsInfo, rcode int) {
	for _, rr := range req.Extra {
		opt, ok := rr.(*dns.OPT)
		if !ok || opt == nil {
			continue
		}
		if e.present { // RFC 6891 §6.1.1: more than one OPT
			return e, dns.RcodeFormatError
		}
		e.present = true
		e.size, e.do = opt.UDPSize(), opt.Do()
		if opt.Hdr.Name != "." {
			return e, dns.RcodeFormatError
		}
		if opt.Version() != 0 {
			return e, dns.RcodeBadVers
		}
		for _, o := range opt.Option {
			sub, ok := o.(*dns.EDNS0_SUBNET)
			if !ok {
				continue
			}
			if e.ecs != nil || !validECS(sub) { // RFC 7871 §6, §7.1.1
				return e, dns.RcodeFormatError
			}
			e.ecs = sub
		}
	}
	return e, 0
}

// validECS checks a Client Subnet option of a query (RFC 7871 §6): a known family, a source
// prefix that fits it, and no address bit set beyond the source prefix. FAMILY 0 with
// SOURCE PREFIX-LENGTH 0 and no address is what some clients (dig) send to opt out; it is
// accepted.
func validECS(o *dns.EDNS0_SUBNET) bool {
	var ip net.IP
	switch o.Family {
	case 0:
		return o.SourceNetmask == 0 && (len(o.Address) == 0 || o.Address.IsUnspecified())
	case 1:
		if o.SourceNetmask > 32 {
			return false
		}
		if ip = o.Address.To4(); ip == nil {
			return false
		}
	case 2:
		if o.SourceNetmask > 128 || len(o.Address) != net.IPv6len {
			return false
		}
		ip = o.Address
	default:
		return false
	}
	return zeroBeyond(ip, int(o.SourceNetmask))
}

// zeroBeyond reports whether every bit of ip after the first bits is zero.
func zeroBeyond(ip []byte, bits int) bool {
	for i, b := range ip {
		switch {
		case bits >= (i+1)*8:
		case bits <= i*8:
			if b != 0 {
				return false
			}
		default:
			if b&(0xff>>(bits-i*8)) != 0 {
				return false
			}
		}
	}
	return true
}

// ecsClient is the client a valid Client Subnet option names, and false when it names none
// (SOURCE PREFIX-LENGTH 0: use the resolver's address).
func ecsClient(o *dns.EDNS0_SUBNET) (netip.Prefix, bool) {
	if o == nil || o.SourceNetmask == 0 {
		return netip.Prefix{}, false
	}
	var addr netip.Addr
	if o.Family == 1 {
		addr = netip.AddrFrom4([4]byte(o.Address.To4()))
	} else {
		addr = netip.AddrFrom16([16]byte(o.Address))
	}
	return netip.PrefixFrom(addr, int(o.SourceNetmask)), true
}

// setReplyECS makes r the Client Subnet option of an answer (RFC 7871 §7.2.1): the
// query's FAMILY, SOURCE PREFIX-LENGTH and ADDRESS, and the scope the answer depends on
// (0 when the query's source prefix is 0).
func setReplyECS(r, o *dns.EDNS0_SUBNET, scope int) {
	limit := 0
	switch o.Family {
	case 1:
		limit = 32
	case 2:
		limit = 128
	}
	if o.SourceNetmask == 0 || scope < 0 {
		scope = 0
	}
	*r = dns.EDNS0_SUBNET{
		Code:          dns.EDNS0SUBNET,
		Family:        o.Family,
		SourceNetmask: o.SourceNetmask,
		SourceScope:   uint8(min(scope, limit)),
		Address:       o.Address,
	}
	if o.Family == 0 {
		r.Address = nil
	}
}

// setOPT makes opt the OPT record of an answer to an EDNS query.
func setOPT(opt *dns.OPT, do bool) {
	*opt = dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: advertisedUDPSize}}
	if do {
		opt.SetDo()
	}
}

// ecsLengthsOK reports whether every Client Subnet option of a query that unpacked cleanly
// carries exactly the address bytes its source prefix needs (RFC 7871 §6: "ADDRESS ... MUST
// be truncated to the number of bits indicated by the SOURCE PREFIX-LENGTH field"). The
// unpacked form cannot show this: it pads or cuts the address to the family's length.
func ecsLengthsOK(raw []byte) bool {
	if len(raw) < 12 {
		return false
	}
	off := 12
	qd := int(binary.BigEndian.Uint16(raw[4:]))
	rrs := int(binary.BigEndian.Uint16(raw[6:])) + int(binary.BigEndian.Uint16(raw[8:])) + int(binary.BigEndian.Uint16(raw[10:]))
	for range qd {
		if off = skipName(raw, off); off < 0 || off+4 > len(raw) {
			return off == len(raw) // the counts overstate: the unpacker stops here too
		}
		off += 4
	}
	for range rrs {
		if off == len(raw) {
			return true
		}
		if off = skipName(raw, off); off < 0 || off+10 > len(raw) {
			return false
		}
		rtype := binary.BigEndian.Uint16(raw[off:])
		rdlen := int(binary.BigEndian.Uint16(raw[off+8:]))
		off += 10
		if off+rdlen > len(raw) {
			return false
		}
		if rtype == dns.TypeOPT && !ecsOptionLengthsOK(raw[off:off+rdlen]) {
			return false
		}
		off += rdlen
	}
	return true
}

func ecsOptionLengthsOK(rdata []byte) bool {
	for p := 0; p+4 <= len(rdata); {
		code := binary.BigEndian.Uint16(rdata[p:])
		n := int(binary.BigEndian.Uint16(rdata[p+2:]))
		if p+4+n > len(rdata) {
			return false
		}
		if code == dns.EDNS0SUBNET {
			if n < 4 {
				return false
			}
			source := int(rdata[p+6])
			if n != 4+(source+7)/8 {
				return false
			}
		}
		p += 4 + n
	}
	return true
}

// skipName returns the offset just after the domain name at off, or -1.
func skipName(msg []byte, off int) int {
	for {
		if off >= len(msg) {
			return -1
		}
		c := int(msg[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				return off + 1
			}
			off += 1 + c
		case 0xC0:
			if off+2 > len(msg) {
				return -1
			}
			return off + 2
		default:
			return -1
		}
	}
}

// rawReply writes to out an answer with rcode to a query that cannot be unpacked
// (FORMERR) or whose answer failed (SERVFAIL): the query's id, opcode, RD and CD, and its
// first question when that is a plain name. It returns nil when raw has no header or is
// itself a response: those get no answer.
func rawReply(raw []byte, rcode int, out []byte) []byte {
	if len(raw) < 12 || raw[2]&0x80 != 0 {
		return nil
	}
	question := []byte(nil)
	if binary.BigEndian.Uint16(raw[4:]) > 0 {
		if end := plainNameEnd(raw, 12); end > 0 && end+4 <= len(raw) {
			question = raw[12 : end+4]
		}
	}
	out = append(out[:0],
		raw[0], raw[1],
		0x80|raw[2]&0x79,            // QR, opcode, RD
		raw[3]&0x10|byte(rcode&0xF), // CD, RCODE
		0, 0, 0, 0, 0, 0, 0, 0)
	if question != nil {
		out[5] = 1
		out = append(out, question...)
	}
	return out
}

// plainNameEnd returns the offset after an uncompressed domain name at off, or -1.
func plainNameEnd(msg []byte, off int) int {
	start := off
	for off < len(msg) {
		c := int(msg[off])
		if c == 0 {
			return off + 1
		}
		if c > 63 || off+1+c-start > 254 {
			return -1
		}
		off += 1 + c
	}
	return -1
}
