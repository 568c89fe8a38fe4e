package route53api

import "encoding/xml"

// The documents of the Route 53 API, element for element as the AWS SDK for Go v2
// (service/route53) serializes requests and deserializes responses. Request types match
// elements by local name in any namespace; responses carry Namespace.

type xmlHostedZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone *bool  `xml:"PrivateZone,omitempty"`
}

type xmlVPC struct {
	VPCRegion string `xml:"VPCRegion"`
	VPCId     string `xml:"VPCId"`
}

type createHostedZoneRequest struct {
	XMLName          xml.Name             `xml:"CreateHostedZoneRequest"`
	Name             string               `xml:"Name"`
	CallerReference  string               `xml:"CallerReference"`
	HostedZoneConfig *xmlHostedZoneConfig `xml:"HostedZoneConfig"`
	VPC              *xmlVPC              `xml:"VPC"`
	DelegationSetID  string               `xml:"DelegationSetId"`
}

type xmlHostedZone struct {
	ID                     string              `xml:"Id"`
	Name                   string              `xml:"Name"`
	CallerReference        string              `xml:"CallerReference"`
	Config                 xmlHostedZoneConfig `xml:"Config"`
	ResourceRecordSetCount int64               `xml:"ResourceRecordSetCount"`
}

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type xmlDelegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

type createHostedZoneResponse struct {
	XMLName       xml.Name         `xml:"CreateHostedZoneResponse"`
	Xmlns         string           `xml:"xmlns,attr"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	ChangeInfo    xmlChangeInfo    `xml:"ChangeInfo"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

type getHostedZoneResponse struct {
	XMLName       xml.Name         `xml:"GetHostedZoneResponse"`
	Xmlns         string           `xml:"xmlns,attr"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

type listHostedZonesResponse struct {
	XMLName     xml.Name        `xml:"ListHostedZonesResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	HostedZones []xmlHostedZone `xml:"HostedZones>HostedZone"`
	Marker      string          `xml:"Marker"`
	IsTruncated bool            `xml:"IsTruncated"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
	MaxItems    int             `xml:"MaxItems"`
}

type changeInfoResponse struct {
	XMLName    xml.Name
	Xmlns      string        `xml:"xmlns,attr"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

type emptyResponse struct {
	XMLName xml.Name
	Xmlns   string `xml:"xmlns,attr"`
}

type xmlResourceRecord struct {
	Value string `xml:"Value"`
}

type xmlAliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlGeoLocation struct {
	ContinentCode   string `xml:"ContinentCode,omitempty"`
	CountryCode     string `xml:"CountryCode,omitempty"`
	SubdivisionCode string `xml:"SubdivisionCode,omitempty"`
}

type xmlCoordinates struct {
	Latitude  string `xml:"Latitude"`
	Longitude string `xml:"Longitude"`
}

type xmlGeoProximityLocation struct {
	AWSRegion      string          `xml:"AWSRegion,omitempty"`
	LocalZoneGroup string          `xml:"LocalZoneGroup,omitempty"`
	Coordinates    *xmlCoordinates `xml:"Coordinates"`
	Bias           *int32          `xml:"Bias"`
}

type xmlCidrRoutingConfig struct {
	CollectionID string `xml:"CollectionId"`
	LocationName string `xml:"LocationName"`
}

type xmlResourceRecordSet struct {
	Name                    string                   `xml:"Name"`
	Type                    string                   `xml:"Type"`
	SetIdentifier           string                   `xml:"SetIdentifier,omitempty"`
	Weight                  *int64                   `xml:"Weight"`
	Region                  string                   `xml:"Region,omitempty"`
	GeoLocation             *xmlGeoLocation          `xml:"GeoLocation"`
	Failover                string                   `xml:"Failover,omitempty"`
	MultiValueAnswer        *bool                    `xml:"MultiValueAnswer"`
	TTL                     *int64                   `xml:"TTL"`
	ResourceRecords         []xmlResourceRecord      `xml:"ResourceRecords>ResourceRecord"`
	AliasTarget             *xmlAliasTarget          `xml:"AliasTarget"`
	HealthCheckID           string                   `xml:"HealthCheckId,omitempty"`
	TrafficPolicyInstanceID string                   `xml:"TrafficPolicyInstanceId,omitempty"`
	CidrRoutingConfig       *xmlCidrRoutingConfig    `xml:"CidrRoutingConfig"`
	GeoProximityLocation    *xmlGeoProximityLocation `xml:"GeoProximityLocation"`
}

type xmlChange struct {
	Action            string               `xml:"Action"`
	ResourceRecordSet xmlResourceRecordSet `xml:"ResourceRecordSet"`
}

type changeResourceRecordSetsRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string      `xml:"Comment"`
		Changes []xmlChange `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type listResourceRecordSetsResponse struct {
	XMLName              xml.Name               `xml:"ListResourceRecordSetsResponse"`
	Xmlns                string                 `xml:"xmlns,attr"`
	ResourceRecordSets   []xmlResourceRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool                   `xml:"IsTruncated"`
	NextRecordName       string                 `xml:"NextRecordName,omitempty"`
	NextRecordType       string                 `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string                 `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             int                    `xml:"MaxItems"`
}

type xmlAlarmIdentifier struct {
	Region string `xml:"Region"`
	Name   string `xml:"Name"`
}

type xmlChildHealthChecks struct {
	IDs []string `xml:"ChildHealthCheck"`
}

type xmlRegions struct {
	Regions []string `xml:"Region"`
}

type xmlHealthCheckConfig struct {
	IPAddress                    string                `xml:"IPAddress,omitempty"`
	Port                         *int32                `xml:"Port"`
	Type                         string                `xml:"Type"`
	ResourcePath                 string                `xml:"ResourcePath,omitempty"`
	FullyQualifiedDomainName     string                `xml:"FullyQualifiedDomainName,omitempty"`
	SearchString                 string                `xml:"SearchString,omitempty"`
	RequestInterval              *int32                `xml:"RequestInterval"`
	FailureThreshold             *int32                `xml:"FailureThreshold"`
	MeasureLatency               *bool                 `xml:"MeasureLatency"`
	Inverted                     *bool                 `xml:"Inverted"`
	Disabled                     *bool                 `xml:"Disabled"`
	HealthThreshold              *int32                `xml:"HealthThreshold"`
	ChildHealthChecks            *xmlChildHealthChecks `xml:"ChildHealthChecks"`
	EnableSNI                    *bool                 `xml:"EnableSNI"`
	Regions                      *xmlRegions           `xml:"Regions"`
	AlarmIdentifier              *xmlAlarmIdentifier   `xml:"AlarmIdentifier"`
	InsufficientDataHealthStatus string                `xml:"InsufficientDataHealthStatus,omitempty"`
	RoutingControlArn            string                `xml:"RoutingControlArn,omitempty"`
}

type createHealthCheckRequest struct {
	XMLName           xml.Name             `xml:"CreateHealthCheckRequest"`
	CallerReference   string               `xml:"CallerReference"`
	HealthCheckConfig xmlHealthCheckConfig `xml:"HealthCheckConfig"`
}

type updateHealthCheckRequest struct {
	XMLName                      xml.Name              `xml:"UpdateHealthCheckRequest"`
	HealthCheckVersion           *int64                `xml:"HealthCheckVersion"`
	IPAddress                    *string               `xml:"IPAddress"`
	Port                         *int32                `xml:"Port"`
	ResourcePath                 *string               `xml:"ResourcePath"`
	FullyQualifiedDomainName     *string               `xml:"FullyQualifiedDomainName"`
	SearchString                 *string               `xml:"SearchString"`
	FailureThreshold             *int32                `xml:"FailureThreshold"`
	Inverted                     *bool                 `xml:"Inverted"`
	Disabled                     *bool                 `xml:"Disabled"`
	HealthThreshold              *int32                `xml:"HealthThreshold"`
	ChildHealthChecks            *xmlChildHealthChecks `xml:"ChildHealthChecks"`
	EnableSNI                    *bool                 `xml:"EnableSNI"`
	Regions                      *xmlRegions           `xml:"Regions"`
	AlarmIdentifier              *xmlAlarmIdentifier   `xml:"AlarmIdentifier"`
	InsufficientDataHealthStatus *string               `xml:"InsufficientDataHealthStatus"`
	ResetElements                []string              `xml:"ResetElements>ResettableElementName"`
}

type xmlHealthCheck struct {
	ID                 string               `xml:"Id"`
	CallerReference    string               `xml:"CallerReference"`
	HealthCheckConfig  xmlHealthCheckConfig `xml:"HealthCheckConfig"`
	HealthCheckVersion uint64               `xml:"HealthCheckVersion"`
}

type healthCheckResponse struct {
	XMLName     xml.Name
	Xmlns       string         `xml:"xmlns,attr"`
	HealthCheck xmlHealthCheck `xml:"HealthCheck"`
}

type listHealthChecksResponse struct {
	XMLName      xml.Name         `xml:"ListHealthChecksResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	HealthChecks []xmlHealthCheck `xml:"HealthChecks>HealthCheck"`
	Marker       string           `xml:"Marker"`
	IsTruncated  bool             `xml:"IsTruncated"`
	NextMarker   string           `xml:"NextMarker,omitempty"`
	MaxItems     int              `xml:"MaxItems"`
}

type xmlStatusReport struct {
	Status      string `xml:"Status"`
	CheckedTime string `xml:"CheckedTime,omitempty"`
}

type xmlHealthCheckObservation struct {
	Region       string          `xml:"Region,omitempty"`
	IPAddress    string          `xml:"IPAddress,omitempty"`
	StatusReport xmlStatusReport `xml:"StatusReport"`
}

type getHealthCheckStatusResponse struct {
	XMLName                 xml.Name                    `xml:"GetHealthCheckStatusResponse"`
	Xmlns                   string                      `xml:"xmlns,attr"`
	HealthCheckObservations []xmlHealthCheckObservation `xml:"HealthCheckObservations>HealthCheckObservation"`
}

type createCidrCollectionRequest struct {
	XMLName         xml.Name `xml:"CreateCidrCollectionRequest"`
	Name            string   `xml:"Name"`
	CallerReference string   `xml:"CallerReference"`
}

type xmlCidrCollection struct {
	Arn     string `xml:"Arn"`
	ID      string `xml:"Id"`
	Name    string `xml:"Name"`
	Version int64  `xml:"Version"`
}

type createCidrCollectionResponse struct {
	XMLName    xml.Name          `xml:"CreateCidrCollectionResponse"`
	Xmlns      string            `xml:"xmlns,attr"`
	Collection xmlCidrCollection `xml:"Collection"`
}

type listCidrCollectionsResponse struct {
	XMLName         xml.Name            `xml:"ListCidrCollectionsResponse"`
	Xmlns           string              `xml:"xmlns,attr"`
	CidrCollections []xmlCidrCollection `xml:"CidrCollections>member"`
	NextToken       string              `xml:"NextToken,omitempty"`
}

type xmlCidrCollectionChange struct {
	LocationName string   `xml:"LocationName"`
	Action       string   `xml:"Action"`
	CidrList     []string `xml:"CidrList>Cidr"`
}

type changeCidrCollectionRequest struct {
	XMLName           xml.Name                  `xml:"ChangeCidrCollectionRequest"`
	CollectionVersion *int64                    `xml:"CollectionVersion"`
	Changes           []xmlCidrCollectionChange `xml:"Changes>member"`
}

type changeCidrCollectionResponse struct {
	XMLName xml.Name `xml:"ChangeCidrCollectionResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	ID      string   `xml:"Id"`
}

type xmlCidrBlock struct {
	CidrBlock    string `xml:"CidrBlock"`
	LocationName string `xml:"LocationName"`
}

type listCidrBlocksResponse struct {
	XMLName    xml.Name       `xml:"ListCidrBlocksResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	CidrBlocks []xmlCidrBlock `xml:"CidrBlocks>member"`
	NextToken  string         `xml:"NextToken,omitempty"`
}

type xmlLocation struct {
	LocationName string `xml:"LocationName"`
}

type listCidrLocationsResponse struct {
	XMLName       xml.Name      `xml:"ListCidrLocationsResponse"`
	Xmlns         string        `xml:"xmlns,attr"`
	CidrLocations []xmlLocation `xml:"CidrLocations>member"`
	NextToken     string        `xml:"NextToken,omitempty"`
}

type testDNSAnswerResponse struct {
	XMLName      xml.Name `xml:"TestDNSAnswerResponse"`
	Xmlns        string   `xml:"xmlns,attr"`
	Nameserver   string   `xml:"Nameserver"`
	RecordName   string   `xml:"RecordName"`
	RecordType   string   `xml:"RecordType"`
	RecordData   []string `xml:"RecordData>RecordDataEntry"`
	ResponseCode string   `xml:"ResponseCode"`
	Protocol     string   `xml:"Protocol"`
}

// xmlName names a document's root element.
func xmlName(local string) xml.Name { return xml.Name{Local: local} }
