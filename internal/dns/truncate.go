package dns

import (
	"strings"

	"github.com/miekg/dns"
)

// truncate makes reply fit in limit bytes by leaving out whole RRsets, never part of one
// (RFC 2181 §9). Additional records go first, and cost the TC bit only when they are the
// glue a referral needs; then the TC bit is set and answer and authority RRsets go, last
// first. The OPT record always stays. It reports whether it set TC.
func truncate(reply *dns.Msg, limit int) bool {
	if fits(reply, limit) {
		return false
	}
	var opt dns.RR
	extra := reply.Extra
	if n := len(extra); n > 0 && extra[n-1].Header().Rrtype == dns.TypeOPT {
		opt, extra = extra[n-1], extra[:n-1]
	}
	setExtra := func() {
		reply.Extra = extra
		if opt != nil {
			reply.Extra = append(extra[:len(extra):len(extra)], opt)
		}
	}
	needGlue := !reply.Authoritative && len(reply.Answer) == 0 && len(reply.Ns) > 0
	for len(extra) > 0 {
		extra = extra[:lastRRset(extra)]
		setExtra()
		if needGlue {
			reply.Truncated = true
		}
		if fits(reply, limit) {
			return reply.Truncated
		}
	}
	reply.Truncated = true
	for len(reply.Answer) > 0 {
		reply.Answer = reply.Answer[:lastRRset(reply.Answer)]
		if fits(reply, limit) {
			return true
		}
	}
	for len(reply.Ns) > 0 {
		reply.Ns = reply.Ns[:lastRRset(reply.Ns)]
		if fits(reply, limit) {
			return true
		}
	}
	return true
}

// fits reports whether reply packs into limit bytes. The uncompressed length, which needs
// no compression map, settles most replies.
func fits(reply *dns.Msg, limit int) bool {
	compress := reply.Compress
	reply.Compress = false
	n := reply.Len()
	reply.Compress = compress
	if n <= limit || !compress {
		return n <= limit
	}
	return reply.Len() <= limit
}

// lastRRset returns the index where the last RRset of rrs (its trailing records of one
// name, type and class) starts.
func lastRRset(rrs []dns.RR) int {
	last := rrs[len(rrs)-1].Header()
	i := len(rrs) - 1
	for i > 0 {
		h := rrs[i-1].Header()
		if h.Rrtype != last.Rrtype || h.Class != last.Class || !strings.EqualFold(h.Name, last.Name) {
			break
		}
		i--
	}
	return i
}
