package tables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/polyregion/polyregion/internal/testutil"
)

// TestGlobalTableLifecycle makes a table with items global across three regions by
// UpdateTable, one replica at a time, while every active region writes during the third
// region's backfill, and checks what each region then holds and shows: items, GSI
// entries, stream records, DescribeTable.
func TestGlobalTableLifecycle(t *testing.T) {
	f := newGFleet(t)
	us, eu, ap := f.node("us-east"), f.node("eu-west"), f.node("ap-southeast")
	f.createTable("us-east", "orders", func(in *dynamodb.CreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("g"), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{IndexName: aws.String("byG"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("g"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages}
	})
	const before = 300 // more than one backfill chunk
	for i := range before {
		if err := us.put(t, "orders", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("old-", i)), "v": sattr("0"), "g": sattr(fmt.Sprint("g", i%3))}); err != nil {
			t.Fatal(err)
		}
	}
	// Not global yet: describes no replicas.
	d, err := us.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.GlobalTableVersion != nil || len(d.Table.Replicas) != 0 {
		t.Fatalf("a regional table describes as global: %v %v", d.Table.GlobalTableVersion, d.Table.Replicas)
	}
	// Unknown region, then the first replica.
	wantError(t, f.addReplica("us-east", "orders", "mars-north"), "ValidationException", "mars-north")
	// eu-west's backfill is held at its first chunk until the next check is done, so that
	// the change is still in progress then (300 items can be copied before the next call).
	euReached, euRelease := make(chan struct{}), make(chan struct{})
	var euOnce sync.Once
	euHook := func(table string, chunk int) error {
		if chunk == 0 {
			euOnce.Do(func() { close(euReached); <-euRelease })
		}
		return nil
	}
	eu.svc.replicaBackfillHook.Store(&euHook)
	releaseEU := sync.OnceFunc(func() { close(euRelease) })
	t.Cleanup(releaseEU) // a failure below must not leave the backfill held
	if err := f.addReplica("us-east", "orders", "eu-west"); err != nil {
		t.Fatal(err)
	}
	<-euReached
	// One replica change at a time.
	wantError(t, f.addReplica("us-east", "orders", "ap-southeast"), "ResourceInUseException", "")
	releaseEU()
	eu.svc.replicaBackfillHook.Store(nil)
	f.waitActive("orders", "us-east", "eu-west")
	wantError(t, f.addReplica("us-east", "orders", "eu-west"), "ValidationException", "already existed")

	// The third replica, held at its first backfill chunk while the active regions write.
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func(table string, chunk int) error {
		if chunk == 0 {
			once.Do(func() { close(reached); <-release })
		}
		return nil
	}
	ap.svc.replicaBackfillHook.Store(&hook)
	if err := f.addReplica("eu-west", "orders", "ap-southeast"); err != nil {
		t.Fatal(err)
	}
	<-reached
	// The creating replica answers DescribeTable but refuses reads and writes.
	d, err = ap.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.TableStatus != types.TableStatusCreating {
		t.Errorf("creating replica: table status %s", d.Table.TableStatus)
	}
	wantError(t, ap.put(t, "orders", map[string]types.AttributeValue{"pk": sattr("x")}), "ResourceNotFoundException", "")
	d, err = us.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.TableStatus != types.TableStatusUpdating {
		t.Errorf("us-east during the backfill: table status %s, want UPDATING", d.Table.TableStatus)
	}
	var sawProgress bool
	for _, r := range d.Table.Replicas {
		if *r.RegionName == "ap-southeast" {
			sawProgress = r.ReplicaStatus == types.ReplicaStatusCreating && r.ReplicaStatusPercentProgress != nil
		}
	}
	if !sawProgress {
		t.Errorf("us-east during the backfill: replicas %+v", d.Table.Replicas)
	}
	const during = 40
	for i := range during {
		for _, n := range []*gnode{us, eu} {
			item := map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("new-", n.region, "-", i)), "v": sattr("1"), "g": sattr("g9")}
			if err := n.put(t, "orders", item); err != nil {
				t.Fatal(err)
			}
		}
		// Old items updated during the backfill too.
		n := []*gnode{us, eu}[i%2]
		if err := n.put(t, "orders", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("old-", i)), "v": sattr("2-" + n.region), "g": sattr("g9")}); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	f.waitActive("orders", f.regions...)
	f.waitConverged("orders", f.regions...)
	for _, n := range []*gnode{us, eu, ap} {
		for i := range during {
			want := "2-" + []*gnode{us, eu}[i%2].region
			if got, err := n.value(t, "orders", fmt.Sprint("old-", i)); err != nil || got != want {
				t.Fatalf("%s: old-%d = %q (%v), want %q", n.region, i, got, err, want)
			}
			for _, w := range []*gnode{us, eu} {
				if got, err := n.value(t, "orders", fmt.Sprint("new-", w.region, "-", i)); err != nil || got != "1" {
					t.Fatalf("%s: new-%s-%d = %q (%v)", n.region, w.region, i, got, err)
				}
			}
		}
		if got, err := n.value(t, "orders", fmt.Sprint("old-", before-1)); err != nil || got != "0" {
			t.Fatalf("%s: old-%d = %q (%v)", n.region, before-1, got, err)
		}
		// The GSI is maintained on every replica.
		q, err := n.ddb.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String("orders"), IndexName: aws.String("byG"),
			KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": sattr("g9")}, Select: types.SelectCount})
		if err != nil {
			t.Fatal(err)
		}
		if q.Count != 3*during {
			t.Errorf("%s: the GSI has %d items under g9, want %d", n.region, q.Count, 3*during)
		}
		// DescribeTable in every replica region.
		d, err := n.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.Table.GlobalTableVersion) != "2019.11.21" || d.Table.TableStatus != types.TableStatusActive {
			t.Errorf("%s: version %v status %s", n.region, aws.ToString(d.Table.GlobalTableVersion), d.Table.TableStatus)
		}
		var names []string
		for _, r := range d.Table.Replicas {
			names = append(names, *r.RegionName)
		}
		if !slices.Equal(names, []string{"ap-southeast", "eu-west", "us-east"}) {
			t.Errorf("%s: replicas %v", n.region, names)
		}
	}
	// Every region's stream carries the replicated writes, under their origin region.
	for _, n := range []*gnode{us, eu, ap} {
		regions := streamRegions(t, n, "orders")
		for _, want := range []string{"us-east", "eu-west"} {
			if regions[want] == 0 {
				t.Errorf("%s: the stream has no record from %s: %v", n.region, want, regions)
			}
		}
	}
	// Writes in the new replica reach the others.
	if err := ap.put(t, "orders", map[string]types.AttributeValue{"pk": sattr("from-ap"), "v": sattr("3")}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, n := range []*gnode{us, eu} {
			if got, _ := n.value(t, "orders", "from-ap"); got != "3" {
				return fmt.Errorf("%s: from-ap = %q", n.region, got)
			}
		}
		return nil
	})
}

// streamRegions counts a region's stream records of table by awsRegion.
func streamRegions(t *testing.T, n *gnode, table string) map[string]int {
	t.Helper()
	c := dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", Credentials: n.ddb.Options().Credentials,
		BaseEndpoint: aws.String(n.api.URL), HTTPClient: n.api.Client(), RetryMaxAttempts: 1})
	ls, err := c.ListStreams(context.Background(), &dynamodbstreams.ListStreamsInput{TableName: aws.String(table)})
	if err != nil || len(ls.Streams) == 0 {
		t.Fatalf("%s: ListStreams: %v %v", n.region, ls, err)
	}
	ds, err := c.DescribeStream(context.Background(), &dynamodbstreams.DescribeStreamInput{StreamArn: ls.Streams[0].StreamArn})
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.GetShardIterator(context.Background(), &dynamodbstreams.GetShardIteratorInput{StreamArn: ls.Streams[0].StreamArn,
		ShardId: ds.StreamDescription.Shards[0].ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	next := it.ShardIterator
	for next != nil {
		r, err := c.GetRecords(context.Background(), &dynamodbstreams.GetRecordsInput{ShardIterator: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range r.Records {
			out[aws.ToString(rec.AwsRegion)]++
		}
		if len(r.Records) == 0 {
			break
		}
		next = r.NextShardIterator
	}
	return out
}

// TestGlobalTableBackfillStartsOver interrupts a replica's backfill (a failure, then a
// restart of the region) and checks that it starts over and completes.
func TestGlobalTableBackfillStartsOver(t *testing.T) {
	f := newGFleet(t)
	us := f.node("us-east")
	f.createTable("us-east", "big", nil)
	const items = 700 // three chunks
	for i := range items {
		if err := us.put(t, "big", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("k", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	failed := make(chan struct{})
	var once sync.Once
	hook := func(table string, chunk int) error {
		if chunk == 2 { // every attempt fails here until the region restarts
			once.Do(func() { close(failed) })
			return errors.New("injected backfill failure")
		}
		return nil
	}
	f.node("eu-west").svc.replicaBackfillHook.Store(&hook)
	if err := f.addReplica("us-east", "big", "eu-west"); err != nil {
		t.Fatal(err)
	}
	<-failed
	// Writes go on at the source meanwhile.
	for i := range 10 {
		if err := us.put(t, "big", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("k", i)), "v": sattr("2")}); err != nil {
			t.Fatal(err)
		}
	}
	f.stop("eu-west")
	eu := f.start("eu-west") // no hook: the backfill starts over and completes
	f.waitActive("big", "us-east", "eu-west")
	f.waitConverged("big", "us-east", "eu-west")
	for i := range items {
		want := "1"
		if i < 10 {
			want = "2"
		}
		if got, err := eu.value(t, "big", fmt.Sprint("k", i)); err != nil || got != want {
			t.Fatalf("k%d = %q (%v), want %q", i, got, err, want)
		}
	}
}
