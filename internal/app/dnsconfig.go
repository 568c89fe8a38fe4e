package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// configZoneID gives a zone declared in the configuration the same id in every region, so
// that regions seeding it at once create it only once.
func configZoneID(name string) string {
	sum := sha256.Sum256([]byte(zone.CanonicalName(name)))
	return "Z" + base32.StdEncoding.EncodeToString(sum[:])[:20]
}

// recordFromConfig turns a configured record into a record set of the zone.
func recordFromConfig(apex string, rec config.DNSRecord) zone.RecordSet {
	name := zone.CanonicalName(rec.Name)
	if !strings.HasSuffix(name, apex) {
		name = zone.CanonicalName(strings.TrimSuffix(rec.Name, ".") + "." + apex)
	}
	rs := zone.RecordSet{
		Name:          name,
		Type:          strings.ToUpper(rec.Type),
		TTL:           rec.TTL,
		Values:        rec.Values,
		SetIdentifier: rec.SetIdentifier,
		HealthCheckID: rec.HealthCheckID,
		Weight:        rec.Weight,
		Region:        rec.Region,
		Failover:      strings.ToUpper(rec.Failover),
	}
	if rs.TTL == 0 && rec.Alias == nil {
		rs.TTL = 60
	}
	if rec.MultiValueAnswer {
		t := true
		rs.MultiValueAnswer = &t
	}
	if g := rec.GeoLocation; g != nil {
		rs.GeoLocation = &zone.GeoLocation{ContinentCode: g.Continent, CountryCode: g.Country, SubdivisionCode: g.Subdivision}
	}
	if p := rec.GeoProximity; p != nil {
		gp := &zone.GeoProximityLocation{AWSRegion: p.Region}
		if p.Lat != nil && p.Lon != nil {
			gp.Coordinates = &zone.Coordinates{Latitude: *p.Lat, Longitude: *p.Lon}
		}
		if p.Bias != 0 {
			b := p.Bias
			gp.Bias = &b
		}
		rs.GeoProximityLocation = gp
	}
	if a := rec.Alias; a != nil {
		rs.AliasTarget = &zone.AliasTarget{DNSName: zone.CanonicalName(a.Target), EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	if c := rec.Cidr; c != nil {
		rs.CidrRoutingConfig = &zone.CidrRoutingConfig{CollectionID: c.Collection, LocationName: c.Location}
	}
	return rs
}

// configZoneOps returns the control-plane changes that make the state hold the zones of the
// configuration: missing zones created, configured record sets upserted where they differ.
func configZoneOps(cfg *config.Config, st *control.State) []control.Op {
	var ops []control.Op
	for _, cz := range cfg.DNS.Zones {
		apex := zone.CanonicalName(cz.Name)
		id := configZoneID(apex)
		if _, ok := st.Get(zone.KindHostedZone, id); !ok {
			v, _ := json.Marshal(zone.HostedZone{ID: id, Name: apex, CallerReference: "polyregion-config-" + apex, FromConfig: true, Comment: "declared in the polyregion configuration"})
			ops = append(ops, control.Op{Kind: zone.KindHostedZone, ID: id, Value: v, Expect: control.ExpectAbsent})
		}
		for _, rec := range cz.Records {
			rs := recordFromConfig(apex, rec)
			if rs.AliasTarget != nil {
				rs.AliasTarget.HostedZoneID = id
			}
			v, _ := json.Marshal(rs)
			rid := zone.RecordSetID(id, &rs)
			if cur, ok := st.Get(zone.KindRecordSet, rid); ok && bytes.Equal(cur.Value, v) {
				continue
			}
			ops = append(ops, control.Op{Kind: zone.KindRecordSet, ID: rid, Value: v})
		}
	}
	return ops
}

// seedConfigZones writes the configuration's zones into the control plane, retrying until a
// write succeeds or nothing is left to write.
func (r *Region) seedConfigZones(ctx context.Context) {
	if len(r.cfg.DNS.Zones) == 0 {
		return
	}
	for {
		ops := configZoneOps(r.cfg, r.control.State())
		if len(ops) == 0 {
			return
		}
		_, err := r.control.Apply(ctx, control.Batch{Ops: ops})
		switch {
		case err == nil:
			r.logger.Info("dns zones from the configuration written to the control plane", "changes", len(ops))
			return
		case errors.Is(err, control.ErrExists):
			// Another region seeded the zone first; look again.
		case errors.Is(err, control.ErrInvalid):
			r.logger.Error("the configuration's dns zones are invalid", "err", err)
			return
		default:
			r.logger.Debug("seeding dns zones: will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
