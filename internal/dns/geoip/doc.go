// Package geoip locates DNS clients: it reads a MaxMind-format database (.mmdb) in the
// GeoIP2/GeoLite2-City shape and turns an address into the continent, country, US state and
// coordinates that Route 53's geolocation, geoproximity and latency policies route on.
//
// It also writes the small demo database that `polyregion up` and the tests use
// ([WriteDemo]); it covers only the documentation address ranges of RFC 5737 and RFC 3849
// ([DemoRanges]), so no real client is ever located by it.
//
// The package returns errors and never logs; a [DB] is safe for concurrent use.
package geoip
