package dns

import (
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"
)

// packAddressReply packs the usual positive answer into buf without miekg/dns's
// compression map: one question, answer records that are all A or AAAA records owned by
// the question's name, nothing in the authority section and, in the additional section,
// at most the OPT record with at most a Client Subnet option. It gives the bytes
// (*dns.Msg).PackBuffer would give (each owner name a pointer to the question's), or
// false for any other reply, which the caller packs with miekg/dns. FuzzAnswer checks that
// the two agree.
func packAddressReply(reply *dns.Msg, buf []byte) ([]byte, bool) {
	if len(reply.Question) != 1 || len(reply.Ns) != 0 || len(reply.Extra) > 1 ||
		reply.Rcode < 0 || reply.Rcode > 0xF || reply.Opcode < 0 || reply.Opcode > 0xF {
		return nil, false
	}
	var opt *dns.OPT
	if len(reply.Extra) == 1 {
		o, ok := reply.Extra[0].(*dns.OPT)
		if !ok || o.Hdr.Name != "." || len(o.Option) > 1 {
			return nil, false
		}
		opt = o
	}
	q := reply.Question[0]
	b := buf[:0]
	var bits uint16
	for _, f := range [...]struct {
		set bool
		bit uint16
	}{
		{reply.Response, 1 << 15}, {reply.Authoritative, 1 << 10}, {reply.Truncated, 1 << 9},
		{reply.RecursionDesired, 1 << 8}, {reply.RecursionAvailable, 1 << 7}, {reply.Zero, 1 << 6},
		{reply.AuthenticatedData, 1 << 5}, {reply.CheckingDisabled, 1 << 4},
	} {
		if f.set {
			bits |= f.bit
		}
	}
	bits |= uint16(reply.Opcode)<<11 | uint16(reply.Rcode)
	arcount := 0
	if opt != nil {
		arcount = 1
	}
	b = binary.BigEndian.AppendUint16(b, reply.Id)
	b = binary.BigEndian.AppendUint16(b, bits)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(reply.Answer)))
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(arcount))
	b, ok := appendPlainName(b, q.Name)
	if !ok {
		return nil, false
	}
	b = binary.BigEndian.AppendUint16(b, q.Qtype)
	b = binary.BigEndian.AppendUint16(b, q.Qclass)
	for _, rr := range reply.Answer {
		var rdata []byte
		switch rr := rr.(type) {
		case *dns.A:
			rdata = rr.A.To4()
			if rdata == nil || rr.Hdr.Rrtype != dns.TypeA {
				return nil, false
			}
		case *dns.AAAA:
			rdata = rr.AAAA
			if len(rdata) != 16 || rr.Hdr.Rrtype != dns.TypeAAAA {
				return nil, false
			}
		default:
			return nil, false
		}
		h := rr.Header()
		if h.Name != q.Name || q.Name == "." {
			return nil, false
		}
		b = append(b, 0xC0, 12) // the question's name
		b = binary.BigEndian.AppendUint16(b, h.Rrtype)
		b = binary.BigEndian.AppendUint16(b, h.Class)
		b = binary.BigEndian.AppendUint32(b, h.Ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		b = append(b, rdata...)
	}
	if opt == nil {
		return b, true
	}
	opt.SetExtendedRcode(uint16(reply.Rcode)) // as PackBuffer does
	// The OPT record: the root name, TYPE, the advertised size, extended RCODE and flags.
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, dns.TypeOPT)
	b = binary.BigEndian.AppendUint16(b, opt.Hdr.Class)
	b = binary.BigEndian.AppendUint32(b, opt.Hdr.Ttl)
	if len(opt.Option) == 0 {
		return binary.BigEndian.AppendUint16(b, 0), true
	}
	e, ok := opt.Option[0].(*dns.EDNS0_SUBNET)
	if !ok {
		return nil, false
	}
	var addr []byte
	switch e.Family {
	case 1:
		addr = e.Address.To4()
		if addr == nil || e.SourceNetmask > 32 {
			return nil, false
		}
	case 2:
		addr = e.Address
		if len(addr) != 16 || e.SourceNetmask > 128 {
			return nil, false
		}
	default:
		return nil, false
	}
	n := (int(e.SourceNetmask) + 7) / 8
	b = binary.BigEndian.AppendUint16(b, uint16(4+4+n)) // RDLENGTH
	b = binary.BigEndian.AppendUint16(b, dns.EDNS0SUBNET)
	b = binary.BigEndian.AppendUint16(b, uint16(4+n))
	b = binary.BigEndian.AppendUint16(b, e.Family)
	b = append(b, e.SourceNetmask, e.SourceScope)
	for i, a := range addr[:n] {
		if bits := int(e.SourceNetmask) - 8*i; bits < 8 {
			a &= byte(0xFF << (8 - bits)) // the address masked to the source prefix
		}
		b = append(b, a)
	}
	return b, true
}

// appendPlainName appends the wire form of an absolute name of letters, digits, '-', '_'
// and '*' (no escapes), or reports false.
func appendPlainName(b []byte, name string) ([]byte, bool) {
	if name == "." {
		return append(b, 0), true
	}
	if len(name) > 254 || !strings.HasSuffix(name, ".") {
		return nil, false
	}
	for name != "" {
		i := strings.IndexByte(name, '.')
		if i <= 0 || i > 63 {
			return nil, false
		}
		b = append(b, byte(i))
		for j := range i {
			if !plainLabelByte(name[j]) {
				return nil, false
			}
			b = append(b, name[j])
		}
		name = name[i+1:]
	}
	return append(b, 0), true
}
