package tables

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/polyregion/polyregion/internal/testutil"
)

// TestGlobalTableTTL enables TTL in one region of a global table: the setting reaches every
// replica, and an expiry in one region deletes the item everywhere, marked as a TTL removal
// only in that region's stream.
func TestGlobalTableTTL(t *testing.T) {
	f := newGFleet(t)
	f.createTable("us-east", "sessions", func(in *dynamodb.CreateTableInput) {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}
	})
	f.makeGlobal("sessions", "us-east", "eu-west")
	us, eu := f.node("us-east"), f.node("eu-west")
	if _, err := eu.ddb.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("sessions"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		out, err := us.ddb.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("sessions")})
		if err != nil {
			return err
		}
		if out.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(out.TimeToLiveDescription.AttributeName) != "exp" {
			return fmt.Errorf("us-east: TTL %+v", out.TimeToLiveDescription)
		}
		return nil
	})
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	if err := eu.put(t, "sessions", map[string]types.AttributeValue{"pk": sattr("s1"), "exp": &types.AttributeValueMemberN{Value: past}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if v, _ := us.value(t, "sessions", "s1"); v == "" {
			return fmt.Errorf("s1 not in us-east yet")
		}
		return nil
	})
	if n, err := us.svc.expireItems(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("expireItems: %d %v", n, err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if v, _ := eu.value(t, "sessions", "s1"); v != "" {
			return fmt.Errorf("s1 still in eu-west")
		}
		return nil
	})
	for _, c := range []struct {
		n       *gnode
		service bool
	}{{us, true}, {eu, false}} {
		recs := streamRecords(t, c.n, "sessions")
		last := recs[len(recs)-1]
		if last.EventName != streamtypes.OperationTypeRemove {
			t.Fatalf("%s: last record %s", c.n.region, last.EventName)
		}
		if (last.UserIdentity != nil) != c.service {
			t.Errorf("%s: TTL removal marked %v, want %v", c.n.region, last.UserIdentity != nil, c.service)
		}
	}
}

// streamRecords returns every record of a region's stream of table.
func streamRecords(t *testing.T, n *gnode, table string) []streamtypes.Record {
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
	var out []streamtypes.Record
	next := it.ShardIterator
	for next != nil {
		r, err := c.GetRecords(context.Background(), &dynamodbstreams.GetRecordsInput{ShardIterator: next})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Records...)
		if len(r.Records) == 0 {
			break
		}
		next = r.NextShardIterator
	}
	return out
}

// TestGlobalTableRemoveReplica removes replicas both ways: UpdateTable Delete from another
// region, and DeleteTable in the replica's own region.
func TestGlobalTableRemoveReplica(t *testing.T) {
	f := newGFleet(t)
	f.createTable("us-east", "tbl", nil)
	f.makeGlobal("tbl", f.regions...)
	us, eu, ap := f.node("us-east"), f.node("eu-west"), f.node("ap-southeast")
	// ap-southeast's log grows long, then what it wrote is deleted.
	for i := range 30 {
		if err := ap.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("old-", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	for i := range 30 {
		if err := us.del(t, "tbl", fmt.Sprint("old-", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	wantError(t, func() error {
		_, err := us.ddb.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String("tbl"),
			ReplicaUpdates: []types.ReplicationGroupUpdate{{Delete: &types.DeleteReplicationGroupMemberAction{RegionName: aws.String("mars-north")}}}})
		return err
	}(), "ValidationException", "")
	if _, err := us.ddb.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String("tbl"),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Delete: &types.DeleteReplicationGroupMemberAction{RegionName: aws.String("ap-southeast")}}}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if _, err := ap.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("tbl")}); err == nil {
			return fmt.Errorf("ap-southeast still has the table")
		}
		return nil
	})
	f.waitActive("tbl", "us-east", "eu-west")
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("after"), "v": sattr("1")}); err != nil {
		t.Fatal(err)
	}
	f.waitConverged("tbl", "us-east", "eu-west")
	// Added again, the replica is a new one: the others' cursors for its earlier self (far
	// into a log that is gone) are void, so its first writes reach them.
	if err := f.addReplica("us-east", "tbl", "ap-southeast"); err != nil {
		t.Fatal(err)
	}
	f.waitActive("tbl", f.regions...)
	for i := range 5 {
		if err := ap.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("ap-", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	for _, n := range []*gnode{us, eu} {
		for i := range 5 {
			if v, err := n.value(t, "tbl", fmt.Sprint("ap-", i)); err != nil || v != "1" {
				t.Fatalf("%s: ap-%d = %q %v", n.region, i, v, err)
			}
		}
	}
	if v, err := ap.value(t, "tbl", "after"); err != nil || v != "1" {
		t.Fatalf("the new ap-southeast replica lacks an item: %q %v", v, err)
	}
	if _, err := us.ddb.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String("tbl"),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Delete: &types.DeleteReplicationGroupMemberAction{RegionName: aws.String("ap-southeast")}}}}); err != nil {
		t.Fatal(err)
	}
	f.waitActive("tbl", "us-east", "eu-west")
	// DeleteTable of a replica deletes that replica only.
	if _, err := eu.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String("tbl")}); err != nil {
		t.Fatal(err)
	}
	d, err := us.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("tbl")})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		d, err = us.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("tbl")})
		if err != nil {
			return err
		}
		if len(d.Table.Replicas) != 1 || *d.Table.Replicas[0].RegionName != "us-east" {
			return fmt.Errorf("replicas %+v", d.Table.Replicas)
		}
		return nil
	})
	if v, err := us.value(t, "tbl", "after"); err != nil || v != "1" {
		t.Fatalf("us-east lost its item: %q %v", v, err)
	}
}
