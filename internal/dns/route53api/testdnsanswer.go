package route53api

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// testDNSAnswer answers TestDNSAnswer through the Answerer: the records polyregion's DNS
// server would answer for the name and type, asked by resolverip with the EDNS Client
// Subnet edns0clientsubnetip/edns0clientsubnetmask (default mask: 24 for IPv4, 64 for IPv6).
func (a *api) testDNSAnswer(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	if a.opts.Answerer == nil {
		return errorf(http.StatusNotImplemented, "NotImplemented", "TestDNSAnswer is not available in this region")
	}
	q := r.URL.Query()
	zoneID := bareID(q.Get("hostedzoneid"))
	if zoneID == "" || q.Get("recordname") == "" || q.Get("recordtype") == "" {
		return invalidInput("hostedzoneid, recordname and recordtype are required")
	}
	z, _, err := hostedZone(a.opts.Store.State(), zoneID)
	if err != nil {
		return err
	}
	name := zone.CanonicalName(unescapeName(q.Get("recordname")))
	if !strings.HasSuffix(name, "."+z.Name) && name != z.Name {
		return invalidInput("%s is not in hosted zone %s", name, z.Name)
	}
	typ := strings.ToUpper(q.Get("recordtype"))
	qtype, ok := dns.StringToType[typ]
	if !ok {
		return invalidInput("recordtype %q is not a DNS type", typ)
	}
	var resolver netip.Addr
	if s := q.Get("resolverip"); s != "" {
		if resolver, err = netip.ParseAddr(s); err != nil {
			return invalidInput("resolverip %q is not an IP address", s)
		}
	}
	var ecs netip.Prefix
	if s := q.Get("edns0clientsubnetip"); s != "" {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return invalidInput("edns0clientsubnetip %q is not an IP address", s)
		}
		bits := 24
		if addr.Is6() {
			bits = 64
		}
		if m := q.Get("edns0clientsubnetmask"); m != "" {
			if bits, err = strconv.Atoi(m); err != nil || bits < 0 || bits > addr.BitLen() {
				return invalidInput("edns0clientsubnetmask %q is not a prefix length for %s", m, s)
			}
		}
		ecs = netip.PrefixFrom(addr, bits).Masked()
	} else if q.Get("edns0clientsubnetmask") != "" {
		return invalidInput("edns0clientsubnetmask needs edns0clientsubnetip")
	}
	msg, err := a.opts.Answerer.TestAnswer(r.Context(), name, qtype, resolver, ecs)
	if err != nil {
		return err
	}
	resp := testDNSAnswerResponse{Xmlns: Namespace, Nameserver: "localhost", RecordName: escapeName(name), RecordType: typ,
		ResponseCode: dns.RcodeToString[msg.Rcode], Protocol: "UDP"}
	if ns := a.opts.NameServers(z.Name); len(ns) > 0 {
		resp.Nameserver = strings.TrimSuffix(ns[0], ".")
	}
	for _, rr := range msg.Answer {
		if rr.Header().Rrtype != qtype && rr.Header().Rrtype != dns.TypeCNAME {
			continue
		}
		hdr := rr.Header().String()
		resp.RecordData = append(resp.RecordData, strings.TrimSpace(strings.TrimPrefix(rr.String(), hdr)))
	}
	return writeXML(w, rc, http.StatusOK, resp)
}
