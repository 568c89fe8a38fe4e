package gaapi

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
)

var (
	acceleratorArnRe = regexp.MustCompile(`^arn:aws:globalaccelerator::000000000000:accelerator/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	listenerArnRe    = regexp.MustCompile(`^arn:aws:globalaccelerator::000000000000:accelerator/[0-9a-f-]{36}/listener/[0-9a-f]{8}$`)
	groupArnRe       = regexp.MustCompile(`^arn:aws:globalaccelerator::000000000000:accelerator/[0-9a-f-]{36}/listener/[0-9a-f]{8}/endpoint-group/[0-9a-f]{12}$`)
)

func TestCreateAndDescribeAccelerator(t *testing.T) {
	e := newEnv(t)
	before := time.Now().Add(-time.Second)
	out, err := e.client.CreateAccelerator(ctx(t), &globalaccelerator.CreateAcceleratorInput{Name: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	acc := out.Accelerator
	if !acceleratorArnRe.MatchString(*acc.AcceleratorArn) {
		t.Errorf("ARN %s", *acc.AcceleratorArn)
	}
	id := (*acc.AcceleratorArn)[strings.LastIndexByte(*acc.AcceleratorArn, '/')+1:]
	if *acc.Name != "web" || !*acc.Enabled || acc.IpAddressType != types.IpAddressTypeIpv4 || acc.Status != types.AcceleratorStatusDeployed {
		t.Errorf("accelerator %+v", acc)
	}
	if *acc.DnsName != id+".awsglobalaccelerator.polyregion" || acc.DualStackDnsName != nil {
		t.Errorf("DNS names %v %v", *acc.DnsName, acc.DualStackDnsName)
	}
	if len(acc.IpSets) != 1 || acc.IpSets[0].IpAddressFamily != types.IpAddressFamilyIPv4 ||
		!slices.Equal(acc.IpSets[0].IpAddresses, []string{"192.0.2.10", "192.0.2.11"}) {
		t.Errorf("IpSets %+v", acc.IpSets)
	}
	if acc.CreatedTime.Before(before) || acc.CreatedTime.After(time.Now().Add(time.Second)) || !acc.LastModifiedTime.Equal(*acc.CreatedTime) {
		t.Errorf("times %v %v", acc.CreatedTime, acc.LastModifiedTime)
	}
	stored, ok := e.stored(*acc.AcceleratorArn)
	if !ok || stored.Name != "web" || !stored.Enabled || stored.IpAddressType != "IPV4" || stored.AcceleratorArn != *acc.AcceleratorArn {
		t.Errorf("stored %+v", stored)
	}

	d, err := e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: acc.AcceleratorArn})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Accelerator.AcceleratorArn != *acc.AcceleratorArn || *d.Accelerator.Name != "web" || !d.Accelerator.CreatedTime.Equal(*acc.CreatedTime) {
		t.Errorf("described %+v", d.Accelerator)
	}

	_, err = e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{
		AcceleratorArn: aws.String("arn:aws:globalaccelerator::000000000000:accelerator/00000000-0000-4000-8000-000000000000")})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String("not-an-arn")})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{
		AcceleratorArn: aws.String(strings.Replace(*acc.AcceleratorArn, "000000000000", "111111111111", 1))})
	wantCode(t, err, "AcceleratorNotFoundException")
}

func TestCreateAcceleratorDualStackAndDisabled(t *testing.T) {
	e := newEnv(t)
	out, err := e.client.CreateAccelerator(ctx(t), &globalaccelerator.CreateAcceleratorInput{
		Name: aws.String("dual"), IpAddressType: types.IpAddressTypeDualStack, Enabled: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	acc := out.Accelerator
	if *acc.Enabled || acc.IpAddressType != types.IpAddressTypeDualStack {
		t.Errorf("accelerator %+v", acc)
	}
	if len(acc.IpSets) != 2 || !slices.Equal(acc.IpSets[1].IpAddresses, []string{"2001:db8::10"}) || acc.IpSets[1].IpAddressFamily != types.IpAddressFamilyIPv6 {
		t.Errorf("IpSets %+v", acc.IpSets)
	}
	if acc.DualStackDnsName == nil || !strings.HasSuffix(*acc.DualStackDnsName, ".dualstack.awsglobalaccelerator.polyregion") {
		t.Errorf("DualStackDnsName %v", acc.DualStackDnsName)
	}
}

func TestCreateAcceleratorIdempotencyToken(t *testing.T) {
	e := newEnv(t)
	in := &globalaccelerator.CreateAcceleratorInput{Name: aws.String("web"), IdempotencyToken: aws.String("token-1")}
	first, err := e.client.CreateAccelerator(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	applies := e.store.applies.Load()
	again, err := e.client.CreateAccelerator(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if *again.Accelerator.AcceleratorArn != *first.Accelerator.AcceleratorArn {
		t.Errorf("same token, another accelerator: %s and %s", *first.Accelerator.AcceleratorArn, *again.Accelerator.AcceleratorArn)
	}
	if n := e.store.applies.Load(); n != applies {
		t.Errorf("the retry wrote %d times", n-applies)
	}
	other, err := e.client.CreateAccelerator(ctx(t), &globalaccelerator.CreateAcceleratorInput{Name: aws.String("web"), IdempotencyToken: aws.String("token-2")})
	if err != nil {
		t.Fatal(err)
	}
	if *other.Accelerator.AcceleratorArn == *first.Accelerator.AcceleratorArn {
		t.Error("another token, the same accelerator")
	}
	list, err := e.client.ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Accelerators) != 2 {
		t.Errorf("%d accelerators, want 2", len(list.Accelerators))
	}
}

func TestCreateAcceleratorInvalid(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		in   globalaccelerator.CreateAcceleratorInput
		code string
		msg  string
	}{
		{"bad name", globalaccelerator.CreateAcceleratorInput{Name: aws.String("-web")}, "InvalidArgumentException", "Name"},
		{"long name", globalaccelerator.CreateAcceleratorInput{Name: aws.String(strings.Repeat("a", 65))}, "InvalidArgumentException", "Name"},
		{"ip type", globalaccelerator.CreateAcceleratorInput{Name: aws.String("web"), IpAddressType: "IPV6"}, "InvalidArgumentException", "IpAddressType"},
		{"byoip", globalaccelerator.CreateAcceleratorInput{Name: aws.String("web"), IpAddresses: []string{"198.51.100.1"}}, "InvalidArgumentException", "IpAddresses"},
		{"tag key", globalaccelerator.CreateAcceleratorInput{Name: aws.String("web"), Tags: []types.Tag{{Key: aws.String(""), Value: aws.String("v")}}}, "InvalidArgumentException", "Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateAccelerator(ctx(t), &tc.in)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %v does not name %s", err, tc.msg)
			}
		})
	}
	if n := len(e.node.State().List("accelerator")); n != 0 {
		t.Errorf("%d accelerators stored", n)
	}
}

func TestListAcceleratorsPaging(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 5 {
		want = append(want, e.createAccelerator("acc-"+string(rune('a'+i))))
	}
	slices.Sort(want)
	var got []string
	pages := 0
	p := globalaccelerator.NewListAcceleratorsPaginator(e.client, &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Accelerators) > 2 {
			t.Errorf("page of %d", len(out.Accelerators))
		}
		for _, a := range out.Accelerators {
			got = append(got, *a.AcceleratorArn)
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("%d pages of %v, want %v", pages, got, want)
	}
	all, err := e.client.ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Accelerators) != 5 || all.NextToken != nil {
		t.Errorf("default page: %d, next %v", len(all.Accelerators), all.NextToken)
	}
	_, err = e.client.ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{NextToken: aws.String("bogus!")})
	wantCode(t, err, "InvalidNextTokenException")
	_, err = e.client.ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(0)})
	wantCode(t, err, "InvalidArgumentException")
	_, err = e.client.ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{MaxResults: aws.Int32(101)})
	wantCode(t, err, "InvalidArgumentException")
}

func TestUpdateAccelerator(t *testing.T) {
	e := newEnv(t)
	arn := e.createAccelerator("web")
	out, err := e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{
		AcceleratorArn: aws.String(arn), Name: aws.String("web2"), Enabled: aws.Bool(false), IpAddressType: types.IpAddressTypeDualStack})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Accelerator.Name != "web2" || *out.Accelerator.Enabled || out.Accelerator.IpAddressType != types.IpAddressTypeDualStack {
		t.Errorf("updated %+v", out.Accelerator)
	}
	if stored, _ := e.stored(arn); stored.Enabled || stored.Name != "web2" {
		t.Errorf("stored %+v", stored)
	}
	// Members not given stay as they are.
	out, err = e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(arn), Enabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Accelerator.Name != "web2" || !*out.Accelerator.Enabled {
		t.Errorf("updated %+v", out.Accelerator)
	}
	_, err = e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(arn), Name: aws.String("bad name")})
	wantCode(t, err, "InvalidArgumentException")
	_, err = e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(arn + "0")})
	wantCode(t, err, "AcceleratorNotFoundException")
}

// TestDeleteOrder walks Global Accelerator's deletion order: endpoint groups, then
// listeners, then a disabled accelerator.
func TestDeleteOrder(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	l := e.createListener(acc, types.ProtocolTcp, 80, 80)
	g := e.createGroup(l, "eu-west", "192.0.2.1")

	_, err := e.client.DeleteAccelerator(ctx(t), &globalaccelerator.DeleteAcceleratorInput{AcceleratorArn: aws.String(acc)})
	wantCode(t, err, "AcceleratorNotDisabledException")
	if _, err := e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(acc), Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteAccelerator(ctx(t), &globalaccelerator.DeleteAcceleratorInput{AcceleratorArn: aws.String(acc)})
	wantCode(t, err, "AssociatedListenerFoundException")
	_, err = e.client.DeleteListener(ctx(t), &globalaccelerator.DeleteListenerInput{ListenerArn: aws.String(l)})
	wantCode(t, err, "AssociatedEndpointGroupFoundException")

	if _, err := e.client.DeleteEndpointGroup(ctx(t), &globalaccelerator.DeleteEndpointGroupInput{EndpointGroupArn: aws.String(g)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteEndpointGroup(ctx(t), &globalaccelerator.DeleteEndpointGroupInput{EndpointGroupArn: aws.String(g)})
	wantCode(t, err, "EndpointGroupNotFoundException")
	if _, err := e.client.DeleteListener(ctx(t), &globalaccelerator.DeleteListenerInput{ListenerArn: aws.String(l)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteListener(ctx(t), &globalaccelerator.DeleteListenerInput{ListenerArn: aws.String(l)})
	wantCode(t, err, "ListenerNotFoundException")
	if _, err := e.client.DeleteAccelerator(ctx(t), &globalaccelerator.DeleteAcceleratorInput{AcceleratorArn: aws.String(acc)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.stored(acc); ok {
		t.Error("the accelerator is still stored")
	}
	_, err = e.client.DeleteAccelerator(ctx(t), &globalaccelerator.DeleteAcceleratorInput{AcceleratorArn: aws.String(acc)})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String(acc)})
	wantCode(t, err, "AcceleratorNotFoundException")
}

func TestAcceleratorAttributes(t *testing.T) {
	e := newEnv(t)
	arn := e.createAccelerator("web")
	d, err := e.client.DescribeAcceleratorAttributes(ctx(t), &globalaccelerator.DescribeAcceleratorAttributesInput{AcceleratorArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if *d.AcceleratorAttributes.FlowLogsEnabled || d.AcceleratorAttributes.FlowLogsS3Bucket != nil {
		t.Errorf("default attributes %+v", d.AcceleratorAttributes)
	}
	_, err = e.client.UpdateAcceleratorAttributes(ctx(t), &globalaccelerator.UpdateAcceleratorAttributesInput{AcceleratorArn: aws.String(arn), FlowLogsEnabled: aws.Bool(true)})
	wantCode(t, err, "InvalidArgumentException")
	u, err := e.client.UpdateAcceleratorAttributes(ctx(t), &globalaccelerator.UpdateAcceleratorAttributesInput{
		AcceleratorArn: aws.String(arn), FlowLogsEnabled: aws.Bool(true), FlowLogsS3Bucket: aws.String("logs"), FlowLogsS3Prefix: aws.String("ga/")})
	if err != nil {
		t.Fatal(err)
	}
	if !*u.AcceleratorAttributes.FlowLogsEnabled || *u.AcceleratorAttributes.FlowLogsS3Bucket != "logs" || *u.AcceleratorAttributes.FlowLogsS3Prefix != "ga/" {
		t.Errorf("updated attributes %+v", u.AcceleratorAttributes)
	}
	d, err = e.client.DescribeAcceleratorAttributes(ctx(t), &globalaccelerator.DescribeAcceleratorAttributesInput{AcceleratorArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if !*d.AcceleratorAttributes.FlowLogsEnabled || *d.AcceleratorAttributes.FlowLogsS3Bucket != "logs" {
		t.Errorf("described attributes %+v", d.AcceleratorAttributes)
	}
	// The document stays an edge.Accelerator to its other readers.
	if stored, ok := e.stored(arn); !ok || stored.Name != "web" {
		t.Errorf("stored %+v", stored)
	}
	_, err = e.client.DescribeAcceleratorAttributes(ctx(t), &globalaccelerator.DescribeAcceleratorAttributesInput{AcceleratorArn: aws.String(arn + "0")})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.UpdateAcceleratorAttributes(ctx(t), &globalaccelerator.UpdateAcceleratorAttributesInput{AcceleratorArn: aws.String(arn + "0")})
	wantCode(t, err, "AcceleratorNotFoundException")
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	out, err := e.client.CreateAccelerator(ctx(t), &globalaccelerator.CreateAcceleratorInput{
		Name: aws.String("web"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Accelerator.AcceleratorArn
	tags := func() map[string]string {
		t.Helper()
		out, err := e.client.ListTagsForResource(ctx(t), &globalaccelerator.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[*tg.Key] = *tg.Value
		}
		return m
	}
	if got := tags(); len(got) != 1 || got["team"] != "edge" {
		t.Errorf("tags %v", got)
	}
	if _, err := e.client.TagResource(ctx(t), &globalaccelerator.TagResourceInput{ResourceArn: arn,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("net")}}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 2 || got["team"] != "net" || got["env"] != "prod" {
		t.Errorf("tags %v", got)
	}
	if _, err := e.client.UntagResource(ctx(t), &globalaccelerator.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 1 || got["env"] != "prod" {
		t.Errorf("tags %v", got)
	}
	if stored, _ := e.stored(*arn); stored.Tags["env"] != "prod" {
		t.Errorf("stored tags %v", stored.Tags)
	}
	l := e.createListener(*arn, types.ProtocolTcp, 443, 443)
	lt, err := e.client.ListTagsForResource(ctx(t), &globalaccelerator.ListTagsForResourceInput{ResourceArn: aws.String(l)})
	if err != nil || len(lt.Tags) != 0 {
		t.Errorf("listener tags %v, %v", lt, err)
	}
	_, err = e.client.ListTagsForResource(ctx(t), &globalaccelerator.ListTagsForResourceInput{ResourceArn: aws.String(l + "0")})
	wantCode(t, err, "ListenerNotFoundException")
	_, err = e.client.TagResource(ctx(t), &globalaccelerator.TagResourceInput{ResourceArn: aws.String(*arn + "0"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.UntagResource(ctx(t), &globalaccelerator.UntagResourceInput{ResourceArn: aws.String(*arn + "0"), TagKeys: []string{"k"}})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.ListTagsForResource(ctx(t), &globalaccelerator.ListTagsForResourceInput{ResourceArn: aws.String(*arn + "0")})
	wantCode(t, err, "AcceleratorNotFoundException")
	_, err = e.client.TagResource(ctx(t), &globalaccelerator.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}}})
	wantCode(t, err, "InvalidArgumentException")
}
