package route53api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

func rrA(name string, ttl int64, values ...string) types.ResourceRecordSet {
	s := types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeA, TTL: aws.Int64(ttl)}
	for _, v := range values {
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return s
}

func rrWeighted(name, id string, weight, ttl int64, value string) types.ResourceRecordSet {
	s := rrA(name, ttl, value)
	s.SetIdentifier, s.Weight = aws.String(id), aws.Int64(weight)
	return s
}

func change1(action string, s types.ResourceRecordSet) types.Change {
	return types.Change{Action: types.ChangeAction(action), ResourceRecordSet: &s}
}

// tryChange submits a batch.
func (e *env) tryChange(zoneID string, changes ...types.Change) (*route53.ChangeResourceRecordSetsOutput, error) {
	return e.client.ChangeResourceRecordSets(ctx(e.t), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes, Comment: aws.String("test")}})
}

func (e *env) change(zoneID string, changes ...types.Change) *route53.ChangeResourceRecordSetsOutput {
	e.t.Helper()
	out, err := e.tryChange(zoneID, changes...)
	if err != nil {
		e.t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	return out
}

// list returns every record set of a zone as "name type [id] ttl values".
func (e *env) list(zoneID string) []string {
	e.t.Helper()
	var out []string
	p := route53.NewListResourceRecordSetsPaginator(e.client, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(e.t))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range page.ResourceRecordSets {
			out = append(out, describeSDK(s))
		}
	}
	return out
}

func describeSDK(s types.ResourceRecordSet) string {
	d := *s.Name + " " + string(s.Type)
	if s.SetIdentifier != nil {
		d += " [" + *s.SetIdentifier + "]"
	}
	if s.TTL != nil {
		d += fmt.Sprintf(" %d", *s.TTL)
	}
	for _, r := range s.ResourceRecords {
		d += " " + *r.Value
	}
	if s.AliasTarget != nil {
		d += " alias " + *s.AliasTarget.DNSName
	}
	return d
}

func TestChangeResourceRecordSets(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	out := e.change(id,
		change1("CREATE", rrA("www.example.com", 300, "192.0.2.1", "192.0.2.2")),
		change1("CREATE", rrA("*.example.com.", 60, "192.0.2.9")),
		change1("CREATE", types.ResourceRecordSet{Name: aws.String("mail.example.com."), Type: types.RRTypeMx, TTL: aws.Int64(60),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("10 mx.example.com.")}}}),
		change1("CREATE", types.ResourceRecordSet{Name: aws.String("alias.example.com."), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String("/hostedzone/" + id), DNSName: aws.String("www.example.com."), EvaluateTargetHealth: true}}),
	)
	if out.ChangeInfo.Status != types.ChangeStatusPending || *out.ChangeInfo.Comment != "test" || !strings.HasPrefix(*out.ChangeInfo.Id, "/change/C") {
		t.Errorf("change info %+v", out.ChangeInfo)
	}
	want := []string{
		"example.com. NS 172800 ns1.polyregion.test. ns2.polyregion.test.",
		"example.com. SOA 900 ns1.polyregion.test. hostmaster.example.com. 1 7200 900 1209600 86400",
		`\052.example.com. A 60 192.0.2.9`,
		"alias.example.com. A alias www.example.com.",
		"mail.example.com. MX 60 10 mx.example.com.",
		"www.example.com. A 300 192.0.2.1 192.0.2.2",
	}
	if got := e.list(id); !slices.Equal(got, want) {
		t.Errorf("record sets:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The change reaches the fleet in a step: PENDING, then INSYNC.
	ch, _ := e.client.GetChange(ctx(t), &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	if ch.ChangeInfo.Status != types.ChangeStatusPending {
		t.Errorf("status %s before the fleet has it", ch.ChangeInfo.Status)
	}
	e.fleet.synced.Store(e.node.State().Index())
	ch, _ = e.client.GetChange(ctx(t), &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	if ch.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("status %s after the fleet has it", ch.ChangeInfo.Status)
	}

	// UPSERT replaces; DELETE then CREATE of one set in one batch replaces it too.
	e.change(id, change1("UPSERT", rrA("www.example.com.", 120, "192.0.2.3")))
	e.change(id, change1("DELETE", rrA("www.example.com.", 120, "192.0.2.3")), change1("CREATE", rrA("www.example.com.", 30, "192.0.2.4")))
	if got := e.list(id); got[len(got)-1] != "www.example.com. A 30 192.0.2.4" {
		t.Errorf("after the replacements: %v", got[len(got)-1])
	}
	// The stored record set is the zone model's, under its control-plane id.
	var stored zone.RecordSet
	if ok, err := e.node.State().Decode(zone.KindRecordSet, id+"|www.example.com. A ", &stored); !ok || err != nil || stored.TTL != 30 {
		t.Errorf("stored record set %+v, %v, %v", stored, ok, err)
	}
}

func TestChangeBatchErrors(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	e.change(id, change1("CREATE", rrA("www.example.com.", 300, "192.0.2.1")), change1("CREATE", rrWeighted("w.example.com.", "a", 10, 60, "192.0.2.5")))
	before := e.list(id)
	applies := e.store.applies.Load()
	for _, tc := range []struct {
		name    string
		changes []types.Change
		want    []string
	}{
		{"create existing", []types.Change{change1("CREATE", rrA("www.example.com.", 300, "192.0.2.1"))},
			[]string{"Tried to create resource record set [name='www.example.com.', type='A'] but it already exists"}},
		{"delete missing", []types.Change{change1("DELETE", rrA("nope.example.com.", 300, "192.0.2.1"))},
			[]string{"Tried to delete resource record set [name='nope.example.com.', type='A'] but it was not found"}},
		{"delete with other values", []types.Change{change1("DELETE", rrA("www.example.com.", 300, "192.0.2.2"))},
			[]string{"Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values"}},
		{"delete with another TTL", []types.Change{change1("DELETE", rrA("www.example.com.", 301, "192.0.2.1"))},
			[]string{"but the values provided do not match the current values"}},
		{"delete with another weight", []types.Change{change1("DELETE", rrWeighted("w.example.com.", "a", 11, 60, "192.0.2.5"))},
			[]string{"set-identifier='a'] but the values provided do not match"}},
		{"the same set twice", []types.Change{change1("DELETE", rrA("www.example.com.", 300, "192.0.2.1")), change1("DELETE", rrA("www.example.com.", 300, "192.0.2.1"))},
			[]string{"The request contains an invalid set of changes for a resource record set [name='www.example.com.', type='A']"}},
		{"one bad change among good ones", []types.Change{
			change1("CREATE", rrA("new1.example.com.", 60, "192.0.2.10")),
			change1("CREATE", rrA("new2.example.com.", 60, "192.0.2.300")),
			change1("UPSERT", rrA("www.example.com.", 60, "192.0.2.11")),
		}, []string{`[name='new2.example.com.', type='A']: value "192.0.2.300": not valid A data`}},
		{"every problem at once", []types.Change{
			change1("CREATE", rrA("out.example.org.", 60, "192.0.2.1")),
			change1("CREATE", rrWeighted("w.example.com.", "b", 300, 60, "192.0.2.6")),
			change1("CREATE", types.ResourceRecordSet{Name: aws.String("c.example.com."), Type: types.RRTypeCname, TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String("x.org.")}}}),
			change1("CREATE", rrA("c.example.com.", 60, "192.0.2.1")),
		}, []string{"RRSet with DNS name out.example.org. is not permitted in zone example.com.", "weight 300 is outside 0..255",
			"RRSet of type CNAME with DNS name c.example.com. is not permitted"}},
		{"mixed policies", []types.Change{change1("CREATE", rrA("w.example.com.", 60, "192.0.2.7"))},
			[]string{"must use one routing policy, found weighted, simple"}},
		{"missing TTL", []types.Change{change1("CREATE", types.ResourceRecordSet{Name: aws.String("t.example.com."), Type: types.RRTypeA,
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("192.0.2.1")}}})}, []string{"a TTL is required"}},
		{"apex NS", []types.Change{change1("UPSERT", types.ResourceRecordSet{Name: aws.String("example.com."), Type: types.RRTypeNs, TTL: aws.Int64(60),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("ns.elsewhere.")}}})}, []string{"polyregion serves the zone's SOA and apex NS records itself"}},
		{"unknown health check", []types.Change{change1("CREATE", func() types.ResourceRecordSet {
			s := rrA("h.example.com.", 60, "192.0.2.1")
			s.HealthCheckId = aws.String("00000000-0000-4000-8000-000000000000")
			return s
		}())}, []string{"health check 00000000-0000-4000-8000-000000000000 does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.tryChange(id, tc.changes...)
			icb := wantAPIError[*types.InvalidChangeBatch](t, err, "InvalidChangeBatch")
			if len(icb.Messages) < len(tc.want) {
				t.Fatalf("messages %q, want %d", icb.Messages, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(icb.Messages[i], w) {
					t.Errorf("message %d = %q, want it to contain %q", i, icb.Messages[i], w)
				}
			}
		})
	}
	if got := e.list(id); !slices.Equal(got, before) {
		t.Errorf("a rejected batch changed the zone:\n%v\nwas\n%v", got, before)
	}
	if n := e.store.applies.Load(); n != applies {
		t.Errorf("%d control-plane writes for rejected batches, want none", n-applies)
	}
	_, err := e.tryChange("ZNOSUCHZONE", change1("CREATE", rrA("a.example.com.", 60, "192.0.2.1")))
	wantAPIError[*types.NoSuchHostedZone](t, err, "NoSuchHostedZone")
	_, err = e.tryChange(id, types.Change{Action: "RENAME", ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("a.example.com."), Type: types.RRTypeA}})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
}

func TestWeightedGroupSharesTTL(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	e.change(id, change1("CREATE", rrWeighted("w.example.com.", "a", 1, 60, "192.0.2.1")), change1("CREATE", rrWeighted("w.example.com.", "b", 2, 60, "192.0.2.2")))
	e.change(id, change1("UPSERT", rrWeighted("w.example.com.", "b", 3, 30, "192.0.2.2")))
	got := e.list(id)
	want := []string{"w.example.com. A [a] 30 192.0.2.1", "w.example.com. A [b] 30 192.0.2.2"}
	if !slices.Equal(got[2:], want) {
		t.Errorf("weighted group %v, want one TTL, the last written: %v", got[2:], want)
	}
}

func TestRoutingPolicyRoundTrip(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	coll, err := e.client.CreateCidrCollection(ctx(t), &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ChangeCidrCollection(ctx(t), &route53.ChangeCidrCollectionInput{Id: coll.Collection.Id, Changes: []types.CidrCollectionChange{
		{LocationName: aws.String("paris"), Action: types.CidrCollectionChangeActionPut, CidrList: []string{"192.0.2.0/24"}}}}); err != nil {
		t.Fatal(err)
	}
	set := func(name, sid string, f func(*types.ResourceRecordSet)) types.Change {
		s := rrA(name, 60, "192.0.2.1")
		s.SetIdentifier = aws.String(sid)
		f(&s)
		return change1("CREATE", s)
	}
	sets := []types.Change{
		set("lat.example.com.", "eu", func(s *types.ResourceRecordSet) { s.Region = "eu-west" }),
		set("fo.example.com.", "p", func(s *types.ResourceRecordSet) { s.Failover = types.ResourceRecordSetFailoverPrimary }),
		set("geo.example.com.", "us-ca", func(s *types.ResourceRecordSet) {
			s.GeoLocation = &types.GeoLocation{CountryCode: aws.String("US"), SubdivisionCode: aws.String("CA")}
		}),
		set("prox.example.com.", "paris", func(s *types.ResourceRecordSet) {
			s.GeoProximityLocation = &types.GeoProximityLocation{Coordinates: &types.Coordinates{Latitude: aws.String("48.85"), Longitude: aws.String("2.35")}, Bias: aws.Int32(-20)}
		}),
		set("mv.example.com.", "1", func(s *types.ResourceRecordSet) { s.MultiValueAnswer = aws.Bool(true) }),
		set("ip.example.com.", "paris", func(s *types.ResourceRecordSet) {
			s.CidrRoutingConfig = &types.CidrRoutingConfig{CollectionId: coll.Collection.Id, LocationName: aws.String("paris")}
		}),
	}
	e.change(id, sets...)
	out, err := e.client.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]types.ResourceRecordSet{}
	for _, s := range out.ResourceRecordSets {
		byName[*s.Name] = s
	}
	if s := byName["lat.example.com."]; s.Region != "eu-west" {
		t.Errorf("latency %+v", s)
	}
	if s := byName["fo.example.com."]; s.Failover != types.ResourceRecordSetFailoverPrimary {
		t.Errorf("failover %+v", s)
	}
	if s := byName["geo.example.com."]; s.GeoLocation == nil || *s.GeoLocation.SubdivisionCode != "CA" {
		t.Errorf("geolocation %+v", s)
	}
	if s := byName["prox.example.com."]; s.GeoProximityLocation == nil || *s.GeoProximityLocation.Coordinates.Latitude != "48.85" || *s.GeoProximityLocation.Bias != -20 {
		t.Errorf("geoproximity %+v", s)
	}
	if s := byName["mv.example.com."]; s.MultiValueAnswer == nil || !*s.MultiValueAnswer {
		t.Errorf("multivalue %+v", s)
	}
	if s := byName["ip.example.com."]; s.CidrRoutingConfig == nil || *s.CidrRoutingConfig.LocationName != "paris" {
		t.Errorf("ip-based %+v", s)
	}
	// DELETE must repeat the policy fields exactly.
	del := set("geo.example.com.", "us-ca", func(s *types.ResourceRecordSet) {
		s.GeoLocation = &types.GeoLocation{CountryCode: aws.String("US"), SubdivisionCode: aws.String("NY")}
	})
	del.Action = types.ChangeActionDelete
	_, err = e.tryChange(id, del)
	wantAPIError[*types.InvalidChangeBatch](t, err, "InvalidChangeBatch")
}

func TestListResourceRecordSetsPaging(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	var changes []types.Change
	for _, n := range []string{"b", "a.b", "a", "z", "*"} {
		changes = append(changes, change1("CREATE", rrA(n+".example.com.", 60, "192.0.2.1")))
	}
	for _, sid := range []string{"y", "x"} {
		changes = append(changes, change1("CREATE", rrWeighted("w.example.com.", sid, 1, 60, "192.0.2.2")))
	}
	changes = append(changes, change1("CREATE", types.ResourceRecordSet{Name: aws.String("a.example.com."), Type: types.RRTypeTxt, TTL: aws.Int64(60),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(`"hi"`)}}}))
	e.change(id, changes...)
	// Route 53's order: by labels from the root, then type, then set identifier.
	want := []string{"example.com. NS", "example.com. SOA", `\052.example.com. A`, "a.example.com. A", "a.example.com. TXT",
		"b.example.com. A", "a.b.example.com. A", "w.example.com. A [x]", "w.example.com. A [y]", "z.example.com. A"}
	var got []string
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), MaxItems: aws.Int32(3)}
	for {
		out, err := e.client.ListResourceRecordSets(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.ResourceRecordSets {
			d := *s.Name + " " + string(s.Type)
			if s.SetIdentifier != nil {
				d += " [" + *s.SetIdentifier + "]"
			}
			got = append(got, d)
		}
		if !out.IsTruncated {
			break
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
	if !slices.Equal(got, want) {
		t.Errorf("listing\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out, err := e.client.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id),
		StartRecordName: aws.String("w.example.com."), StartRecordType: types.RRTypeA, StartRecordIdentifier: aws.String("y"), MaxItems: aws.Int32(1)})
	if err != nil || len(out.ResourceRecordSets) != 1 || *out.ResourceRecordSets[0].SetIdentifier != "y" || *out.NextRecordName != "z.example.com." {
		t.Errorf("start at w A y: %+v %v", out, err)
	}
	_, err = e.client.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), StartRecordType: types.RRTypeA})
	wantAPIError[*types.InvalidInput](t, err, "InvalidInput")
}

// TestConcurrentChange races another write in between planning a batch and applying it:
// the batch is planned again on the new state.
func TestConcurrentChange(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	e.change(id, change1("CREATE", rrA("www.example.com.", 60, "192.0.2.1")))
	sneak := func(s zone.RecordSet) func() {
		return func() {
			v, _ := json.Marshal(s)
			res, _ := e.node.State().Get(zone.KindRecordSet, zone.RecordSetID(id, &s))
			op := control.Op{Kind: zone.KindRecordSet, ID: zone.RecordSetID(id, &s), Value: v, Expect: control.ExpectAbsent}
			if res.Version != 0 {
				op.Expect, op.Version = control.ExpectVersion, res.Version
			}
			if _, err := e.node.Apply(context.Background(), control.Batch{Ops: []control.Op{op}}); err != nil {
				t.Errorf("sneaked write: %v", err)
			}
		}
	}
	// An UPSERT whose record set changed meanwhile is applied on the new state.
	e.store.setBefore(sneak(zone.RecordSet{Name: "www.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.99"}}))
	e.change(id, change1("UPSERT", rrA("www.example.com.", 60, "192.0.2.2")))
	if got := e.list(id); got[2] != "www.example.com. A 60 192.0.2.2" {
		t.Errorf("after the race: %v", got)
	}
	// A CREATE that loses the race to a concurrent create reports the set as existing.
	e.store.setBefore(sneak(zone.RecordSet{Name: "new.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.7"}}))
	_, err := e.tryChange(id, change1("CREATE", rrA("new.example.com.", 60, "192.0.2.8")))
	icb := wantAPIError[*types.InvalidChangeBatch](t, err, "InvalidChangeBatch")
	if !strings.Contains(icb.Messages[0], "but it already exists") {
		t.Errorf("messages %q", icb.Messages)
	}
}

// TestValidateStateGuardsTheControlPlane writes straight to the control plane, past the
// API: the validator still refuses what would break a zone.
func TestValidateStateGuardsTheControlPlane(t *testing.T) {
	e := newEnv(t)
	id := e.createZone("example.com.", "ref")
	e.change(id, change1("CREATE", rrA("www.example.com.", 60, "192.0.2.1")))
	put := func(kind, rid string, v any) error {
		b, _ := json.Marshal(v)
		_, err := e.node.Apply(ctx(t), control.Batch{Ops: []control.Op{{Kind: kind, ID: rid, Value: b}}})
		return err
	}
	bad := zone.RecordSet{Name: "www.example.com.", Type: "A", TTL: 60, Values: []string{"not-an-ip"}}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"invalid record set", put(zone.KindRecordSet, zone.RecordSetID(id, &bad), bad)},
		{"record set under a wrong id", put(zone.KindRecordSet, id+"|x.example.com. A ", zone.RecordSet{Name: "www.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}})},
		{"record set of a missing zone", put(zone.KindRecordSet, "ZMISSING|a.example.com. A ", zone.RecordSet{Name: "a.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}})},
		{"second zone of one name", put(zone.KindHostedZone, "ZSECOND", zone.HostedZone{ID: "ZSECOND", Name: "example.com."})},
		{"deleting a zone with record sets", func() error {
			_, err := e.node.Apply(ctx(t), control.Batch{Ops: []control.Op{{Kind: zone.KindHostedZone, ID: id, Delete: true}}})
			return err
		}()},
	} {
		if !strings.Contains(fmt.Sprint(tc.err), "invalid change") {
			t.Errorf("%s: Apply = %v, want the validator to refuse it", tc.name, tc.err)
		}
	}
	if err := ValidateState(e.node.State(), nil); err != nil {
		t.Errorf("ValidateState without ops: %v", err)
	}
}
