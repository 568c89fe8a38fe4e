package tables

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestTimeToLive(t *testing.T) {
	e := newEnv(t)
	e.createTable("sessions", "", "")
	c := e.client
	tbl := aws.String("sessions")
	d, err := c.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: tbl})
	if err != nil || d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Fatalf("before: %+v %v", d, err)
	}
	_, err = c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(false), AttributeName: aws.String("exp")}})
	wantError(t, err, "ValidationException", "TimeToLive is already disabled")
	up, err := c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}})
	if err != nil || !aws.ToBool(up.TimeToLiveSpecification.Enabled) || aws.ToString(up.TimeToLiveSpecification.AttributeName) != "exp" {
		t.Fatalf("UpdateTimeToLive: %+v %v", up, err)
	}
	_, err = c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}})
	wantError(t, err, "ValidationException", "TimeToLive is already enabled")
	d, err = c.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: tbl})
	if err != nil || d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.TimeToLiveDescription.AttributeName) != "exp" {
		t.Fatalf("after: %+v %v", d, err)
	}
	_, err = c.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("nope")})
	wantError(t, err, "ResourceNotFoundException", "")

	now := time.Now()
	items := map[string]types.AttributeValue{
		"past":     avN(strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)),
		"fraction": avN(strconv.FormatInt(now.Add(-time.Hour).Unix(), 10) + ".5"),
		"future":   avN(strconv.FormatInt(now.Add(time.Hour).Unix(), 10)),
		"ancient":  avN(strconv.FormatInt(now.Add(-6*365*24*time.Hour).Unix(), 10)),
		"string":   avS("1"),
	}
	for id, exp := range items {
		if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS(id), "exp": exp}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("none")}}); err != nil {
		t.Fatal(err)
	}
	// Expired but not yet deleted items are still read.
	g, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("past")}})
	if err != nil || g.Item == nil {
		t.Fatalf("expired item before expiry ran: %v %v", g.Item, err)
	}
	n, err := e.svc.expireItems(context.Background(), now)
	if err != nil || n != 2 {
		t.Fatalf("expired %d items: %v", n, err)
	}
	out, err := c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, it := range out.Items {
		left[sOf(t, it, "pk")] = true
	}
	if len(left) != 4 || left["past"] || left["fraction"] || !left["future"] || !left["ancient"] || !left["string"] || !left["none"] {
		t.Errorf("left after expiry: %v", left)
	}
	recs := readLog(t, e, "sessions")
	ttlRemovals := 0
	for _, r := range recs {
		if r.TTL {
			ttlRemovals++
			if r.Event != eventRemove || r.Old == nil {
				t.Errorf("TTL record %+v", r)
			}
		}
	}
	if ttlRemovals != 2 {
		t.Errorf("%d TTL removals in the log", ttlRemovals)
	}
	// A second pass finds nothing.
	if n, err := e.svc.expireItems(context.Background(), now); err != nil || n != 0 {
		t.Errorf("second pass: %d %v", n, err)
	}

	// The setting survives a restart: a new service over the same store.
	svc2, err := New(Options{Region: testRegion, Store: e.store, Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := svc2.lookupTable("sessions")
	if err != nil || t2.currentSettings().ttlAttribute != "exp" {
		t.Errorf("TTL after reload: %+v %v", t2, err)
	}
	if _, err := c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(false), AttributeName: aws.String("other")}}); err == nil {
		t.Error("disabled TTL under another attribute name")
	}
	if _, err := c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(false), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.expireItems(context.Background(), now.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("expiry with TTL disabled: %d %v", n, err)
	}
}

// TestTimeToLiveManyItems expires more items than one pass collects.
func TestTimeToLiveManyItems(t *testing.T) {
	e := newEnv(t)
	e.createTable("many", "", "")
	if _, err := e.client.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("many"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	const n = ttlBatch*2 + 5
	var reqs []types.WriteRequest
	for i := range n {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS(strconv.Itoa(i)), "exp": avN("1000")}}})
		if len(reqs) == 25 || i == n-1 {
			if _, err := e.client.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"many": reqs}}); err != nil {
				t.Fatal(err)
			}
			reqs = nil
		}
	}
	got, err := e.svc.expireItems(context.Background(), time.Unix(2000, 0))
	if err != nil || got != n {
		t.Errorf("expired %d of %d: %v", got, n, err)
	}
}
