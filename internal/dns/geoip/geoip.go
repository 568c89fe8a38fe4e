package geoip

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Location is where the database puts a client.
type Location struct {
	// Continent is one of AF AN AS EU OC NA SA: Route 53's continent for Country when the
	// country is known (Route 53 keeps its own list: TR is in AS, CY in EU), else the
	// database's continent.code.
	Continent string
	// Country is an ISO 3166-1 alpha-2 code, "" when unknown.
	Country string
	// Subdivision is the ISO 3166-2 code of the most general subdivision without the
	// country ("VA" for Virginia), "" when unknown.
	Subdivision string
	// Lat and Lon are decimal degrees, valid when HasCoords.
	Lat, Lon  float64
	HasCoords bool
	// Network is the database network the address fell in: every address in it has this
	// location, so its length is the ECS scope an answer that depends on the location may
	// promise. An IPv4 (or IPv4-mapped) address gets an IPv4 network.
	Network netip.Prefix
}

// DB is an open GeoIP database.
type DB struct {
	r *maxminddb.Reader
	// cache keeps decoded records by their offset in the database: many networks share
	// one record, and decoding one (by reflection) is the costliest part of a lookup.
	cache [cacheSlots]atomic.Pointer[cachedRecord]
}

// cacheSlots is the size of the decoded-record cache (a direct-mapped table).
const cacheSlots = 1024

// cachedRecord is a decoded record: its location without the network, or ok false for a
// record that places nobody.
type cachedRecord struct {
	offset uintptr
	loc    Location
	ok     bool
}

// Open opens a MaxMind-format database in the GeoIP2/GeoLite2-City shape: continent.code,
// country.iso_code (else registered_country.iso_code), subdivisions[0].iso_code and
// location.latitude/longitude. A Country-shaped database also works; its locations just
// carry no subdivision and no coordinates.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// Close releases the database. Lookups after Close find nothing.
func (db *DB) Close() error {
	if err := db.r.Close(); err != nil {
		return fmt.Errorf("geoip: close: %w", err)
	}
	return nil
}

// cityRecord is the part of a GeoIP2-City record that routing uses.
type cityRecord struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// Lookup returns the location of addr. It is false when the address maps nowhere: it is in
// no network of the database, its record names neither a continent, a country nor
// coordinates, or the record cannot be read. An IPv4-mapped IPv6 address is looked up as
// the IPv4 address it carries; a zone is ignored.
func (db *DB) Lookup(addr netip.Addr) (Location, bool) {
	if !addr.IsValid() {
		return Location{}, false
	}
	addr = addr.Unmap().WithZone("")
	res := db.r.Lookup(addr)
	if !res.Found() {
		return Location{}, false
	}
	off := res.Offset()
	slot := &db.cache[off%cacheSlots]
	if c := slot.Load(); c != nil && c.offset == off {
		if !c.ok {
			return Location{}, false
		}
		loc := c.loc
		loc.Network = res.Prefix().Masked()
		return loc, true
	}
	loc, ok := decodeRecord(res)
	slot.Store(&cachedRecord{offset: off, loc: loc, ok: ok})
	if !ok {
		return Location{}, false
	}
	loc.Network = res.Prefix().Masked()
	return loc, true
}

// decodeRecord decodes a City record into a location without its network.
func decodeRecord(res maxminddb.Result) (Location, bool) {
	var rec cityRecord
	if err := res.Decode(&rec); err != nil {
		return Location{}, false
	}
	loc := Location{Country: rec.Country.ISOCode}
	if loc.Country == "" {
		loc.Country = rec.RegisteredCountry.ISOCode
	}
	if c, ok := zone.ContinentOf(loc.Country); ok {
		loc.Continent = c
	} else if zone.IsContinent(rec.Continent.Code) {
		loc.Continent = rec.Continent.Code
	}
	if len(rec.Subdivisions) > 0 && loc.Country != "" {
		loc.Subdivision = rec.Subdivisions[0].ISOCode
	}
	if lat, lon := rec.Location.Latitude, rec.Location.Longitude; lat != nil && lon != nil &&
		*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180 {
		loc.Lat, loc.Lon, loc.HasCoords = *lat, *lon, true
	}
	if loc.Continent == "" && loc.Country == "" && !loc.HasCoords {
		return Location{}, false
	}
	return loc, true
}
