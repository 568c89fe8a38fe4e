package route53api

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/health"
)

func httpCheck(ip string) *types.HealthCheckConfig {
	return &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String(ip), Port: aws.Int32(8080),
		ResourcePath: aws.String("/healthz"), RequestInterval: aws.Int32(10), FailureThreshold: aws.Int32(2)}
}

func TestHealthCheckLifecycle(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	// A private address is fine: polyregion runs on private networks.
	out, err := e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc-ref"), HealthCheckConfig: httpCheck("10.0.0.7")})
	if err != nil {
		t.Fatal(err)
	}
	hc := out.HealthCheck
	if len(*hc.Id) != 36 || *hc.CallerReference != "hc-ref" || *hc.HealthCheckVersion == 0 || *out.Location != e.srv.URL+"/2013-04-01/healthcheck/"+*hc.Id {
		t.Errorf("created %+v at %s", hc, *out.Location)
	}
	cfg := hc.HealthCheckConfig
	if cfg.Type != types.HealthCheckTypeHttp || *cfg.IPAddress != "10.0.0.7" || *cfg.Port != 8080 || *cfg.RequestInterval != 10 || *cfg.FailureThreshold != 2 || *cfg.ResourcePath != "/healthz" {
		t.Errorf("config %+v", cfg)
	}
	// Stored as health.Check JSON, with its caller reference written in the same batch.
	st := e.node.State()
	res, ok := st.Get(health.Kind, *hc.Id)
	ref, refOK := st.Get(KindHealthCheckCallerRef, "hc-ref")
	if !ok || !refOK || res.Version != ref.Version {
		t.Fatalf("stored check %v, caller ref %v: want both from one batch", res, ref)
	}
	var stored health.Check
	if err := json.Unmarshal(res.Value, &stored); err != nil || stored.ID != *hc.Id || stored.RequestInterval != health.Duration(10*time.Second) {
		t.Errorf("stored %+v, %v", stored, err)
	}

	// Idempotent CallerReference; reused with other settings it is refused.
	again, err := e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc-ref"), HealthCheckConfig: httpCheck("10.0.0.7")})
	if err != nil || *again.HealthCheck.Id != *hc.Id {
		t.Fatalf("retry = %v, %v; want the same check", again, err)
	}
	_, err = e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc-ref"), HealthCheckConfig: httpCheck("10.0.0.8")})
	wantAPIError[*types.HealthCheckAlreadyExists](t, err, "HealthCheckAlreadyExists")

	bad := httpCheck("127.0.0.1")
	bad.RequestInterval = aws.Int32(15)
	_, err = e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("bad"), HealthCheckConfig: bad})
	ie := wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
	if !strings.Contains(ie.ErrorMessage(), "RequestInterval must be 10 or 30") {
		t.Errorf("message %q", ie.ErrorMessage())
	}
	_, err = e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("bad2"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1")}})
	ie = wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
	if !strings.Contains(ie.ErrorMessage(), "port: required for TCP") {
		t.Errorf("message %q", ie.ErrorMessage())
	}
	_, err = e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("calc"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, ChildHealthChecks: []string{"no-such-check"}, HealthThreshold: aws.Int32(1)}})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
	calc, err := e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("calc2"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, ChildHealthChecks: []string{*hc.Id}, HealthThreshold: aws.Int32(1)}})
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.client.GetHealthCheck(c, &route53.GetHealthCheckInput{HealthCheckId: hc.Id})
	if err != nil || *got.HealthCheck.CallerReference != "hc-ref" || *got.HealthCheck.HealthCheckVersion != *hc.HealthCheckVersion {
		t.Fatalf("GetHealthCheck = %+v, %v", got, err)
	}
	_, err = e.client.GetHealthCheck(c, &route53.GetHealthCheckInput{HealthCheckId: aws.String("nope")})
	wantAPIError[*types.NoSuchHealthCheck](t, err, "NoSuchHealthCheck")

	list, err := e.client.ListHealthChecks(c, &route53.ListHealthChecksInput{MaxItems: aws.Int32(1)})
	if err != nil || len(list.HealthChecks) != 1 || !list.IsTruncated || list.NextMarker == nil {
		t.Fatalf("ListHealthChecks page 1 = %+v, %v", list, err)
	}
	list2, err := e.client.ListHealthChecks(c, &route53.ListHealthChecksInput{MaxItems: aws.Int32(1), Marker: list.NextMarker})
	if err != nil || len(list2.HealthChecks) != 1 || list2.IsTruncated || *list2.HealthChecks[0].Id == *list.HealthChecks[0].Id {
		t.Fatalf("ListHealthChecks page 2 = %+v, %v", list2, err)
	}

	// UpdateHealthCheck with the current version, then with a stale one.
	up, err := e.client.UpdateHealthCheck(c, &route53.UpdateHealthCheckInput{HealthCheckId: hc.Id, HealthCheckVersion: hc.HealthCheckVersion,
		Port: aws.Int32(9090), Inverted: aws.Bool(true), ResetElements: []types.ResettableElementName{types.ResettableElementNameResourcePath}})
	if err != nil || *up.HealthCheck.HealthCheckConfig.Port != 9090 || !*up.HealthCheck.HealthCheckConfig.Inverted ||
		*up.HealthCheck.HealthCheckConfig.ResourcePath != "/" || *up.HealthCheck.HealthCheckVersion <= *hc.HealthCheckVersion {
		t.Fatalf("UpdateHealthCheck = %+v, %v", up, err)
	}
	_, err = e.client.UpdateHealthCheck(c, &route53.UpdateHealthCheckInput{HealthCheckId: hc.Id, HealthCheckVersion: hc.HealthCheckVersion, Port: aws.Int32(1)})
	wantAPIError[*types.HealthCheckVersionMismatch](t, err, "HealthCheckVersionMismatch")
	_, err = e.client.UpdateHealthCheck(c, &route53.UpdateHealthCheckInput{HealthCheckId: hc.Id, Port: aws.Int32(70000)})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")

	// In use by a record set and by a calculated check: not deletable.
	zoneID := e.createZone("example.com.", "z")
	s := rrA("www.example.com.", 60, "192.0.2.1")
	s.HealthCheckId = hc.Id
	e.change(zoneID, change1("CREATE", s))
	_, err = e.client.DeleteHealthCheck(c, &route53.DeleteHealthCheckInput{HealthCheckId: hc.Id})
	iu := wantAPIError[*types.HealthCheckInUse](t, err, "HealthCheckInUse")
	if !strings.Contains(iu.ErrorMessage(), "www.example.com.") || !strings.Contains(iu.ErrorMessage(), *calc.HealthCheck.Id) {
		t.Errorf("message %q", iu.ErrorMessage())
	}
	e.change(zoneID, change1("DELETE", s))
	if _, err := e.client.DeleteHealthCheck(c, &route53.DeleteHealthCheckInput{HealthCheckId: calc.HealthCheck.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteHealthCheck(c, &route53.DeleteHealthCheckInput{HealthCheckId: hc.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteHealthCheck(c, &route53.DeleteHealthCheckInput{HealthCheckId: hc.Id})
	wantAPIError[*types.NoSuchHealthCheck](t, err, "NoSuchHealthCheck")
	// A caller reference of a deleted check is never reused.
	_, err = e.client.CreateHealthCheck(c, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc-ref"), HealthCheckConfig: httpCheck("10.0.0.7")})
	wantAPIError[*types.HealthCheckAlreadyExists](t, err, "HealthCheckAlreadyExists")
}

func TestHealthCheckStatus(t *testing.T) {
	e := newEnv(t)
	out, err := e.client.CreateHealthCheck(ctx(t), &route53.CreateHealthCheckInput{CallerReference: aws.String("r"), HealthCheckConfig: httpCheck("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e.status.set(health.CheckStatus{ID: *out.HealthCheck.Id, State: health.StateHealthy, Healthy: true, Vantages: []health.VantageStatus{
		{Region: "eu-west", Healthy: true, Reason: "HTTP 200", CheckedAt: at},
		{Region: "us-east", Healthy: false, Reason: "HTTP 503", CheckedAt: at},
		{Region: "ap-southeast", Healthy: false, Reason: "connection refused", CheckedAt: at},
	}})
	st, err := e.client.GetHealthCheckStatus(ctx(t), &route53.GetHealthCheckStatusInput{HealthCheckId: out.HealthCheck.Id})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"eu-west": "Success: HTTP Status Code 200, OK", "us-east": "Failure: HTTP Status Code 503, Service Unavailable",
		"ap-southeast": "Failure: connection refused"}
	if len(st.HealthCheckObservations) != 3 {
		t.Fatalf("observations %+v", st.HealthCheckObservations)
	}
	for _, o := range st.HealthCheckObservations {
		if got := *o.StatusReport.Status; got != want[string(o.Region)] || !o.StatusReport.CheckedTime.Equal(at) {
			t.Errorf("%s: %q at %v, want %q", o.Region, got, o.StatusReport.CheckedTime, want[string(o.Region)])
		}
	}
	_, err = e.client.GetHealthCheckStatus(ctx(t), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String("nope")})
	wantAPIError[*types.NoSuchHealthCheck](t, err, "NoSuchHealthCheck")
}

func TestTestDNSAnswer(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "r")
	out, err := e.client.TestDNSAnswer(ctx(t), &route53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("www.example.com"),
		RecordType: types.RRTypeA, ResolverIP: aws.String("198.51.100.7"), EDNS0ClientSubnetIP: aws.String("203.0.113.77")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.ResponseCode != "NOERROR" || *out.Protocol != "UDP" || len(out.RecordData) != 1 || out.RecordData[0] != "192.0.2.44" ||
		*out.Nameserver != "ns1.polyregion.test" || *out.RecordName != "www.example.com." || out.RecordType != types.RRTypeA {
		t.Errorf("TestDNSAnswer = %+v", out)
	}
	name, qtype, resolver, ecs := e.answerer.asked()
	if name != "www.example.com." || qtype != dns.TypeA || resolver != netip.MustParseAddr("198.51.100.7") || ecs != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("asked %s %d %s %s", name, qtype, resolver, ecs)
	}
	out, err = e.client.TestDNSAnswer(ctx(t), &route53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("nx.example.com."),
		RecordType: types.RRTypeAaaa, EDNS0ClientSubnetIP: aws.String("2001:db8::1"), EDNS0ClientSubnetMask: aws.String("48")})
	if err != nil || *out.ResponseCode != "NXDOMAIN" || len(out.RecordData) != 0 {
		t.Errorf("NXDOMAIN answer = %+v, %v", out, err)
	}
	if _, _, _, ecs := e.answerer.asked(); ecs != netip.MustParsePrefix("2001:db8::/48") {
		t.Errorf("ECS %s", ecs)
	}
	_, err = e.client.TestDNSAnswer(ctx(t), &route53.TestDNSAnswerInput{HostedZoneId: aws.String(id), RecordName: aws.String("www.example.org."), RecordType: types.RRTypeA})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
	_, err = e.client.TestDNSAnswer(ctx(t), &route53.TestDNSAnswerInput{HostedZoneId: aws.String("ZNONE"), RecordName: aws.String("a.example.com."), RecordType: types.RRTypeA})
	wantAPIError[*types.NoSuchHostedZone](t, err, "NoSuchHostedZone")
}

func TestCidrCollections(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	out, err := e.client.CreateCidrCollection(c, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc")})
	if err != nil {
		t.Fatal(err)
	}
	coll := out.Collection
	if len(*coll.Id) != 36 || *coll.Name != "offices" || *coll.Version != 1 || *coll.Arn != "arn:aws:route53:::cidrcollection/"+*coll.Id || out.Location == nil {
		t.Errorf("created %+v", coll)
	}
	again, err := e.client.CreateCidrCollection(c, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc")})
	if err != nil || *again.Collection.Id != *coll.Id {
		t.Fatalf("retry = %v, %v", again, err)
	}
	_, err = e.client.CreateCidrCollection(c, &route53.CreateCidrCollectionInput{Name: aws.String("other"), CallerReference: aws.String("cc")})
	wantAPIError[*types.CidrCollectionAlreadyExistsException](t, err, "CidrCollectionAlreadyExistsException")
	_, err = e.client.CreateCidrCollection(c, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc2")})
	wantAPIError[*types.CidrCollectionAlreadyExistsException](t, err, "CidrCollectionAlreadyExistsException")

	put := func(loc string, blocks ...string) types.CidrCollectionChange {
		return types.CidrCollectionChange{LocationName: aws.String(loc), Action: types.CidrCollectionChangeActionPut, CidrList: blocks}
	}
	ch, err := e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: coll.Id, CollectionVersion: aws.Int64(1),
		Changes: []types.CidrCollectionChange{put("paris", "192.0.2.0/24", "2001:db8::/48"), put("tokyo", "198.51.100.0/24")}})
	if err != nil || !strings.HasPrefix(*ch.Id, "C") {
		t.Fatalf("ChangeCidrCollection = %v, %v", ch, err)
	}
	if gc, err := e.client.GetChange(c, &route53.GetChangeInput{Id: ch.Id}); err != nil || gc.ChangeInfo.Status != types.ChangeStatusPending {
		t.Errorf("GetChange of a CIDR change = %+v, %v", gc, err)
	}
	_, err = e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: coll.Id, CollectionVersion: aws.Int64(1), Changes: []types.CidrCollectionChange{put("x", "203.0.113.0/24")}})
	wantAPIError[*types.CidrCollectionVersionMismatchException](t, err, "CidrCollectionVersionMismatchException")
	for _, bad := range []string{"192.0.2.0/25", "192.0.2.1/24", "nonsense"} {
		_, err = e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: coll.Id, Changes: []types.CidrCollectionChange{put("x", bad)}})
		wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
	}
	_, err = e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: aws.String("nope"), Changes: []types.CidrCollectionChange{put("x", "203.0.113.0/24")}})
	wantAPIError[*types.NoSuchCidrCollectionException](t, err, "NoSuchCidrCollectionException")

	locs, err := e.client.ListCidrLocations(c, &route53.ListCidrLocationsInput{CollectionId: coll.Id, MaxResults: aws.Int32(1)})
	if err != nil || len(locs.CidrLocations) != 1 || *locs.CidrLocations[0].LocationName != "paris" || locs.NextToken == nil {
		t.Fatalf("ListCidrLocations = %+v, %v", locs, err)
	}
	locs, err = e.client.ListCidrLocations(c, &route53.ListCidrLocationsInput{CollectionId: coll.Id, NextToken: locs.NextToken})
	if err != nil || len(locs.CidrLocations) != 1 || *locs.CidrLocations[0].LocationName != "tokyo" || locs.NextToken != nil {
		t.Fatalf("ListCidrLocations page 2 = %+v, %v", locs, err)
	}
	blocks, err := e.client.ListCidrBlocks(c, &route53.ListCidrBlocksInput{CollectionId: coll.Id, LocationName: aws.String("paris")})
	if err != nil || len(blocks.CidrBlocks) != 2 || *blocks.CidrBlocks[0].LocationName != "paris" {
		t.Fatalf("ListCidrBlocks = %+v, %v", blocks, err)
	}
	_, err = e.client.ListCidrBlocks(c, &route53.ListCidrBlocksInput{CollectionId: coll.Id, LocationName: aws.String("berlin")})
	wantAPIError[*types.NoSuchCidrLocationException](t, err, "NoSuchCidrLocationException")
	colls, err := e.client.ListCidrCollections(c, &route53.ListCidrCollectionsInput{})
	if err != nil || len(colls.CidrCollections) != 1 || *colls.CidrCollections[0].Version != 2 {
		t.Fatalf("ListCidrCollections = %+v, %v", colls, err)
	}

	// A location in use by a record set cannot be emptied, nor the collection deleted.
	zoneID := e.createZone("example.com.", "z")
	s := rrA("ip.example.com.", 60, "192.0.2.1")
	s.SetIdentifier = aws.String("paris")
	s.CidrRoutingConfig = &types.CidrRoutingConfig{CollectionId: coll.Id, LocationName: aws.String("paris")}
	e.change(zoneID, change1("CREATE", s))
	del := func(loc string, blocks ...string) types.CidrCollectionChange {
		return types.CidrCollectionChange{LocationName: aws.String(loc), Action: types.CidrCollectionChangeActionDeleteIfExists, CidrList: blocks}
	}
	_, err = e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: coll.Id, Changes: []types.CidrCollectionChange{del("paris", "192.0.2.0/24", "2001:db8::/48")}})
	wantAPIError[*types.CidrBlockInUseException](t, err, "CidrBlockInUseException")
	_, err = e.client.DeleteCidrCollection(c, &route53.DeleteCidrCollectionInput{Id: coll.Id})
	wantAPIError[*types.CidrCollectionInUseException](t, err, "CidrCollectionInUseException")
	e.change(zoneID, change1("DELETE", s))
	if _, err := e.client.ChangeCidrCollection(c, &route53.ChangeCidrCollectionInput{Id: coll.Id,
		Changes: []types.CidrCollectionChange{del("paris", "192.0.2.0/24", "2001:db8::/48"), del("tokyo", "198.51.100.0/24")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteCidrCollection(c, &route53.DeleteCidrCollectionInput{Id: coll.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteCidrCollection(c, &route53.DeleteCidrCollectionInput{Id: coll.Id})
	wantAPIError[*types.NoSuchCidrCollectionException](t, err, "NoSuchCidrCollectionException")
}
