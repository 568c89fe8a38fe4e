package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/bench/internal/child"
	fleetcfg "github.com/polyregion/polyregion/internal/config"
)

// server is one DNS server under test: a child process listening on 127.0.0.1.
type server struct {
	*child.Process
	addr string // host:port of its UDP listener
}

// start runs cmd with its output in logPath.
func start(name string, cmd *exec.Cmd, logPath string) (*server, error) {
	p, err := child.Start(name, cmd, logPath)
	if err != nil {
		return nil, err
	}
	return &server{Process: p}, nil
}

// port is the server's UDP port.
func (s *server) port() int {
	ap, err := netip.ParseAddrPort(s.addr)
	if err != nil {
		return 0
	}
	return int(ap.Port())
}

// waitReady polls the server until it gives the expected answer to a geolocated query.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	probe := places()[1] // a US state block: its answer needs the zone and the GeoIP data
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		got, err := ask(s.addr, probe.subnets[0])
		switch {
		case err != nil:
			last = err
		case got.answer == probe.want.String():
			return nil
		default:
			last = fmt.Errorf("answer %s, want %s", got.answer, probe.want)
		}
		select {
		case <-s.Done():
			return fmt.Errorf("%s exited (%v) before it was ready:\n%s", s.Name, s.Err(), s.LogTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v (%v):\n%s", s.Name, timeout, last, s.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePort returns a port that is free on 127.0.0.1 for both UDP and TCP. It is free when
// checked; the server binds it a moment later.
func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			t.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both UDP and TCP on 127.0.0.1")
}

// startPolyregion writes a one-region fleet whose configuration declares the zone, runs
// `polyregion init` and then `polyregion serve`, and learns the DNS address from run.json.
func startPolyregion(ctx context.Context, bin, dir, mmdb, cpus string) (*server, error) {
	cfg := fleetcfg.Config{
		Regions: []fleetcfg.Region{{
			Name: "us-east", Lat: 38.9, Lon: -77.4, Zone: "us",
			Listen: fleetcfg.Listen{Peer: "127.0.0.1:0", Control: "127.0.0.1:0", DNS: "127.0.0.1:0"},
		}},
		DNS: fleetcfg.DNS{GeoIP: mmdb, Zones: []fleetcfg.DNSZone{{Name: zoneName}}},
		Log: fleetcfg.Log{Level: "warn", Format: "text"},
	}
	for _, r := range rules {
		rec := fleetcfg.DNSRecord{Name: "www", Type: "A", TTL: ttl, Values: []string{r.answer.String()}, SetIdentifier: r.id}
		switch {
		case r.isDefault():
			rec.GeoLocation = &fleetcfg.DNSGeo{Country: "*"}
		case r.country != "":
			rec.GeoLocation = &fleetcfg.DNSGeo{Country: r.country, Subdivision: r.subdivision}
		default:
			rec.GeoLocation = &fleetcfg.DNSGeo{Continent: r.continent}
		}
		cfg.DNS.Zones[0].Records = append(cfg.DNS.Zones[0].Records, rec)
	}
	b, err := cfg.Marshal()
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(src, b, 0o600); err != nil {
		return nil, err
	}
	fleet := filepath.Join(dir, "fleet")
	if out, err := exec.CommandContext(ctx, bin, "init", "--config", src, "--dir", fleet).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("polyregion init: %w\n%s", err, out)
	}
	s, err := start("polyregion", child.Command(cpus, bin, "serve", "--config", filepath.Join(fleet, "polyregion.yaml"), "--region", "us-east"),
		filepath.Join(dir, "polyregion.log"))
	if err != nil {
		return nil, err
	}
	// serve writes run.json, with the bound addresses, once the region is up.
	runJSON := filepath.Join(fleet, "us-east", "run.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rf struct {
			Endpoints struct {
				DNS string `json:"dns"`
			} `json:"endpoints"`
		}
		if b, err := os.ReadFile(runJSON); err == nil && json.Unmarshal(b, &rf) == nil && rf.Endpoints.DNS != "" {
			s.addr = rf.Endpoints.DNS
			return s, nil
		}
		select {
		case <-s.Done():
			return nil, fmt.Errorf("polyregion exited (%v):\n%s", s.Err(), s.LogTail())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("polyregion wrote no %s in 30s:\n%s", runJSON, s.LogTail())
		}
	}
}

// gdnsdMap is the gdnsd geoip map of rules: continent → country → subdivision, with a
// default at each level (the rule for that place, else the enclosing level's default).
func gdnsdMap() string {
	find := func(continent, country, subdivision string) (string, bool) {
		for _, r := range rules {
			if r.continent == continent && r.country == country && r.subdivision == subdivision {
				return r.id, true
			}
		}
		return "", false
	}
	// distinct lists the distinct values of key over the rules that keep says, in rule order.
	distinct := func(keep func(geoRule) bool, key func(geoRule) string) []string {
		var out []string
		for _, r := range rules {
			if keep(r) && !slices.Contains(out, key(r)) {
				out = append(out, key(r))
			}
		}
		return out
	}
	var b strings.Builder
	def, _ := find("", "", "")
	fmt.Fprintf(&b, "        default => [ %s ]\n", def)
	for _, c := range distinct(func(r geoRule) bool { return !r.isDefault() }, func(r geoRule) string { return r.continent }) {
		cdef := def
		if id, ok := find(c, "", ""); ok {
			cdef = id
		}
		fmt.Fprintf(&b, "        %s => {\n          default => [ %s ]\n", c, cdef)
		for _, cc := range distinct(func(r geoRule) bool { return r.continent == c && r.country != "" }, func(r geoRule) string { return r.country }) {
			ccdef := cdef
			if id, ok := find(c, cc, ""); ok {
				ccdef = id
			}
			fmt.Fprintf(&b, "          %s => {\n            default => [ %s ]\n", cc, ccdef)
			for _, r := range rules {
				if r.continent == c && r.country == cc && r.subdivision != "" {
					fmt.Fprintf(&b, "            %s => [ %s ]\n", r.subdivision, r.id)
				}
			}
			b.WriteString("          }\n")
		}
		b.WriteString("        }\n")
	}
	return b.String()
}

// startGdnsd runs gdnsd in the foreground with plugin_geoip: one map from the demo
// database to one "datacenter" per rule, and a DYNA record for the geolocation name.
func startGdnsd(dir, mmdb, cpus string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "gdnsd")
	if err := os.MkdirAll(filepath.Join(conf, "zones"), 0o755); err != nil {
		return nil, err
	}
	var dcs, dcmap []string
	for _, r := range rules {
		dcs = append(dcs, r.id)
		dcmap = append(dcmap, fmt.Sprintf("        %s => %s", r.id, r.answer))
	}
	cfg := fmt.Sprintf(`options => {
  listen => [ 127.0.0.1:%d ]
  run_dir => %s
  state_dir => %s
}
plugins => { geoip => {
  maps => {
    bench => {
      geoip2_db => %s
      datacenters => [ %s ]
      map => {
%s      }
    }
  }
  resources => {
    www => {
      map => bench
      dcmap => {
%s
      }
    }
  }
}}
`, port, filepath.Join(conf, "run"), filepath.Join(conf, "state"), mmdb, strings.Join(dcs, ", "), gdnsdMap(), strings.Join(dcmap, "\n"))
	zone := fmt.Sprintf(`$TTL %d
@	900	SOA ns1 hostmaster 1 7200 900 1209600 900
@	900	NS ns1
ns1	900	A 127.0.0.1
www	%d	DYNA geoip!www
`, ttl, ttl)
	if err := os.WriteFile(filepath.Join(conf, "config"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(conf, "zones", strings.TrimSuffix(zoneName, ".")), []byte(zone), 0o644); err != nil {
		return nil, err
	}
	bin, err := lookSbin("gdnsd")
	if err != nil {
		return nil, err
	}
	s, err := start("gdnsd", child.Command(cpus, bin, "-c", conf, "start"), filepath.Join(dir, "gdnsd.log"))
	if err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return s, nil
}

// startPowerDNS runs pdns_server in the foreground with the zone in the bind backend and
// the geolocation name as a LUA record, whose country, region and continent functions look
// the client up (its Client Subnet when the query has one) through the geoip backend, which
// serves no zone of its own here: PowerDNS's way to do geolocation routing by rules.
func startPowerDNS(dir, mmdb, cpus string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "pdns")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	zoneFile := filepath.Join(conf, "bench.zone")
	zone := fmt.Sprintf("$ORIGIN %s\n$TTL %d\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 900\n@ IN NS ns1\nns1 IN A 127.0.0.1\n%s IN LUA A \"%s\"\n",
		zoneName, ttl, strings.TrimSuffix(geoName, "."+zoneName), pdnsLua())
	namedConf := filepath.Join(conf, "named.conf")
	named := fmt.Sprintf("zone \"%s\" { type master; file \"%s\"; };\n", strings.TrimSuffix(zoneName, "."), zoneFile)
	geoZones := filepath.Join(conf, "geo-zones.yaml")
	for path, body := range map[string]string{zoneFile: zone, namedConf: named, geoZones: "domains: []\n"} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return runPowerDNS("PowerDNS", dir, conf, cpus, port,
		"launch=bind,geoip",
		"bind-config="+namedConf,
		"geoip-zones-file="+geoZones,
		"geoip-database-files=mmdb:"+mmdb,
		"enable-lua-records=yes")
}

// startPowerDNSGeoIP runs pdns_server in the foreground with the geoip backend alone: a zones file
// with one record name per rule and a service for the geolocation name that tries, in
// order, the client's US state, country, continent and the default.
func startPowerDNSGeoIP(dir, mmdb, cpus string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "pdns-geoip")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	apex := strings.TrimSuffix(zoneName, ".")
	www := strings.TrimSuffix(geoName, ".")
	var b strings.Builder
	fmt.Fprintf(&b, "domains:\n- domain: %s\n  ttl: %d\n  records:\n", apex, ttl)
	fmt.Fprintf(&b, "    %s:\n      - soa: ns1.%s hostmaster.%s 1 7200 900 1209600 900\n      - ns: ns1.%s\n", apex, apex, apex, apex)
	fmt.Fprintf(&b, "    ns1.%s:\n      - a: 127.0.0.1\n", apex)
	for _, r := range rules {
		fmt.Fprintf(&b, "    %s.%s:\n      - a: %s\n", pdnsLabel(r), www, r.answer)
	}
	// The geoip backend lower-cases what it looks up and expands a missing field to
	// "unknown", so a name that does not exist falls through to the next.
	fmt.Fprintf(&b, "  services:\n    %s: [ 'sub-%%cc-%%re.%s', 'cc-%%cc.%s', 'cn-%%cn.%s', 'default.%s' ]\n", www, www, www, www, www)
	zones := filepath.Join(conf, "zones.yaml")
	if err := os.WriteFile(zones, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return runPowerDNS("PowerDNS-geoip", dir, conf, cpus, port,
		"launch=geoip",
		"geoip-zones-file="+zones,
		"geoip-database-files=mmdb:"+mmdb)
}

// runPowerDNS writes conf/pdns.conf — the backend settings given, then those every
// configuration here shares — and runs pdns_server with it in the foreground on port, its
// output in dir/<conf's name>.log.
func runPowerDNS(name, dir, conf, cpus string, port int, backend ...string) (*server, error) {
	cfg := strings.Join(append(backend,
		"edns-subnet-processing=yes",
		"local-address=127.0.0.1",
		fmt.Sprintf("local-port=%d", port),
		"daemon=no",
		"guardian=no",
		"disable-syslog=yes",
		"socket-dir="+conf,
		"write-pid=no",
		// No security-status lookup: it would query the Internet's DNS.
		"security-poll-suffix=",
		"loglevel=4",
	), "\n") + "\n"
	if err := os.WriteFile(filepath.Join(conf, "pdns.conf"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	bin, err := lookSbin("pdns_server")
	if err != nil {
		return nil, err
	}
	s, err := start(name, child.Command(cpus, bin, "--config-dir="+conf), filepath.Join(dir, filepath.Base(conf)+".log"))
	if err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return s, nil
}

// pdnsLua is the LUA record's program: the rules, most specific first, as one if-chain.
func pdnsLua() string {
	var b strings.Builder
	b.WriteString(";")
	for i, r := range rules {
		var cond string
		switch {
		case r.isDefault():
			fmt.Fprintf(&b, " else return '%s' end", r.answer)
			continue
		case r.subdivision != "":
			cond = fmt.Sprintf("country('%s') and region('%s')", r.country, r.subdivision)
		case r.country != "":
			cond = fmt.Sprintf("country('%s')", r.country)
		default:
			cond = fmt.Sprintf("continent('%s')", r.continent)
		}
		kw := "elseif"
		if i == 0 {
			kw = "if"
		}
		fmt.Fprintf(&b, " %s %s then return '%s'", kw, cond, r.answer)
	}
	return b.String()
}

// pdnsLabel is the record name (below www) that holds a rule's answer in the PowerDNS zone.
func pdnsLabel(r geoRule) string {
	switch {
	case r.isDefault():
		return "default"
	case r.subdivision != "":
		return strings.ToLower("sub-" + r.country + "-" + r.subdivision)
	case r.country != "":
		return strings.ToLower("cc-" + r.country)
	default:
		return strings.ToLower("cn-" + r.continent)
	}
}

// lookSbin finds a daemon in PATH or /usr/sbin (not in the PATH of every user).
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run bench/dns/run.sh, which installs it", name)
}

// reply is what a server answered, reduced to what the three must agree on.
type reply struct {
	rcode  string
	answer string // the A records of the answer section, sorted, comma-separated; "-" if none
	ttl    uint32
	aa     bool
}

func (r reply) String() string {
	aa := ""
	if !r.aa {
		aa = " (no AA)"
	}
	return fmt.Sprintf("%s %s ttl=%d%s", r.rcode, r.answer, r.ttl, aa)
}

// ask sends the mix's query for subnet (invalid: no ECS option) over UDP.
func ask(addr string, subnet netip.Prefix) (reply, error) {
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	m := newQuery(subnet)
	m.Id = dns.Id()
	in, _, err := c.Exchange(m, addr)
	if err != nil {
		return reply{}, err
	}
	var as []string
	var r reply
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			as = append(as, a.A.String())
			r.ttl = a.Hdr.Ttl
		}
	}
	r.rcode = dns.RcodeToString[in.Rcode]
	r.aa = in.Authoritative
	r.answer = "-"
	if len(as) > 0 {
		slices.Sort(as)
		r.answer = strings.Join(as, ",")
	}
	return r, nil
}
