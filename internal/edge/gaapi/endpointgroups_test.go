package gaapi

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"

	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
)

func endpoints(ids ...string) []types.EndpointConfiguration {
	var out []types.EndpointConfiguration
	for _, id := range ids {
		out = append(out, types.EndpointConfiguration{EndpointId: aws.String(id)})
	}
	return out
}

func TestEndpointGroupDefaults(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 443, 444)
	out, err := e.client.CreateEndpointGroup(ctx(t), &globalaccelerator.CreateEndpointGroupInput{
		ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("eu-west"), EndpointConfigurations: endpoints("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	g := out.EndpointGroup
	if !groupArnRe.MatchString(*g.EndpointGroupArn) || *g.EndpointGroupRegion != "eu-west" || *g.TrafficDialPercentage != 100 ||
		g.HealthCheckProtocol != types.HealthCheckProtocolTcp || *g.HealthCheckIntervalSeconds != 30 || *g.ThresholdCount != 3 ||
		*g.HealthCheckPort != 443 || g.HealthCheckPath != nil || len(g.PortOverrides) != 0 {
		t.Errorf("group %+v", g)
	}
	if len(g.EndpointDescriptions) != 1 {
		t.Fatalf("endpoints %+v", g.EndpointDescriptions)
	}
	ep := g.EndpointDescriptions[0]
	if *ep.EndpointId != "192.0.2.1" || *ep.Weight != 128 || *ep.ClientIPPreservationEnabled || ep.HealthState != types.HealthStateInitial {
		t.Errorf("endpoint %+v", ep)
	}
	stored, _ := e.stored(acc)
	sg := stored.Listeners[0].EndpointGroups[0]
	if sg.EndpointGroupArn != *g.EndpointGroupArn || sg.TrafficDialPercentage != 100 || sg.HealthCheckPort != 0 || sg.Endpoints[0].Weight != 128 {
		t.Errorf("stored %+v", sg)
	}

	// Every member given.
	out, err = e.client.CreateEndpointGroup(ctx(t), &globalaccelerator.CreateEndpointGroupInput{
		ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"),
		EndpointConfigurations: []types.EndpointConfiguration{{EndpointId: aws.String("198.51.100.7:8443"), Weight: aws.Int32(0), ClientIPPreservationEnabled: aws.Bool(true)}},
		TrafficDialPercentage:  aws.Float32(0), HealthCheckProtocol: types.HealthCheckProtocolHttps, HealthCheckPort: aws.Int32(9443),
		HealthCheckIntervalSeconds: aws.Int32(10), ThresholdCount: aws.Int32(5),
		PortOverrides: []types.PortOverride{{ListenerPort: aws.Int32(443), EndpointPort: aws.Int32(1443)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g = out.EndpointGroup
	if *g.TrafficDialPercentage != 0 || g.HealthCheckProtocol != types.HealthCheckProtocolHttps || *g.HealthCheckPath != "/" || *g.HealthCheckPort != 9443 ||
		*g.HealthCheckIntervalSeconds != 10 || *g.ThresholdCount != 5 || len(g.PortOverrides) != 1 || *g.PortOverrides[0].EndpointPort != 1443 {
		t.Errorf("group %+v", g)
	}
	if ep := g.EndpointDescriptions[0]; *ep.Weight != 0 || !*ep.ClientIPPreservationEnabled {
		t.Errorf("endpoint %+v", ep)
	}

	d, err := e.client.DescribeEndpointGroup(ctx(t), &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: g.EndpointGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	if *d.EndpointGroup.EndpointGroupRegion != "us-east" || *d.EndpointGroup.HealthCheckPath != "/" {
		t.Errorf("described %+v", d.EndpointGroup)
	}
}

func TestEndpointGroupErrors(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	u := e.createListener(acc, types.ProtocolUdp, 53, 53)
	e.createGroup(l, "eu-west", "192.0.2.1")
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("192.0.2.%d", i+1))
	}
	for _, tc := range []struct {
		name string
		in   globalaccelerator.CreateEndpointGroupInput
		code string
	}{
		{"second group in a region", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("eu-west")}, "EndpointGroupAlreadyExistsException"},
		{"region not in the fleet", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-west-2")}, "InvalidArgumentException"},
		{"unknown listener", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l + "0"), EndpointGroupRegion: aws.String("us-east")}, "ListenerNotFoundException"},
		{"unknown accelerator", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String("arn:aws:globalaccelerator::000000000000:accelerator/00000000-0000-4000-8000-000000000000/listener/01234567"), EndpointGroupRegion: aws.String("us-east")}, "ListenerNotFoundException"},
		{"too many endpoints", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), EndpointConfigurations: endpoints(eleven...)}, "LimitExceededException"},
		{"endpoint not an address", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), EndpointConfigurations: endpoints("i-0123456789")}, "InvalidArgumentException"},
		{"endpoint twice", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), EndpointConfigurations: endpoints("192.0.2.1", "192.0.2.1")}, "InvalidArgumentException"},
		{"weight", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), EndpointConfigurations: []types.EndpointConfiguration{{EndpointId: aws.String("192.0.2.1"), Weight: aws.Int32(256)}}}, "InvalidArgumentException"},
		{"dial", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), TrafficDialPercentage: aws.Float32(101)}, "InvalidArgumentException"},
		{"interval", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), HealthCheckIntervalSeconds: aws.Int32(15)}, "InvalidArgumentException"},
		{"threshold", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), ThresholdCount: aws.Int32(11)}, "InvalidArgumentException"},
		{"HTTP check of UDP", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(u), EndpointGroupRegion: aws.String("us-east"), HealthCheckProtocol: types.HealthCheckProtocolHttp}, "InvalidArgumentException"},
		{"override of no listener port", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), PortOverrides: []types.PortOverride{{ListenerPort: aws.Int32(81), EndpointPort: aws.Int32(8081)}}}, "InvalidArgumentException"},
		{"attachment", globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("us-east"), EndpointConfigurations: []types.EndpointConfiguration{{EndpointId: aws.String("192.0.2.1"), AttachmentArn: aws.String("arn:aws:globalaccelerator::1:attachment/x")}}}, "InvalidArgumentException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateEndpointGroup(ctx(t), &tc.in)
			wantCode(t, err, tc.code)
		})
	}
	if stored, _ := e.stored(acc); len(stored.Listeners[0].EndpointGroups) != 1 || len(stored.Listeners[1].EndpointGroups) != 0 {
		t.Errorf("stored %+v", stored.Listeners)
	}
	for _, arn := range []string{l + "/endpoint-group/000000000000", l, "nonsense"} {
		_, err := e.client.DescribeEndpointGroup(ctx(t), &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
		wantCode(t, err, "EndpointGroupNotFoundException")
		_, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
		wantCode(t, err, "EndpointGroupNotFoundException")
		_, err = e.client.DeleteEndpointGroup(ctx(t), &globalaccelerator.DeleteEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
		wantCode(t, err, "EndpointGroupNotFoundException")
		_, err = e.client.AddEndpoints(ctx(t), &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(arn), EndpointConfigurations: endpoints("192.0.2.9")})
		wantCode(t, err, "EndpointGroupNotFoundException")
		_, err = e.client.RemoveEndpoints(ctx(t), &globalaccelerator.RemoveEndpointsInput{EndpointGroupArn: aws.String(arn),
			EndpointIdentifiers: []types.EndpointIdentifier{{EndpointId: aws.String("192.0.2.1")}}})
		wantCode(t, err, "EndpointGroupNotFoundException")
	}
	_, err := e.client.ListEndpointGroups(ctx(t), &globalaccelerator.ListEndpointGroupsInput{ListenerArn: aws.String(l + "0")})
	wantCode(t, err, "ListenerNotFoundException")
}

func TestEndpointGroupIdempotencyToken(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	in := &globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(l), EndpointGroupRegion: aws.String("eu-west"),
		EndpointConfigurations: endpoints("192.0.2.1"), IdempotencyToken: aws.String("group-token")}
	first, err := e.client.CreateEndpointGroup(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreateEndpointGroup(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if *first.EndpointGroup.EndpointGroupArn != *again.EndpointGroup.EndpointGroupArn || len(again.EndpointGroup.EndpointDescriptions) != 1 {
		t.Errorf("same token: %+v and %+v", first.EndpointGroup, again.EndpointGroup)
	}
	// Another token in the same region is a second group there.
	in.IdempotencyToken = aws.String("other-token")
	_, err = e.client.CreateEndpointGroup(ctx(t), in)
	wantCode(t, err, "EndpointGroupAlreadyExistsException")
}

func TestUpdateEndpointGroup(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	g := e.createGroup(l, "eu-west", "192.0.2.1", "192.0.2.2")

	// Only what is given changes; endpoints stay when not given.
	out, err := e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g),
		TrafficDialPercentage: aws.Float32(25), HealthCheckProtocol: types.HealthCheckProtocolHttp, HealthCheckPath: aws.String("/healthz")})
	if err != nil {
		t.Fatal(err)
	}
	eg := out.EndpointGroup
	if *eg.TrafficDialPercentage != 25 || eg.HealthCheckProtocol != types.HealthCheckProtocolHttp || *eg.HealthCheckPath != "/healthz" || len(eg.EndpointDescriptions) != 2 {
		t.Errorf("updated %+v", eg)
	}
	// Endpoints given replace the group's.
	out, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g),
		EndpointConfigurations: []types.EndpointConfiguration{{EndpointId: aws.String("192.0.2.3"), Weight: aws.Int32(7)}}, HealthCheckProtocol: types.HealthCheckProtocolTcp})
	if err != nil {
		t.Fatal(err)
	}
	eg = out.EndpointGroup
	if len(eg.EndpointDescriptions) != 1 || *eg.EndpointDescriptions[0].EndpointId != "192.0.2.3" || *eg.EndpointDescriptions[0].Weight != 7 ||
		eg.HealthCheckProtocol != types.HealthCheckProtocolTcp || eg.HealthCheckPath != nil || *eg.TrafficDialPercentage != 25 {
		t.Errorf("updated %+v", eg)
	}
	stored, _ := e.stored(acc)
	sg := stored.Listeners[0].EndpointGroups[0]
	if len(sg.Endpoints) != 1 || sg.Endpoints[0].EndpointId != "192.0.2.3" || sg.TrafficDialPercentage != 25 || sg.HealthCheckPath != "" {
		t.Errorf("stored %+v", sg)
	}
	// An empty list removes every endpoint.
	out, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g), EndpointConfigurations: []types.EndpointConfiguration{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.EndpointGroup.EndpointDescriptions) != 0 {
		t.Errorf("endpoints %+v", out.EndpointGroup.EndpointDescriptions)
	}
	_, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g), TrafficDialPercentage: aws.Float32(-1)})
	wantCode(t, err, "InvalidArgumentException")
	_, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g), EndpointConfigurations: endpoints(
		"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8", "192.0.2.9", "192.0.2.10", "192.0.2.11")})
	wantCode(t, err, "LimitExceededException")
	_, err = e.client.UpdateEndpointGroup(ctx(t), &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(g), HealthCheckPort: aws.Int32(70000)})
	wantCode(t, err, "InvalidArgumentException")
}

func TestAddAndRemoveEndpoints(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	g := e.createGroup(l, "eu-west", "192.0.2.1")

	out, err := e.client.AddEndpoints(ctx(t), &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(g), EndpointConfigurations: []types.EndpointConfiguration{
		{EndpointId: aws.String("192.0.2.2")},
		{EndpointId: aws.String("192.0.2.1"), Weight: aws.Int32(200), ClientIPPreservationEnabled: aws.Bool(true)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if *out.EndpointGroupArn != g || len(out.EndpointDescriptions) != 2 {
		t.Fatalf("added %+v", out)
	}
	if d := out.EndpointDescriptions[0]; *d.EndpointId != "192.0.2.2" || *d.Weight != 128 || *d.ClientIPPreservationEnabled || d.HealthState != types.HealthStateInitial {
		t.Errorf("new endpoint %+v", d)
	}
	// An endpoint already in the group is updated, not refused.
	if d := out.EndpointDescriptions[1]; *d.EndpointId != "192.0.2.1" || *d.Weight != 200 || !*d.ClientIPPreservationEnabled {
		t.Errorf("updated endpoint %+v", d)
	}
	stored, _ := e.stored(acc)
	if eps := stored.Listeners[0].EndpointGroups[0].Endpoints; len(eps) != 2 || eps[0].Weight != 200 || eps[1].EndpointId != "192.0.2.2" {
		t.Errorf("stored %+v", eps)
	}

	var many []types.EndpointConfiguration
	for i := range 9 {
		many = append(many, types.EndpointConfiguration{EndpointId: aws.String(fmt.Sprintf("198.51.100.%d", i+1))})
	}
	_, err = e.client.AddEndpoints(ctx(t), &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(g), EndpointConfigurations: many})
	wantCode(t, err, "LimitExceededException")
	_, err = e.client.AddEndpoints(ctx(t), &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(g), EndpointConfigurations: endpoints("host.example")})
	wantCode(t, err, "InvalidArgumentException")

	if _, err := e.client.RemoveEndpoints(ctx(t), &globalaccelerator.RemoveEndpointsInput{EndpointGroupArn: aws.String(g),
		EndpointIdentifiers: []types.EndpointIdentifier{{EndpointId: aws.String("192.0.2.1")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := e.client.DescribeEndpointGroup(ctx(t), &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(g)})
	if err != nil {
		t.Fatal(err)
	}
	if eps := d.EndpointGroup.EndpointDescriptions; len(eps) != 1 || *eps[0].EndpointId != "192.0.2.2" {
		t.Errorf("endpoints %+v", eps)
	}
	// An unknown endpoint fails the whole request: 192.0.2.2 stays.
	_, err = e.client.RemoveEndpoints(ctx(t), &globalaccelerator.RemoveEndpointsInput{EndpointGroupArn: aws.String(g),
		EndpointIdentifiers: []types.EndpointIdentifier{{EndpointId: aws.String("192.0.2.2")}, {EndpointId: aws.String("192.0.2.1")}}})
	wantCode(t, err, "EndpointNotFoundException")
	if stored, _ := e.stored(acc); len(stored.Listeners[0].EndpointGroups[0].Endpoints) != 1 {
		t.Errorf("stored %+v", stored.Listeners[0].EndpointGroups[0].Endpoints)
	}
}

func TestHealthStates(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	g := e.createGroup(l, "eu-west", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")
	e.status.set(health.CheckStatus{ID: edge.HealthCheckID(g, "192.0.2.2"), State: health.StateInitializing, Healthy: true, Initializing: true})
	e.status.set(health.CheckStatus{ID: edge.HealthCheckID(g, "192.0.2.3"), State: health.StateHealthy, Healthy: true, Reason: "3 of 3 regions reach it"})
	e.status.set(health.CheckStatus{ID: edge.HealthCheckID(g, "192.0.2.4"), State: health.StateUnhealthy, Reason: "connection refused"})
	d, err := e.client.DescribeEndpointGroup(ctx(t), &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(g)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ep := range d.EndpointGroup.EndpointDescriptions {
		got = append(got, *ep.EndpointId+" "+string(ep.HealthState)+" "+*ep.HealthReason)
	}
	want := []string{
		"192.0.2.1 INITIAL Health checks of the endpoint have not reported yet",
		"192.0.2.2 INITIAL Health checks of the endpoint have not reported yet",
		"192.0.2.3 HEALTHY 3 of 3 regions reach it",
		"192.0.2.4 UNHEALTHY connection refused",
	}
	if !slices.Equal(got, want) {
		t.Errorf("health:\n%q\nwant\n%q", got, want)
	}
	list, err := e.client.ListEndpointGroups(ctx(t), &globalaccelerator.ListEndpointGroupsInput{ListenerArn: aws.String(l)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.EndpointGroups) != 1 || list.EndpointGroups[0].EndpointDescriptions[3].HealthState != types.HealthStateUnhealthy {
		t.Errorf("listed %+v", list.EndpointGroups)
	}
}

func TestListEndpointGroupsPaging(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	var want []string
	for _, r := range testRegions {
		want = append(want, e.createGroup(l, r))
	}
	slices.Sort(want)
	var got []string
	p := globalaccelerator.NewListEndpointGroupsPaginator(e.client, &globalaccelerator.ListEndpointGroupsInput{ListenerArn: aws.String(l), MaxResults: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.EndpointGroups {
			got = append(got, *g.EndpointGroupArn)
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("%d pages of %v, want %v", pages, got, want)
	}
}
