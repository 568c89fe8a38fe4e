// Package zone is the data model of polyregion's authoritative DNS: hosted zones, record
// sets with their Route 53 routing policies, and CIDR collections. It is shared by the DNS
// server, the routing policies and the Route 53-shaped API, and is what the control plane
// stores (as JSON). Names follow Route 53's API.
package zone

import (
	"strings"
)

// HostedZone is one zone polyregion is authoritative for.
type HostedZone struct {
	ID              string `json:"id"`   // "Z" + 20 upper-case letters and digits, as Route 53's
	Name            string `json:"name"` // FQDN, lower case, trailing dot
	CallerReference string `json:"caller_reference,omitempty"`
	Comment         string `json:"comment,omitempty"`
	// Config marks zones declared in the YAML configuration rather than through the API.
	FromConfig bool `json:"from_config,omitempty"`
}

// Routing policies a record set group may use. A group (all record sets of one name and
// type in one zone) uses exactly one.
type Policy string

// Policies.
const (
	PolicySimple       Policy = "simple"
	PolicyWeighted     Policy = "weighted"
	PolicyLatency      Policy = "latency"
	PolicyFailover     Policy = "failover"
	PolicyGeolocation  Policy = "geolocation"
	PolicyGeoproximity Policy = "geoproximity"
	PolicyMultivalue   Policy = "multivalue"
	PolicyIPBased      Policy = "ip-based"
)

// RecordSet is one Route 53 resource record set.
type RecordSet struct {
	Name string `json:"name"` // FQDN, lower case, trailing dot; "*." prefix for a wildcard
	Type string `json:"type"` // A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA, SPF, NAPTR, DS
	TTL  int64  `json:"ttl"`
	// Values are the records' data in presentation format ("192.0.2.1", "10 mail.example.com.").
	Values      []string     `json:"values,omitempty"`
	AliasTarget *AliasTarget `json:"alias_target,omitempty"`

	SetIdentifier string `json:"set_identifier,omitempty"`
	HealthCheckID string `json:"health_check_id,omitempty"`

	Weight               *int64                `json:"weight,omitempty"` // 0..255
	Region               string                `json:"region,omitempty"` // latency: a polyregion region
	GeoLocation          *GeoLocation          `json:"geo_location,omitempty"`
	GeoProximityLocation *GeoProximityLocation `json:"geo_proximity_location,omitempty"`
	Failover             string                `json:"failover,omitempty"` // PRIMARY or SECONDARY
	MultiValueAnswer     *bool                 `json:"multi_value_answer,omitempty"`
	CidrRoutingConfig    *CidrRoutingConfig    `json:"cidr_routing_config,omitempty"`
}

// AliasTarget points a record set at another record set of a zone polyregion serves.
type AliasTarget struct {
	HostedZoneID         string `json:"hosted_zone_id"`
	DNSName              string `json:"dns_name"`
	EvaluateTargetHealth bool   `json:"evaluate_target_health"`
}

// GeoLocation is where a geolocation record applies: a continent, a country, a US state
// (CountryCode "US" and SubdivisionCode), or the default (CountryCode "*").
type GeoLocation struct {
	ContinentCode   string `json:"continent_code,omitempty"`
	CountryCode     string `json:"country_code,omitempty"`
	SubdivisionCode string `json:"subdivision_code,omitempty"`
}

// GeoProximityLocation is the point a geoproximity record serves from — a polyregion region
// (AWSRegion holds its name) or coordinates — and its bias, −99..99.
type GeoProximityLocation struct {
	AWSRegion   string       `json:"aws_region,omitempty"`
	Coordinates *Coordinates `json:"coordinates,omitempty"`
	Bias        *int32       `json:"bias,omitempty"`
}

// Coordinates are decimal degrees.
type Coordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// CidrRoutingConfig ties an IP-based record to a location of a CIDR collection; "*" is the
// default location.
type CidrRoutingConfig struct {
	CollectionID string `json:"collection_id"`
	LocationName string `json:"location_name"`
}

// CidrCollection is a named set of locations, each a list of CIDR blocks.
type CidrCollection struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Version   int64               `json:"version"`
	Locations map[string][]string `json:"locations"` // location name -> CIDR blocks
}

// Policy returns the routing policy a record set uses.
func (r *RecordSet) Policy() Policy {
	switch {
	case r.Weight != nil:
		return PolicyWeighted
	case r.Region != "":
		return PolicyLatency
	case r.Failover != "":
		return PolicyFailover
	case r.GeoLocation != nil:
		return PolicyGeolocation
	case r.GeoProximityLocation != nil:
		return PolicyGeoproximity
	case r.MultiValueAnswer != nil && *r.MultiValueAnswer:
		return PolicyMultivalue
	case r.CidrRoutingConfig != nil:
		return PolicyIPBased
	}
	return PolicySimple
}

// Key identifies a record set within its zone: name, type and set identifier.
func (r *RecordSet) Key() string {
	return CanonicalName(r.Name) + " " + strings.ToUpper(r.Type) + " " + r.SetIdentifier
}

// CanonicalName lower-cases a domain name and makes it fully qualified.
func CanonicalName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// Kinds under which the DNS data is stored in the control plane. A record set's id is its
// zone id, "|", and its Key.
const (
	KindHostedZone     = "hostedzone"
	KindRecordSet      = "rrset"
	KindCidrCollection = "cidrcollection"
)

// RecordSetID returns the control-plane id of a record set of a zone.
func RecordSetID(zoneID string, r *RecordSet) string { return zoneID + "|" + r.Key() }
