package gaapi

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"

	"github.com/polyregion/polyregion/internal/edge"
)

func ports(pairs ...int32) []types.PortRange {
	var out []types.PortRange
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, types.PortRange{FromPort: aws.Int32(pairs[i]), ToPort: aws.Int32(pairs[i+1])})
	}
	return out
}

func TestListenerLifecycle(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	out, err := e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{
		AcceleratorArn: aws.String(acc), Protocol: types.ProtocolTcp, PortRanges: ports(80, 80, 443, 443)})
	if err != nil {
		t.Fatal(err)
	}
	l := out.Listener
	if !listenerArnRe.MatchString(*l.ListenerArn) || l.Protocol != types.ProtocolTcp || l.ClientAffinity != types.ClientAffinityNone ||
		len(l.PortRanges) != 2 || *l.PortRanges[1].FromPort != 443 {
		t.Errorf("listener %+v (%s)", l, *l.ListenerArn)
	}
	stored, _ := e.stored(acc)
	if len(stored.Listeners) != 1 || stored.Listeners[0].ListenerArn != *l.ListenerArn || stored.Listeners[0].ClientAffinity != edge.AffinityNone {
		t.Errorf("stored %+v", stored.Listeners)
	}

	d, err := e.client.DescribeListener(ctx(t), &globalaccelerator.DescribeListenerInput{ListenerArn: l.ListenerArn})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Listener.ListenerArn != *l.ListenerArn || len(d.Listener.PortRanges) != 2 {
		t.Errorf("described %+v", d.Listener)
	}

	u, err := e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{
		ListenerArn: l.ListenerArn, ClientAffinity: types.ClientAffinitySourceIp, PortRanges: ports(8080, 8081)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Listener.ClientAffinity != types.ClientAffinitySourceIp || u.Listener.Protocol != types.ProtocolTcp ||
		len(u.Listener.PortRanges) != 1 || *u.Listener.PortRanges[0].ToPort != 8081 {
		t.Errorf("updated %+v", u.Listener)
	}
	u, err = e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{ListenerArn: l.ListenerArn, Protocol: types.ProtocolUdp})
	if err != nil {
		t.Fatal(err)
	}
	if u.Listener.Protocol != types.ProtocolUdp || u.Listener.ClientAffinity != types.ClientAffinitySourceIp || *u.Listener.PortRanges[0].FromPort != 8080 {
		t.Errorf("updated %+v", u.Listener)
	}
	_, err = e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{ListenerArn: l.ListenerArn, ClientAffinity: "STICKY"})
	wantCode(t, err, "InvalidArgumentException")

	if _, err := e.client.DeleteListener(ctx(t), &globalaccelerator.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeListener(ctx(t), &globalaccelerator.DescribeListenerInput{ListenerArn: l.ListenerArn})
	wantCode(t, err, "ListenerNotFoundException")
	_, err = e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{ListenerArn: l.ListenerArn, Protocol: types.ProtocolTcp})
	wantCode(t, err, "ListenerNotFoundException")
	_, err = e.client.DescribeListener(ctx(t), &globalaccelerator.DescribeListenerInput{ListenerArn: aws.String(acc)})
	wantCode(t, err, "ListenerNotFoundException")
	_, err = e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{
		AcceleratorArn: aws.String(acc + "0"), Protocol: types.ProtocolTcp, PortRanges: ports(80, 80)})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{
		AcceleratorArn: aws.String(acc), Protocol: "SCTP", PortRanges: ports(80, 80)})
	wantCode(t, err, "InvalidArgumentException")
}

func TestListenerIdempotencyToken(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	in := &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(acc), Protocol: types.ProtocolUdp,
		PortRanges: ports(53, 53), IdempotencyToken: aws.String("listener-token")}
	first, err := e.client.CreateListener(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreateListener(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if *first.Listener.ListenerArn != *again.Listener.ListenerArn {
		t.Errorf("same token, another listener: %s and %s", *first.Listener.ListenerArn, *again.Listener.ListenerArn)
	}
	if stored, _ := e.stored(acc); len(stored.Listeners) != 1 {
		t.Errorf("%d listeners stored", len(stored.Listeners))
	}
}

func TestListListenersPaging(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	var want []string
	for i := range int32(5) {
		want = append(want, e.createListener(acc, types.ProtocolTcp, 1000+i, 1000+i))
	}
	slices.Sort(want)
	var got []string
	pages := 0
	p := globalaccelerator.NewListListenersPaginator(e.client, &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(acc), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range out.Listeners {
			got = append(got, *l.ListenerArn)
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("%d pages of %v, want %v", pages, got, want)
	}
	_, err := e.client.ListListeners(ctx(t), &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(acc + "0")})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.ListListeners(ctx(t), &globalaccelerator.ListListenersInput{AcceleratorArn: aws.String(acc), NextToken: aws.String("eA")})
	wantCode(t, err, "InvalidNextTokenException")
}

func TestListenerPortErrors(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	other := e.createAccelerator("api")
	e.createListener(acc, types.ProtocolTcp, 80, 90)
	create := func(arn string, proto types.Protocol, r []types.PortRange) error {
		_, err := e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(arn), Protocol: proto, PortRanges: r})
		return err
	}
	for _, tc := range []struct {
		name  string
		arn   string
		proto types.Protocol
		r     []types.PortRange
		code  string
	}{
		{"port 0", acc, types.ProtocolTcp, ports(0, 10), "InvalidPortRangeException"},
		{"port 65536", acc, types.ProtocolTcp, ports(65530, 65536), "InvalidPortRangeException"},
		{"reversed", acc, types.ProtocolTcp, ports(20, 10), "InvalidPortRangeException"},
		{"own ranges overlap", acc, types.ProtocolTcp, ports(100, 110, 105, 120), "InvalidPortRangeException"},
		{"same accelerator", acc, types.ProtocolTcp, ports(85, 85), "InvalidPortRangeException"},
		{"another accelerator", other, types.ProtocolTcp, ports(90, 100), "InvalidPortRangeException"},
		{"too many ranges", acc, types.ProtocolTcp, ports(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11), "LimitExceededException"},
		{"too many ports", acc, types.ProtocolTcp, ports(2000, 3100), "LimitExceededException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, create(tc.arn, tc.proto, tc.r), tc.code)
		})
	}
	// Another protocol may use the same ports.
	if err := create(other, types.ProtocolUdp, ports(80, 90)); err != nil {
		t.Fatal(err)
	}
	// An update into another accelerator's ports is refused too.
	l := e.createListener(other, types.ProtocolTcp, 443, 443)
	_, err := e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{ListenerArn: aws.String(l), PortRanges: ports(88, 88)})
	wantCode(t, err, "InvalidPortRangeException")
	_, err = e.client.UpdateListener(ctx(t), &globalaccelerator.UpdateListenerInput{ListenerArn: aws.String(l), PortRanges: ports(0, 1)})
	wantCode(t, err, "InvalidPortRangeException")
	if stored, _ := e.stored(other); len(stored.Listeners) != 2 || stored.Listeners[1].PortRanges[0].FromPort != 443 {
		t.Errorf("stored %+v", stored.Listeners)
	}
}

func TestListenerLimit(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	for i := range int32(edge.MaxListeners) {
		e.createListener(acc, types.ProtocolTcp, 100+i, 100+i)
	}
	_, err := e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{
		AcceleratorArn: aws.String(acc), Protocol: types.ProtocolTcp, PortRanges: ports(200, 200)})
	wantCode(t, err, "LimitExceededException")
}
