package tables

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// streamsClient is an SDK Streams client for the env's endpoint.
func (e *env) streamsClient() *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
		BaseEndpoint:     aws.String(e.srv.URL),
		HTTPClient:       e.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// streamN returns the value of a Number attribute of a stream image, "" if absent.
func streamN(img map[string]stypes.AttributeValue, name string) string {
	if n, ok := img[name].(*stypes.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

// TestStreamsSDK reads the four view types through the SDK's Streams client: a table per
// view type, the same writes on each, interleaved between two items.
func TestStreamsSDK(t *testing.T) {
	e := newEnv(t)
	c := e.client
	sc := e.streamsClient()
	views := []types.StreamViewType{types.StreamViewTypeKeysOnly, types.StreamViewTypeNewImage, types.StreamViewTypeOldImage, types.StreamViewTypeNewAndOldImages}
	for _, view := range views {
		name := "s-" + string(view)
		if _, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: attrDefs("pk", "S"),
			KeySchema:            keySchema("pk", ""),
			StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: view},
		}); err != nil {
			t.Fatal(err)
		}
		tbl := aws.String(name)
		// a: insert v=1, modify v=2, remove; b: insert v=1, modify v=2, interleaved.
		for step := 1; step <= 3; step++ {
			for _, pk := range []string{"a", "b"} {
				var err error
				switch {
				case step < 3:
					_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS(pk), "v": avN(fmt.Sprint(step))}})
				case pk == "a":
					_, err = c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS(pk)}})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	ls, err := sc.ListStreams(ctx(t), &dynamodbstreams.ListStreamsInput{})
	if err != nil || len(ls.Streams) != len(views) {
		t.Fatalf("ListStreams: %+v %v", ls, err)
	}
	for _, view := range views {
		t.Run(string(view), func(t *testing.T) {
			name := "s-" + string(view)
			l, err := sc.ListStreams(ctx(t), &dynamodbstreams.ListStreamsInput{TableName: aws.String(name)})
			if err != nil || len(l.Streams) != 1 || aws.ToString(l.Streams[0].TableName) != name {
				t.Fatalf("ListStreams %s: %+v %v", name, l, err)
			}
			arn := l.Streams[0].StreamArn
			d, err := sc.DescribeStream(ctx(t), &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
			if err != nil {
				t.Fatal(err)
			}
			sd := d.StreamDescription
			if sd.StreamStatus != stypes.StreamStatusEnabled || string(sd.StreamViewType) != string(view) || len(sd.Shards) != 1 ||
				aws.ToString(sd.TableName) != name || len(sd.KeySchema) != 1 {
				t.Fatalf("DescribeStream: %+v", sd)
			}
			shard := sd.Shards[0].ShardId
			it, err := sc.GetShardIterator(ctx(t), &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: shard, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			// Page by two records to follow NextShardIterator.
			var recs []stypes.Record
			iter := it.ShardIterator
			for range 10 {
				r, err := sc.GetRecords(ctx(t), &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(2)})
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r.Records...)
				iter = r.NextShardIterator
				if len(r.Records) == 0 || iter == nil {
					break
				}
			}
			if len(recs) != 5 {
				t.Fatalf("%d records, want 5", len(recs))
			}
			// Sequence numbers increase; each item's records come in its order.
			prev := new(big.Int)
			perItem := map[string][]stypes.Record{}
			for _, r := range recs {
				seq, ok := new(big.Int).SetString(aws.ToString(r.Dynamodb.SequenceNumber), 10)
				if !ok || seq.Cmp(prev) <= 0 {
					t.Errorf("sequence %s after %s", aws.ToString(r.Dynamodb.SequenceNumber), prev)
				}
				prev = seq
				if aws.ToString(r.EventSource) != "aws:dynamodb" || r.Dynamodb.StreamViewType != stypes.StreamViewType(view) {
					t.Errorf("record: %+v", r)
				}
				pk, ok := r.Dynamodb.Keys["pk"].(*stypes.AttributeValueMemberS)
				if !ok || len(r.Dynamodb.Keys) != 1 {
					t.Fatalf("keys: %+v", r.Dynamodb.Keys)
				}
				perItem[pk.Value] = append(perItem[pk.Value], r)
			}
			want := map[string][]stypes.OperationType{
				"a": {stypes.OperationTypeInsert, stypes.OperationTypeModify, stypes.OperationTypeRemove},
				"b": {stypes.OperationTypeInsert, stypes.OperationTypeModify},
			}
			for pk, events := range want {
				got := perItem[pk]
				if len(got) != len(events) {
					t.Fatalf("item %s: %d records, want %d", pk, len(got), len(events))
				}
				for i, ev := range events {
					r := got[i].Dynamodb
					if got[i].EventName != ev {
						t.Errorf("item %s record %d: %s, want %s", pk, i, got[i].EventName, ev)
					}
					// The images the view type carries: new v = i+1 (none for a remove),
					// old v = i (none for an insert).
					wantNew, wantOld := fmt.Sprint(i+1), fmt.Sprint(i)
					if ev == stypes.OperationTypeRemove {
						wantNew, wantOld = "", "2"
					}
					if ev == stypes.OperationTypeInsert {
						wantOld = ""
					}
					if view == types.StreamViewTypeKeysOnly || view == types.StreamViewTypeOldImage {
						wantNew = ""
					}
					if view == types.StreamViewTypeKeysOnly || view == types.StreamViewTypeNewImage {
						wantOld = ""
					}
					if streamN(r.NewImage, "v") != wantNew || (wantNew == "") != (r.NewImage == nil) {
						t.Errorf("item %s record %d NewImage %v, want v=%q", pk, i, r.NewImage, wantNew)
					}
					if streamN(r.OldImage, "v") != wantOld || (wantOld == "") != (r.OldImage == nil) {
						t.Errorf("item %s record %d OldImage %v, want v=%q", pk, i, r.OldImage, wantOld)
					}
				}
			}
			// AFTER_SEQUENCE_NUMBER of the fourth record leaves the fifth; LATEST nothing.
			after, err := sc.GetShardIterator(ctx(t), &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: shard,
				ShardIteratorType: stypes.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: recs[3].Dynamodb.SequenceNumber})
			if err != nil {
				t.Fatal(err)
			}
			r, err := sc.GetRecords(ctx(t), &dynamodbstreams.GetRecordsInput{ShardIterator: after.ShardIterator})
			if err != nil || len(r.Records) != 1 || aws.ToString(r.Records[0].Dynamodb.SequenceNumber) != aws.ToString(recs[4].Dynamodb.SequenceNumber) {
				t.Errorf("after the fourth record: %+v %v", r, err)
			}
			latest, err := sc.GetShardIterator(ctx(t), &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: shard, ShardIteratorType: stypes.ShardIteratorTypeLatest})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := sc.GetRecords(ctx(t), &dynamodbstreams.GetRecordsInput{ShardIterator: latest.ShardIterator}); err != nil || len(r.Records) != 0 || r.NextShardIterator == nil {
				t.Errorf("LATEST: %+v %v", r, err)
			}
		})
	}

	// Errors come back as the SDK's typed errors.
	_, err = sc.DescribeStream(ctx(t), &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String("arn:aws:dynamodb:eu-west:000000000000:table/nope/stream/2020-01-01T00:00:00.000")})
	var nf *stypes.ResourceNotFoundException
	if !errorsAs(err, &nf) {
		t.Errorf("DescribeStream of a missing stream: %v", err)
	}
	_, err = sc.GetRecords(ctx(t), &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String("garbage")})
	wantError(t, err, "ValidationException", "")
}
