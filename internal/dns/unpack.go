package dns

import (
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"
)

// queryStore is where unpackQuery puts a query: reused from one query to the next, so that
// reading the usual query allocates nothing.
type queryStore struct {
	question [1]dns.Question
	extra    [1]dns.RR
	opt      dns.OPT
	options  [1]dns.EDNS0
	ecs      dns.EDNS0_SUBNET
	addr     [16]byte
	// The last name read, in wire and presentation form: the next query for the same name
	// reuses the string.
	nameWire []byte
	name     string
}

// unpackQuery reads the usual query into m: a header with one question and no records but
// an optional OPT record, the question's name uncompressed and made of letters, digits,
// '-', '_' and '*', and the OPT record's options, if any, valid Client Subnet options
// (a known family, prefixes that fit it, exactly the address bytes the source prefix
// needs). It reports false, leaving m in an unspecified state, for anything else, which
// the caller unpacks with miekg/dns. What it reads is what (*dns.Msg).Unpack would read;
// FuzzAnswer checks that.
func unpackQuery(raw []byte, m *dns.Msg, st *queryStore) bool {
	if len(raw) < 12+1+4 {
		return false
	}
	bits := binary.BigEndian.Uint16(raw[2:])
	if binary.BigEndian.Uint16(raw[4:]) != 1 || binary.BigEndian.Uint16(raw[6:]) != 0 ||
		binary.BigEndian.Uint16(raw[8:]) != 0 {
		return false
	}
	arcount := binary.BigEndian.Uint16(raw[10:])
	if arcount > 1 {
		return false
	}
	// The question.
	off := 12
	for {
		if off >= len(raw) {
			return false
		}
		c := int(raw[off])
		if c == 0 {
			off++
			break
		}
		if c > 63 || off+1+c > len(raw) {
			return false
		}
		for _, b := range raw[off+1 : off+1+c] {
			if !plainLabelByte(b) {
				return false
			}
		}
		off += 1 + c
	}
	wire := raw[12:off]
	// Presentation form: one byte per wire byte but the first length byte, and the root
	// name is "."; a name over 255 octets is an error (miekg/dns).
	if len(wire) > 255 || off+4 > len(raw) {
		return false
	}
	if string(wire) != string(st.nameWire) || st.name == "" {
		st.nameWire = append(st.nameWire[:0], wire...)
		st.name = presentName(wire)
	}
	st.question[0] = dns.Question{
		Name:   st.name,
		Qtype:  binary.BigEndian.Uint16(raw[off:]),
		Qclass: binary.BigEndian.Uint16(raw[off+2:]),
	}
	off += 4

	*m = dns.Msg{
		MsgHdr: dns.MsgHdr{
			Id:                 binary.BigEndian.Uint16(raw),
			Response:           bits&(1<<15) != 0,
			Opcode:             int(bits>>11) & 0xF,
			Authoritative:      bits&(1<<10) != 0,
			Truncated:          bits&(1<<9) != 0,
			RecursionDesired:   bits&(1<<8) != 0,
			RecursionAvailable: bits&(1<<7) != 0,
			Zero:               bits&(1<<6) != 0,
			AuthenticatedData:  bits&(1<<5) != 0,
			CheckingDisabled:   bits&(1<<4) != 0,
			Rcode:              int(bits & 0xF),
		},
		Question: st.question[:],
	}
	if arcount == 0 {
		return off == len(raw)
	}

	// The OPT record: the root name, type, class, TTL, RDLENGTH, options.
	if off+11 > len(raw) || raw[off] != 0 || binary.BigEndian.Uint16(raw[off+1:]) != dns.TypeOPT {
		return false
	}
	hdr := dns.RR_Header{
		Name:     ".",
		Rrtype:   dns.TypeOPT,
		Class:    binary.BigEndian.Uint16(raw[off+3:]),
		Ttl:      binary.BigEndian.Uint32(raw[off+5:]),
		Rdlength: binary.BigEndian.Uint16(raw[off+9:]),
	}
	off += 11
	if off+int(hdr.Rdlength) != len(raw) {
		return false
	}
	st.opt = dns.OPT{Hdr: hdr}
	if hdr.Rdlength > 0 {
		// One option, a valid Client Subnet one.
		o := raw[off:]
		if len(o) < 8 || binary.BigEndian.Uint16(o) != dns.EDNS0SUBNET {
			return false
		}
		n := int(binary.BigEndian.Uint16(o[2:]))
		family, source, scope := binary.BigEndian.Uint16(o[4:]), o[6], o[7]
		maxBits := 0
		switch family {
		case 1:
			maxBits = 32
		case 2:
			maxBits = 128
		default:
			return false
		}
		if int(source) > maxBits || int(scope) > maxBits || n != 4+(int(source)+7)/8 || 4+n != len(o) {
			return false
		}
		st.addr = [16]byte{}
		addr := st.addr[:]
		if family == 1 {
			// miekg/dns gives an IPv4 address in its 16-byte form.
			st.addr[10], st.addr[11] = 0xff, 0xff
			copy(addr[12:], o[8:])
		} else {
			copy(addr, o[8:])
		}
		st.ecs = dns.EDNS0_SUBNET{ // Code left 0, as miekg/dns leaves it
			Family:        family,
			SourceNetmask: source,
			SourceScope:   scope,
			Address:       addr,
		}
		st.options[0] = &st.ecs
		st.opt.Option = st.options[:]
	}
	st.extra[0] = &st.opt
	m.Extra = st.extra[:]
	m.Rcode |= st.opt.ExtendedRcode()
	return true
}

// plainLabelByte reports whether b stands for itself in a name's presentation form.
func plainLabelByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '*'
}

// presentName is the presentation form of an uncompressed wire name of plain labels.
func presentName(wire []byte) string {
	if len(wire) == 1 {
		return "."
	}
	var b strings.Builder
	b.Grow(len(wire) - 1)
	for off := 0; wire[off] != 0; off += 1 + int(wire[off]) {
		b.Write(wire[off+1 : off+1+int(wire[off])])
		b.WriteByte('.')
	}
	return b.String()
}
