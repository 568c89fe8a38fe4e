package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns"
	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/policy"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
)

// dnsIndexPath is where a region tells the others which control-plane index its DNS serves.
const dnsIndexPath = "/peer/v1/dns/index"

// regionDNS is a region's authoritative DNS server and what feeds it.
type regionDNS struct {
	server *dns.Server
	udp    net.PacketConn
	tcp    net.Listener
	geo    *geoip.DB
}

// openDNS binds the DNS listeners (UDP and TCP on one port) and builds the server.
func (r *Region) openDNS() error {
	addr := r.self.Listen.DNS
	if addr == "" {
		return nil
	}
	d := &regionDNS{}
	var err error
	if d.udp, d.tcp, err = listenUDPAndTCP(addr); err != nil {
		return fmt.Errorf("region %s: dns listener: %w", r.name, err)
	}
	if path := r.cfg.DNS.GeoIP; path != "" {
		if d.geo, err = geoip.Open(path); err != nil {
			d.close()
			return fmt.Errorf("region %s: dns.geoip: %w", r.name, err)
		}
	}
	var table *policy.LatencyTable
	if path := r.cfg.DNS.LatencyTable; path != "" {
		f, err := os.Open(path)
		if err != nil {
			d.close()
			return fmt.Errorf("region %s: dns.latency_table: %w", r.name, err)
		}
		table, err = policy.ParseLatencyTable(f)
		f.Close()
		if err != nil {
			d.close()
			return fmt.Errorf("region %s: dns.latency_table %s: %w", r.name, path, err)
		}
	}
	var ns []dns.NameServer
	for _, reg := range r.cfg.Regions {
		host, _, err := net.SplitHostPort(reg.Listen.DNS)
		if err != nil {
			continue
		}
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
			ns = append(ns, dns.NameServer{Region: reg.Name, Addr: ip})
		}
	}
	d.server = dns.New(dns.Options{
		Region:      r.name,
		NameServers: ns,
		Topology:    r.topo,
		GeoIP:       d.geo,
		Latency:     table,
		Logger:      r.logger.With("component", "dns"),
		Registerer:  r.registry,
	})
	r.dns = d
	r.endpoints.DNS = d.udp.LocalAddr().String()
	return nil
}

func (d *regionDNS) close() {
	if d.udp != nil {
		d.udp.Close()
	}
	if d.tcp != nil {
		d.tcp.Close()
	}
	if d.geo != nil {
		d.geo.Close()
	}
}

// listenUDPAndTCP binds UDP and TCP on the same port; with port 0 it retries until a free
// port is free for both.
func listenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		_, bound, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, bound))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || attempt > 20 {
			return nil, nil, err
		}
	}
}

// runDNS serves DNS and rebuilds its snapshot whenever the control plane or health changes.
func (r *Region) runDNS(ctx context.Context) {
	if r.dns == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.dns.server.Serve(ctx, r.dns.udp, r.dns.tcp); err != nil && !errors.Is(err, net.ErrClosed) {
			r.logger.Error("dns server", "err", err)
		}
	}()
	states := r.control.Watch(ctx)
	healths := r.health.Watch(ctx)
	var st *control.State
	var hs *health.Snapshot
	for st == nil || hs == nil {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case s, ok := <-states:
			if !ok {
				wg.Wait()
				return
			}
			st = s
		case h, ok := <-healths:
			if !ok {
				wg.Wait()
				return
			}
			hs = h
		}
	}
	r.rebuildDNS(st, hs)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			r.dns.close()
			return
		case s, ok := <-states:
			if ok {
				st = s
				r.rebuildDNS(st, hs)
			}
		case h, ok := <-healths:
			if ok {
				hs = h
				if cur := r.dns.server.Snapshot(); cur != nil {
					r.dns.server.Swap(cur.WithHealth(hs))
				} else {
					r.rebuildDNS(st, hs)
				}
			}
		}
	}
}

func (r *Region) rebuildDNS(st *control.State, hs *health.Snapshot) {
	var zones []zone.HostedZone
	for _, res := range st.List(zone.KindHostedZone) {
		var z zone.HostedZone
		if json.Unmarshal(res.Value, &z) == nil {
			zones = append(zones, z)
		}
	}
	sets := map[string][]zone.RecordSet{}
	for _, res := range st.List(zone.KindRecordSet) {
		var rs zone.RecordSet
		if json.Unmarshal(res.Value, &rs) != nil {
			continue
		}
		zoneID, _, _ := strings.Cut(res.ID, "|")
		sets[zoneID] = append(sets[zoneID], rs)
	}
	var cidrs []zone.CidrCollection
	for _, res := range st.List(zone.KindCidrCollection) {
		var c zone.CidrCollection
		if json.Unmarshal(res.Value, &c) == nil {
			cidrs = append(cidrs, c)
		}
	}
	snap, err := dns.NewSnapshot(st.Index(), zones, sets, cidrs, hs)
	if err != nil {
		r.logger.Error("dns: cannot build a snapshot; still serving the previous one", "index", st.Index(), "err", err)
		return
	}
	r.dns.server.Swap(snap)
}

// dnsIndex is the control-plane index this region's DNS serves.
func (r *Region) dnsIndex() uint64 {
	if r.dns == nil {
		return 0
	}
	if s := r.dns.server.Snapshot(); s != nil {
		return s.Index()
	}
	return 0
}

// InSync reports whether every reachable region's DNS serves the control-plane index.
func (r *Region) InSync(ctx context.Context, index uint64) bool {
	if r.dnsIndex() < index {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, p := range r.mesh.status() {
		if !p.Reachable {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, dnsIndexPath, nil)
		if err != nil {
			return false
		}
		resp, err := r.client.Do(req, p.Region)
		if err != nil {
			continue // unreachable now: not counted
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
		resp.Body.Close()
		n, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil || n < index {
			return false
		}
	}
	return true
}

func (r *Region) serveDNSIndex(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, r.dnsIndex())
}
