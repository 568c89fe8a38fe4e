package route53api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
)

// createZone creates a zone and returns its bare id.
func (e *env) createZone(name, ref string) string {
	e.t.Helper()
	out, err := e.client.CreateHostedZone(ctx(e.t), &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String(ref)})
	if err != nil {
		e.t.Fatalf("CreateHostedZone(%s): %v", name, err)
	}
	return bareID(*out.HostedZone.Id)
}

// wantAPIError checks that err is the SDK's typed error T with code.
func wantAPIError[T error](t *testing.T, err error, code string) T {
	t.Helper()
	var typed T
	if !errors.As(err, &typed) {
		t.Fatalf("error = %T %v, want %T", err, err, typed)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error code = %v, want %s", err, code)
	}
	return typed
}

// wantCode checks a generic API error's code.
func wantCode(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return ae
}

func TestHostedZoneLifecycle(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	out, err := e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{
		Name: aws.String("Example.COM"), CallerReference: aws.String("ref-1"),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("the main zone")},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := bareID(*out.HostedZone.Id)
	if len(id) != 21 || id[0] != 'Z' || strings.ToUpper(id) != id || *out.HostedZone.Id != "/hostedzone/"+id {
		t.Errorf("zone id %q", *out.HostedZone.Id)
	}
	if *out.HostedZone.Name != "example.com." || *out.HostedZone.Config.Comment != "the main zone" || *out.HostedZone.ResourceRecordSetCount != 2 {
		t.Errorf("zone %+v", out.HostedZone)
	}
	if want := e.srv.URL + "/2013-04-01/hostedzone/" + id; *out.Location != want {
		t.Errorf("Location %q, want %q", *out.Location, want)
	}
	if out.ChangeInfo.Status != types.ChangeStatusPending || out.ChangeInfo.SubmittedAt == nil {
		t.Errorf("change info %+v", out.ChangeInfo)
	}
	if ns := out.DelegationSet.NameServers; len(ns) != 2 || ns[0] != "ns1.polyregion.test." {
		t.Errorf("name servers %v", ns)
	}

	// PENDING until the fleet serves the change's index, then INSYNC.
	ch, err := e.client.GetChange(c, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	if err != nil || ch.ChangeInfo.Status != types.ChangeStatusPending {
		t.Fatalf("GetChange = %+v, %v; want PENDING", ch, err)
	}
	e.fleet.synced.Store(e.node.State().Index())
	ch, err = e.client.GetChange(c, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	if err != nil || ch.ChangeInfo.Status != types.ChangeStatusInsync || !ch.ChangeInfo.SubmittedAt.Equal(*out.ChangeInfo.SubmittedAt) {
		t.Fatalf("GetChange = %+v, %v; want INSYNC at the submission time", ch.ChangeInfo, err)
	}
	_, err = e.client.GetChange(c, &route53.GetChangeInput{Id: aws.String("CNOTACHANGE")})
	wantAPIError[*types.NoSuchChange](t, err, "NoSuchChange")

	// The same caller reference and name: the same zone again.
	again, err := e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{Name: aws.String("example.com."), CallerReference: aws.String("ref-1")})
	if err != nil || *again.HostedZone.Id != *out.HostedZone.Id {
		t.Fatalf("retried CreateHostedZone = %v, %v; want the same zone", again, err)
	}
	_, err = e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{Name: aws.String("example.net."), CallerReference: aws.String("ref-1")})
	wantAPIError[*types.HostedZoneAlreadyExists](t, err, "HostedZoneAlreadyExists")
	_, err = e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{Name: aws.String("example.com."), CallerReference: aws.String("ref-2")})
	wantAPIError[*types.ConflictingDomainExists](t, err, "ConflictingDomainExists")
	_, err = e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{Name: aws.String("bad..name"), CallerReference: aws.String("ref-3")})
	wantAPIError[*types.InvalidDomainName](t, err, "InvalidDomainName")
	_, err = e.client.CreateHostedZone(c, &route53.CreateHostedZoneInput{Name: aws.String("private.example."), CallerReference: aws.String("ref-4"),
		VPC: &types.VPC{VPCId: aws.String("vpc-1"), VPCRegion: types.VPCRegionEuWest1}})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")

	got, err := e.client.GetHostedZone(c, &route53.GetHostedZoneInput{Id: aws.String(id)})
	if err != nil || *got.HostedZone.Name != "example.com." || *got.HostedZone.CallerReference != "ref-1" || len(got.DelegationSet.NameServers) != 2 {
		t.Fatalf("GetHostedZone = %+v, %v", got, err)
	}
	_, err = e.client.GetHostedZone(c, &route53.GetHostedZoneInput{Id: aws.String("ZNOSUCHZONE")})
	wantAPIError[*types.NoSuchHostedZone](t, err, "NoSuchHostedZone")

	// A zone with record sets cannot be deleted.
	e.change(id, change1("CREATE", rrA("www.example.com.", 60, "192.0.2.1")))
	_, err = e.client.DeleteHostedZone(c, &route53.DeleteHostedZoneInput{Id: aws.String(id)})
	wantAPIError[*types.HostedZoneNotEmpty](t, err, "HostedZoneNotEmpty")
	e.change(id, change1("DELETE", rrA("www.example.com.", 60, "192.0.2.1")))
	del, err := e.client.DeleteHostedZone(c, &route53.DeleteHostedZoneInput{Id: aws.String(id)})
	if err != nil || del.ChangeInfo.Status != types.ChangeStatusPending {
		t.Fatalf("DeleteHostedZone = %v, %v", del, err)
	}
	_, err = e.client.GetHostedZone(c, &route53.GetHostedZoneInput{Id: aws.String(id)})
	wantAPIError[*types.NoSuchHostedZone](t, err, "NoSuchHostedZone")
	_, err = e.client.DeleteHostedZone(c, &route53.DeleteHostedZoneInput{Id: aws.String(id)})
	wantAPIError[*types.NoSuchHostedZone](t, err, "NoSuchHostedZone")
}

func TestListHostedZonesPaging(t *testing.T) {
	e := newEnv(t)
	want := map[string]bool{}
	for i := range 5 {
		want[e.createZone(fmt.Sprintf("zone%d.example.", i), fmt.Sprint("ref", i))] = true
	}
	var got []string
	var marker *string
	for pages := 0; ; pages++ {
		out, err := e.client.ListHostedZones(ctx(t), &route53.ListHostedZonesInput{MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.HostedZones) > 2 || *out.MaxItems != 2 {
			t.Fatalf("page of %d zones, MaxItems %d", len(out.HostedZones), *out.MaxItems)
		}
		for _, z := range out.HostedZones {
			got = append(got, bareID(*z.Id))
		}
		if !out.IsTruncated {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		marker = out.NextMarker
	}
	if len(got) != 5 {
		t.Fatalf("listed %v", got)
	}
	for i, id := range got {
		if !want[id] || i > 0 && got[i-1] >= id {
			t.Errorf("listing %v is not the zones in id order", got)
		}
	}
	// The SDK's paginator walks the same pages.
	p := route53.NewListHostedZonesPaginator(e.client, &route53.ListHostedZonesInput{MaxItems: aws.Int32(3)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.HostedZones)
	}
	if n != 5 {
		t.Errorf("paginator saw %d zones", n)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	_, err := e.newClient(testAccessKey, "wrong-secret").ListHostedZones(ctx(t), &route53.ListHostedZonesInput{})
	ae := wantCode(t, err, "SignatureDoesNotMatch")
	if !strings.HasPrefix(ae.ErrorMessage(), "The request signature we calculated does not match the signature you provided") {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	_, err = e.newClient("AKIDNOBODY", testSecretKey).ListHostedZones(ctx(t), &route53.ListHostedZonesInput{})
	wantCode(t, err, "InvalidClientTokenId")
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("status of %v, want 403", err)
	}

	resp, err := e.srv.Client().Get(e.srv.URL + "/2013-04-01/hostedzone")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Errorf("unsigned request: %d %v", resp.StatusCode, resp.Header)
	}
	if strings.Contains(e.log.String(), testSecretKey) || strings.Contains(e.log.String(), "wrong-secret") {
		t.Error("a secret appears in the log")
	}
}

func TestNoQuorum(t *testing.T) {
	e := newEnv(t)
	e.store.noQuorum.Store(true)
	_, err := e.client.CreateHostedZone(ctx(t), &route53.CreateHostedZoneInput{Name: aws.String("example.com."), CallerReference: aws.String("r")})
	ae := wantCode(t, err, "ServiceUnavailable")
	if !strings.Contains(ae.ErrorMessage(), "majority of regions") {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Errorf("status of %v, want 503", err)
	}
	// Reads still work.
	if _, err := e.client.ListHostedZones(ctx(t), &route53.ListHostedZonesInput{}); err != nil {
		t.Errorf("ListHostedZones without a quorum: %v", err)
	}
}

func TestUnimplementedOperation(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.GetCheckerIpRanges(ctx(t), &route53.GetCheckerIpRangesInput{})
	wantCode(t, err, "NotImplemented")
}
