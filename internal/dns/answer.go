package dns

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/policy"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Bounds that keep one answer's work finite whatever the data.
const (
	// maxCNAMEHops is how many CNAMEs an answer follows inside the served zones.
	maxCNAMEHops = 8
	// maxAliasDepth is how deeply aliases to aliases are followed.
	maxAliasDepth = 8
	// aliasBudget is how many alias expansions one answer may make in all.
	aliasBudget = 64
	// maxHealthMemo is how many aliases one answer may evaluate the target health of.
	maxHealthMemo = 256
	// anyTTL is the TTL of the HINFO record that answers ANY queries (RFC 8482).
	anyTTL = 3600
)

// Answer answers one query as the server would over UDP (tcp false) or TCP from the client
// at address client (the resolver; a Client Subnet option in req takes precedence as RFC
// 7871 says). It is the whole answer logic: the transports call it, and so does the Route
// 53 API's TestDNSAnswer. The reply always packs; a panic inside is recovered and answered
// SERVFAIL.
func (s *Server) Answer(req *dns.Msg, client netip.Addr, tcp bool) *dns.Msg {
	q := s.queries.Get().(*query)
	defer s.queries.Put(q)
	return s.answer(req, client, tcp, q)
}

// TestAnswer answers what a resolver at address resolver gets for name and qtype, with a
// Client Subnet option for ecs when it is valid: the Route 53 API's TestDNSAnswer. The query
// carries EDNS (a 4096-byte buffer) and is answered as over TCP, so that no answer is
// truncated; whenever the answer fits a UDP one, the two are the same.
func (s *Server) TestAnswer(ctx context.Context, name string, qtype uint16, resolver netip.Addr, ecs netip.Prefix) (*dns.Msg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name = dns.Fqdn(name)
	if !validName(name) {
		return nil, fmt.Errorf("dns: invalid name %q", name)
	}
	req := new(dns.Msg)
	req.SetQuestion(name, qtype)
	req.SetEdns0(maxUDPSize, false)
	if ecs.IsValid() {
		ecs = ecs.Masked()
		o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(ecs.Bits()), Address: ecs.Addr().AsSlice()}
		if ecs.Addr().Is6() {
			o.Family = 2
		}
		opt := req.IsEdns0()
		opt.Option = append(opt.Option, o)
	}
	return s.Answer(req, resolver, true), nil
}

// outcome is what looking a name up in a zone found.
type outcome int

const (
	found    outcome = iota // records of the type (in the answer)
	aliased                 // a CNAME (in the answer) whose target is to be followed
	nodata                  // the name exists without records of the type
	nxdomain                // the name does not exist
	referral                // the name is at or below a delegation point
)

// step is the result of one lookup.
type step struct {
	kind   outcome
	target string   // aliased: the CNAME's target
	extra  []dns.RR // records for the additional section (shared: append, never write)
	ns     []dns.RR // referral: the delegation's NS records
}

// emptyNode stands for a name that exists without stored records.
var emptyNode node

// query is the state of one answer. Queries are pooled; reset readies one for reuse.
type query struct {
	s   *Server
	v   *view
	env policy.Env

	loc     geoip.Location
	located bool // the GeoIP lookup was made
	lat     map[string]time.Duration
	latDone bool // the latency table was consulted

	scope    int                 // the most specific scope any choice depended on
	policies [numPolicies]uint16 // choices made, by policy, for metrics

	budget  int               // alias expansions left
	aliases []*zone.RecordSet // aliases being expanded: the loop guard
	memo    []healthMemo      // target health of aliases evaluated so far
	chain   []string          // names a CNAME chain went through
	req     dns.Msg           // a transport's request, unpacked in place
	store   queryStore        // what unpackQuery reads req into
	reply   replyBuf          // a transport's reply, packed and dropped
	out     []byte            // a transport's reply buffer
	glue    []dns.RR          // scratch for referral glue
}

type healthMemo struct {
	rs      *zone.RecordSet
	done    bool // false while being evaluated: a loop
	healthy bool
}

func newQuery(s *Server) *query {
	q := &query{s: s}
	q.env = policy.Env{
		Region:            s.opts.Region,
		Healthy:           q.healthy,
		Latency:           q.latency,
		RegionCoordinates: s.regionCoordinates,
		Cidrs:             q.cidrs,
		Rand:              randN,
	}
	return q
}

func (q *query) reset(v *view) {
	q.v = v
	q.env.Client = policy.Client{}
	q.env.LatencyNetwork = netip.Prefix{}
	q.located, q.latDone, q.lat = false, false, nil
	q.scope = 0
	q.policies = [numPolicies]uint16{}
	q.budget = aliasBudget
	q.aliases, q.memo, q.chain = q.aliases[:0], q.memo[:0], q.chain[:0]
}

// answer is Answer with a query state the caller owns (the transports keep one each).
func (s *Server) answer(req *dns.Msg, client netip.Addr, tcp bool, q *query) *dns.Msg {
	reply, limit := s.answerUntruncated(req, client, tcp, q, new(replyBuf))
	if limit > 0 {
		truncate(reply, limit)
	}
	return reply
}

// answerUntruncated is answer without the truncation, and the size limit the reply must be
// truncated to (0: none). The transport path packs first and truncates only the rare reply
// that does not fit, which spares measuring every reply. The reply is built in rb, which
// must be zero.
func (s *Server) answerUntruncated(req *dns.Msg, client netip.Addr, tcp bool, q *query, rb *replyBuf) (reply *dns.Msg, limit int) {
	q.reset(s.view.Load())
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			s.log.Error("panic while answering a query; answered SERVFAIL", "panic", r, "stack", string(debug.Stack()))
			reply, limit = failure(req, dns.RcodeServerFailure), 0
		}
		// Keep nothing of this answer's snapshot alive in a pooled query.
		q.v, q.lat, q.env.Client.Location = nil, nil, nil
		clear(q.aliases[:cap(q.aliases)])
		clear(q.memo[:cap(q.memo)])
		clear(q.chain[:cap(q.chain)])
		clear(q.glue[:cap(q.glue)])
	}()

	if req == nil || req.Response {
		return failure(req, dns.RcodeFormatError), 0
	}
	reply = &rb.msg
	reply.Id = req.Id
	reply.Response = true
	reply.Opcode = req.Opcode
	reply.RecursionDesired = req.RecursionDesired
	reply.CheckingDisabled = req.CheckingDisabled
	reply.Compress = true
	if req.Opcode != dns.OpcodeQuery {
		if len(req.Question) == 1 && validName(req.Question[0].Name) {
			reply.Question = []dns.Question{req.Question[0]}
		}
		reply.Rcode = dns.RcodeNotImplemented
		return reply, 0
	}
	if len(req.Question) != 1 || !validName(req.Question[0].Name) {
		reply.Rcode = dns.RcodeFormatError
		return reply, 0
	}
	rb.question[0] = req.Question[0]
	reply.Question = rb.question[:]
	reply.Answer, reply.Ns, reply.Extra = rb.answer[:0], rb.ns[:0], rb.extra[:0]

	e, rcode := parseEDNS(req)
	var opt *dns.OPT
	if e.present {
		opt = &rb.opt
		setOPT(opt, e.do)
	}
	limit = dns.MinMsgSize
	switch {
	case tcp:
		limit = dns.MaxMsgSize
	case e.present:
		limit = min(max(int(e.size), dns.MinMsgSize), maxUDPSize)
	}
	if rcode != 0 {
		reply.Rcode = rcode
		if opt != nil {
			reply.Extra = append(reply.Extra, opt)
		}
		return reply, 0
	}

	// The client: the Client Subnet option's address when it gives one, else the resolver.
	if p, ok := ecsClient(e.ecs); ok {
		q.env.Client = policy.Client{Addr: p.Addr(), Prefix: p}
	} else if client.IsValid() {
		client = client.Unmap()
		q.env.Client = policy.Client{Addr: client, Prefix: netip.PrefixFrom(client, client.BitLen())}
	}

	s.resolve(reply, q)

	if opt != nil {
		if e.ecs != nil {
			setReplyECS(&rb.ecs, e.ecs, q.scope)
			opt.Option = append(rb.options[:0], &rb.ecs)
		}
		reply.Extra = append(reply.Extra, opt)
	}
	return reply, limit
}

// replyBuf holds an answer and room for what most answers hold, so that building one costs
// one allocation.
type replyBuf struct {
	msg      dns.Msg
	question [1]dns.Question
	answer   [4]dns.RR
	ns       [1]dns.RR
	extra    [4]dns.RR
	opt      dns.OPT
	options  [1]dns.EDNS0
	ecs      dns.EDNS0_SUBNET
}

// resolve fills in the answer to a well-formed query.
func (s *Server) resolve(reply *dns.Msg, q *query) {
	question := reply.Question[0]
	name := strings.ToLower(question.Name)
	qtype := question.Qtype
	switch {
	case question.Qclass != dns.ClassINET:
		reply.Rcode = dns.RcodeRefused
		return
	case qtype == dns.TypeAXFR || qtype == dns.TypeIXFR || qtype == dns.TypeMAILA || qtype == dns.TypeMAILB ||
		qtype == dns.TypeOPT || qtype == dns.TypeTSIG || qtype == dns.TypeTKEY || qtype == dns.TypeNone:
		reply.Rcode = dns.RcodeRefused // no zone transfers, no meta-queries
		return
	}
	z := q.v.snap.zoneFor(name)
	if z == nil {
		reply.Rcode = dns.RcodeRefused
		return
	}
	reply.Authoritative = true
	for {
		var st step
		reply.Answer, st = q.lookup(z, name, qtype, reply.Answer)
		switch st.kind {
		case found:
			reply.Extra = append(reply.Extra, st.extra...)
			return
		case referral:
			if len(q.chain) == 0 { // a CNAME chain into a delegation just stops
				reply.Authoritative = false
				reply.Ns = append(reply.Ns, st.ns...)
				reply.Extra = append(reply.Extra, st.extra...)
			}
			return
		case nxdomain:
			reply.Rcode = dns.RcodeNameError // RFC 6604: the last name of a chain decides
			fallthrough
		case nodata:
			reply.Ns = append(reply.Ns, q.v.apex[z.idx].negSOA...)
			return
		case aliased:
			q.chain = append(q.chain, name)
			target := strings.ToLower(st.target)
			if len(q.chain) >= maxCNAMEHops || slices.Contains(q.chain, target) {
				return
			}
			if z = q.v.snap.zoneFor(target); z == nil {
				return // out of our zones: the resolver follows it
			}
			name = target
		}
	}
}

// lookup finds name's records of type qtype in zone z, appending to ans what belongs in
// the answer section.
func (q *query) lookup(z *zoneData, name string, qtype uint16, ans []dns.RR) ([]dns.RR, step) {
	a := &q.v.apex[z.idx]
	if z.cuts && name != z.apex {
		if cut := z.cutAbove(name); cut != nil && (cut.name != name || qtype != dns.TypeDS) {
			return ans, q.referral(z, cut)
		}
	}
	if name == z.apex {
		switch qtype {
		case dns.TypeSOA:
			return append(ans, a.soa...), step{kind: found}
		case dns.TypeNS:
			return append(ans, a.ns...), step{kind: found, extra: a.glue}
		}
	}
	glue, isNS := a.byName[name]
	if isNS && (qtype == dns.TypeA || qtype == dns.TypeAAAA) {
		start := len(ans)
		for _, rr := range glue {
			if rr.Header().Rrtype == qtype {
				ans = append(ans, rr)
			}
		}
		if len(ans) > start {
			return ans, step{kind: found}
		}
	}

	n, wild := z.names[name], false
	if n == nil {
		if isNS { // a name server's name exists even without stored records
			n = &emptyNode
		} else if n, wild = z.find(name); n == nil {
			return ans, step{kind: nxdomain}
		}
	}
	if qtype == dns.TypeANY {
		if len(n.groups) == 0 && !isNS && name != z.apex {
			return ans, step{kind: nodata}
		}
		// RFC 8482 §4.2: a synthesized HINFO instead of every record.
		return append(ans, &dns.HINFO{
			Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: anyTTL},
			Cpu: "RFC8482",
		}), step{kind: found}
	}
	g := n.group(qtype)
	kind := found
	if g == nil && qtype != dns.TypeCNAME {
		if g = n.group(dns.TypeCNAME); g != nil {
			kind = aliased
		}
	}
	if g == nil {
		return ans, step{kind: nodata}
	}
	start := len(ans)
	ans, ok := q.records(g, name, wild, ans)
	if !ok {
		return ans, step{kind: nodata}
	}
	if kind == aliased {
		for _, rr := range ans[start:] {
			if c, isCNAME := rr.(*dns.CNAME); isCNAME {
				return ans, step{kind: aliased, target: c.Target}
			}
		}
	}
	return ans, step{kind: found}
}

// referral answers for a name at or below the delegation point cut: its NS records, and
// the addresses of those that lie inside the delegation (glue).
func (q *query) referral(z *zoneData, cut *node) step {
	st := step{kind: referral}
	if g := cut.group(dns.TypeNS); g != nil {
		st.ns, _ = q.records(g, cut.name, false, nil)
	}
	q.glue = q.glue[:0]
	for _, rr := range st.ns {
		ns, ok := rr.(*dns.NS)
		if !ok {
			continue
		}
		target := strings.ToLower(ns.Ns)
		if !dns.IsSubDomain(cut.name, target) {
			continue
		}
		if n := z.names[target]; n != nil {
			for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
				if g := n.group(t); g != nil {
					q.glue, _ = q.records(g, target, false, q.glue)
				}
			}
		}
	}
	st.extra = q.glue
	return st
}

// records appends the records a group answers with for owner: the record sets its policy
// chooses, aliases followed. rename gives the records owner as their name (a wildcard's
// records). ok is false when the policy chose nothing.
func (q *query) records(g *group, owner string, rename bool, dst []dns.RR) (_ []dns.RR, ok bool) {
	start := len(dst)
	if g.only != nil {
		q.policies[g.policyIx]++
		dst = q.appendSet(g.only, owner, rename, dst)
		return dst, len(dst) > start
	}
	res := q.choose(g)
	if res.NoData {
		return dst, false
	}
	for _, rs := range res.Sets {
		sd := q.v.snap.sets[rs]
		if sd == nil || sd.rtype != g.rtype {
			continue
		}
		dst = q.appendSet(sd, owner, rename, dst)
	}
	if len(res.Sets) > 1 {
		dst = dedupe(dst, start)
	}
	return dst, len(dst) > start
}

// choose asks the group's routing policy which record sets answer.
func (q *query) choose(g *group) policy.Result {
	if g.locate {
		q.locate()
	}
	if g.policy == zone.PolicyLatency {
		q.measured()
	}
	res := policy.Select(g.sets, q.env)
	q.policies[g.policyIx]++
	q.scope = max(q.scope, res.Scope)
	return res
}

func (q *query) appendSet(sd *setData, owner string, rename bool, dst []dns.RR) []dns.RR {
	if sd.rs.AliasTarget != nil {
		return q.alias(sd, owner, dst)
	}
	if !rename {
		return append(dst, sd.rrs...)
	}
	for _, rr := range sd.rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		dst = append(dst, c)
	}
	return dst
}

// alias appends the records an alias record set stands for: its target's records of the
// alias's type, as chosen by the target's own policy, under the alias's name and with the
// target's TTL. An alias that leads nowhere (outside the served zones, into a delegation,
// round a loop, past the depth bound) adds nothing.
func (q *query) alias(sd *setData, owner string, dst []dns.RR) []dns.RR {
	tz := sd.targetZone
	if tz == nil || q.budget <= 0 || len(q.aliases) >= maxAliasDepth || slices.Contains(q.aliases, sd.rs) {
		return dst
	}
	q.budget--
	q.aliases = append(q.aliases, sd.rs)
	defer func() { q.aliases = q.aliases[:len(q.aliases)-1] }()

	g, wild := tz.target(sd.targetName, sd.rtype)
	if g == nil {
		return dst
	}
	start := len(dst)
	dst, _ = q.records(g, sd.targetName, wild, dst)
	for i := start; i < len(dst); i++ {
		if dst[i].Header().Name != owner {
			c := dns.Copy(dst[i])
			c.Header().Name = owner
			dst[i] = c
		}
	}
	return dst
}

// healthy is the policies' view of a record set's health: its own health check (a check the
// health view does not know counts as healthy), and, for an alias that evaluates target
// health, that of its target.
func (q *query) healthy(rs *zone.RecordSet) bool {
	if rs.HealthCheckID != "" && q.v.snap.health != nil {
		if ok, known := q.v.snap.health.Healthy(rs.HealthCheckID); known && !ok {
			return false
		}
	}
	if at := rs.AliasTarget; at != nil && at.EvaluateTargetHealth {
		return q.targetHealthy(rs)
	}
	return true
}

// targetHealthy reports whether at least one record set of an alias's target is healthy.
// Each alias is evaluated once per answer; an alias met again while it is being evaluated
// (a loop) is unhealthy.
func (q *query) targetHealthy(rs *zone.RecordSet) bool {
	for _, m := range q.memo {
		if m.rs == rs {
			return m.done && m.healthy
		}
	}
	if len(q.memo) >= maxHealthMemo {
		return false
	}
	i := len(q.memo)
	q.memo = append(q.memo, healthMemo{rs: rs})
	ok := false
	if sd := q.v.snap.sets[rs]; sd != nil && sd.targetZone != nil {
		if g, _ := sd.targetZone.target(sd.targetName, sd.rtype); g != nil {
			for _, t := range g.sets {
				if q.healthy(t) {
					ok = true
					break
				}
			}
		}
	}
	q.memo[i].done, q.memo[i].healthy = true, ok
	return ok
}

// locate looks the client up in the GeoIP database, once per answer.
func (q *query) locate() {
	if q.located {
		return
	}
	q.located = true
	db := q.s.opts.GeoIP
	if db == nil || !q.env.Client.Addr.IsValid() {
		return
	}
	if loc, ok := db.Lookup(q.env.Client.Addr); ok {
		q.loc = loc
		q.env.Client.Location = &q.loc
	}
}

// latency is the client's latency to a region: measured (the latency table), else modelled
// from the client's coordinates.
func (q *query) latency(region string) (time.Duration, bool) {
	q.measured()
	if d, ok := q.lat[region]; ok {
		return d, true
	}
	topo := q.s.opts.Topology
	if topo == nil {
		return 0, false
	}
	q.locate()
	if loc := q.env.Client.Location; loc != nil && loc.HasCoords {
		if _, ok := topo.Region(region); ok {
			return topo.RTTFrom(loc.Lat, loc.Lon, region), true
		}
	}
	return 0, false
}

// measured consults the latency table for the client, once per answer.
func (q *query) measured() {
	if q.latDone {
		return
	}
	q.latDone = true
	if t := q.s.opts.Latency; t != nil && q.env.Client.Addr.IsValid() {
		m, network, ok := t.Lookup(q.env.Client.Addr)
		if ok {
			q.lat = m
		}
		q.env.LatencyNetwork = network
	}
}

func (q *query) cidrs(id string) *policy.CidrIndex { return q.v.snap.cidrs[id] }

func (s *Server) regionCoordinates(region string) (lat, lon float64, ok bool) {
	if s.opts.Topology == nil {
		return 0, 0, false
	}
	r, ok := s.opts.Topology.Region(region)
	return r.Lat, r.Lon, ok
}

// randN is the policies' random source: the runtime's per-thread generator, which needs no
// lock and no seeding.
func randN(n int) int {
	if n <= 0 {
		return 0
	}
	return rand.IntN(n)
}

// cutAbove returns the delegation point highest above or at name, or nil.
func (z *zoneData) cutAbove(name string) *node {
	var cut *node
	for cur := name; cur != z.apex && cur != "."; cur = parentName(cur) {
		if n := z.names[cur]; n != nil && n.cut {
			cut = n
		}
	}
	return cut
}

// find returns the node of name, or the wildcard that covers it (RFC 4592: the "*" child
// of its closest encloser) with wild set, or nil when the name does not exist.
func (z *zoneData) find(name string) (n *node, wild bool) {
	if n := z.names[name]; n != nil {
		return n, false
	}
	for cur := parentName(name); ; cur = parentName(cur) {
		if n := z.names[cur]; n != nil {
			return n.wild, n.wild != nil
		}
		if cur == z.apex || cur == "." {
			return nil, false
		}
	}
}

// target returns the group an alias to name of type rtype stands for, or nil.
func (z *zoneData) target(name string, rtype uint16) (*group, bool) {
	if z.cuts && z.cutAbove(name) != nil {
		return nil, false
	}
	n, wild := z.find(name)
	if n == nil {
		return nil, false
	}
	return n.group(rtype), wild
}

// dedupe removes duplicate records from rrs[start:], keeping the first of each.
func dedupe(rrs []dns.RR, start int) []dns.RR {
	out := rrs[:start]
	for _, rr := range rrs[start:] {
		dup := false
		for _, kept := range out[start:] {
			if dns.IsDuplicate(rr, kept) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, rr)
		}
	}
	clear(rrs[len(out):])
	return out
}

// failure is an answer with rcode and nothing else: the query's header and, when it is
// well-formed, its question.
func failure(req *dns.Msg, rcode int) *dns.Msg {
	reply := &dns.Msg{}
	reply.Response = true
	reply.Rcode = rcode
	if req == nil {
		return reply
	}
	reply.Id = req.Id
	reply.Opcode = req.Opcode
	reply.RecursionDesired = req.RecursionDesired
	reply.CheckingDisabled = req.CheckingDisabled
	if len(req.Question) == 1 && validName(req.Question[0].Name) {
		reply.Question = []dns.Question{req.Question[0]}
	}
	return reply
}
