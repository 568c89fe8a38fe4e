package tables

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// streams calls a Streams operation (raw: service/dynamodbstreams is not a dependency) and
// decodes its answer into out, failing the test on an error answer.
func (e *env) streams(op, body string, out any) {
	e.t.Helper()
	r := e.raw(streamsTargetPrefix+op, body)
	if r.status != 200 {
		e.t.Fatalf("%s %s: %d %s", op, body, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		e.t.Fatalf("%s: %v in %s", op, err, r.body)
	}
}

type recordsPage struct {
	Records []struct {
		EventName    string `json:"eventName"`
		EventSource  string `json:"eventSource"`
		AwsRegion    string `json:"awsRegion"`
		UserIdentity *struct {
			PrincipalId string
			Type        string
		} `json:"userIdentity"`
		Dynamodb struct {
			Keys           map[string]map[string]any
			NewImage       map[string]map[string]any
			OldImage       map[string]map[string]any
			SequenceNumber string
			StreamViewType string
		} `json:"dynamodb"`
	}
	NextShardIterator *string
}

func TestStreams(t *testing.T) {
	e := newEnv(t)
	c := e.client
	out, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String("streamed"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.TableDescription.LatestStreamArn)
	if arn == "" || out.TableDescription.StreamSpecification == nil || out.TableDescription.StreamSpecification.StreamViewType != types.StreamViewTypeNewAndOldImages {
		t.Fatalf("stream in description: %+v", out.TableDescription)
	}
	tbl := aws.String("streamed")
	k := map[string]types.AttributeValue{"pk": avS("a")}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("a"), "v": avN("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k, UpdateExpression: aws.String("SET v = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": avN("2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: k}); err != nil {
		t.Fatal(err)
	}

	var ls struct {
		Streams []struct{ StreamArn, TableName, StreamLabel string }
	}
	e.streams("ListStreams", `{}`, &ls)
	if len(ls.Streams) != 1 || ls.Streams[0].StreamArn != arn || ls.Streams[0].TableName != "streamed" {
		t.Fatalf("ListStreams: %+v", ls)
	}
	var ds struct {
		StreamDescription struct {
			StreamStatus, StreamViewType string
			Shards                       []struct{ ShardId string }
		}
	}
	e.streams("DescribeStream", `{"StreamArn":"`+arn+`"}`, &ds)
	if ds.StreamDescription.StreamStatus != "ENABLED" || len(ds.StreamDescription.Shards) != 1 {
		t.Fatalf("DescribeStream: %+v", ds)
	}
	shardID := ds.StreamDescription.Shards[0].ShardId
	iterator := func(typ, seq string) string {
		t.Helper()
		body := `{"StreamArn":"` + arn + `","ShardId":"` + shardID + `","ShardIteratorType":"` + typ + `"`
		if seq != "" {
			body += `,"SequenceNumber":"` + seq + `"`
		}
		var it struct{ ShardIterator string }
		e.streams("GetShardIterator", body+"}", &it)
		return it.ShardIterator
	}
	records := func(it string, limit int) recordsPage {
		t.Helper()
		var p recordsPage
		body := `{"ShardIterator":"` + it + `"`
		if limit > 0 {
			body += `,"Limit":` + jsonInt(limit)
		}
		e.streams("GetRecords", body+"}", &p)
		return p
	}
	p := records(iterator("TRIM_HORIZON", ""), 0)
	if len(p.Records) != 3 || p.NextShardIterator == nil {
		t.Fatalf("GetRecords: %+v", p)
	}
	for i, want := range []string{"INSERT", "MODIFY", "REMOVE"} {
		r := p.Records[i]
		if r.EventName != want || r.EventSource != "aws:dynamodb" || r.AwsRegion != testRegion || r.Dynamodb.Keys["pk"]["S"] != "a" ||
			r.Dynamodb.StreamViewType != "NEW_AND_OLD_IMAGES" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if p.Records[0].Dynamodb.OldImage != nil || p.Records[0].Dynamodb.NewImage["v"]["N"] != "1" ||
		p.Records[1].Dynamodb.OldImage["v"]["N"] != "1" || p.Records[1].Dynamodb.NewImage["v"]["N"] != "2" ||
		p.Records[2].Dynamodb.NewImage != nil || p.Records[2].Dynamodb.OldImage["v"]["N"] != "2" {
		t.Errorf("images: %+v", p.Records)
	}
	// Nothing more, then a new write shows up on the same iterator.
	p2 := records(*p.NextShardIterator, 0)
	if len(p2.Records) != 0 || p2.NextShardIterator == nil {
		t.Fatalf("at the end: %+v", p2)
	}
	latest := iterator("LATEST", "")
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("b")}}); err != nil {
		t.Fatal(err)
	}
	for _, it := range []string{*p2.NextShardIterator, latest} {
		if p3 := records(it, 0); len(p3.Records) != 1 || p3.Records[0].Dynamodb.Keys["pk"]["S"] != "b" {
			t.Errorf("new record: %+v", p3)
		}
	}
	// Limit, AT and AFTER a sequence number.
	first := records(iterator("TRIM_HORIZON", ""), 1)
	if len(first.Records) != 1 || first.Records[0].EventName != "INSERT" {
		t.Fatalf("Limit 1: %+v", first)
	}
	seq := first.Records[0].Dynamodb.SequenceNumber
	if r := records(iterator("AT_SEQUENCE_NUMBER", seq), 1); r.Records[0].Dynamodb.SequenceNumber != seq {
		t.Errorf("AT_SEQUENCE_NUMBER: %+v", r)
	}
	if r := records(iterator("AFTER_SEQUENCE_NUMBER", seq), 1); r.Records[0].EventName != "MODIFY" {
		t.Errorf("AFTER_SEQUENCE_NUMBER: %+v", r)
	}
	if r := records(*first.NextShardIterator, 10); len(r.Records) != 3 {
		t.Errorf("after the first page: %d records", len(r.Records))
	}

	// TTL removals carry the service identity.
	if _, err := c.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: tbl,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("c"), "exp": avN(jsonInt(int(time.Now().Add(-time.Hour).Unix())))}}); err != nil {
		t.Fatal(err)
	}
	latest = iterator("LATEST", "")
	if n, err := e.svc.expireItems(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("expiry: %d %v", n, err)
	}
	if r := records(latest, 0); len(r.Records) != 1 || r.Records[0].EventName != "REMOVE" || r.Records[0].UserIdentity == nil ||
		r.Records[0].UserIdentity.PrincipalId != "dynamodb.amazonaws.com" {
		t.Errorf("TTL record: %+v", r)
	}

	// Disabling closes the shard; enabling again makes a new stream.
	if _, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	e.streams("DescribeStream", `{"StreamArn":"`+arn+`"}`, &ds)
	if ds.StreamDescription.StreamStatus != "DISABLED" {
		t.Errorf("after disabling: %+v", ds)
	}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("after")}}); err != nil {
		t.Fatal(err)
	}
	all := records(iterator("TRIM_HORIZON", ""), 0)
	if all.NextShardIterator != nil || len(all.Records) != 6 {
		t.Errorf("closed shard: %d records, next %v", len(all.Records), all.NextShardIterator)
	}
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}})
	wantError(t, err, "ValidationException", "")
	up, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}})
	if err != nil {
		t.Fatal(err)
	}
	arn2 := aws.ToString(up.TableDescription.LatestStreamArn)
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("keys"), "v": avN("9")}}); err != nil {
		t.Fatal(err)
	}
	arn = arn2
	e.streams("DescribeStream", `{"StreamArn":"`+arn+`"}`, &ds)
	shardID = ds.StreamDescription.Shards[0].ShardId
	ko := records(iterator("TRIM_HORIZON", ""), 0)
	if len(ko.Records) != 1 || ko.Records[0].Dynamodb.NewImage != nil || ko.Records[0].Dynamodb.Keys["pk"]["S"] != "keys" {
		t.Errorf("KEYS_ONLY: %+v", ko)
	}

	// Errors.
	for _, tc := range []struct{ op, body, typ string }{
		{"DescribeStream", `{"StreamArn":"arn:aws:dynamodb:eu-west:000000000000:table/streamed/stream/nope"}`, "ResourceNotFoundException"},
		{"GetShardIterator", `{"StreamArn":"` + arn + `","ShardId":"shardId-x","ShardIteratorType":"LATEST"}`, "ResourceNotFoundException"},
		{"GetShardIterator", `{"StreamArn":"` + arn + `","ShardId":"` + shardID + `","ShardIteratorType":"SOMEWHERE"}`, "ValidationException"},
		{"GetShardIterator", `{"StreamArn":"` + arn + `","ShardId":"` + shardID + `","ShardIteratorType":"AT_SEQUENCE_NUMBER","SequenceNumber":"1"}`, "TrimmedDataAccessException"},
		{"GetRecords", `{"ShardIterator":"garbage"}`, "ValidationException"},
		{"NoSuchOperation", `{}`, "UnknownOperationException"},
	} {
		r := e.raw(streamsTargetPrefix+tc.op, tc.body)
		if r.errorType() != errorPrefix+tc.typ {
			t.Errorf("%s %s: %s, want %s", tc.op, tc.body, r.body, tc.typ)
		}
	}
	_, err = c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String("badstream"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true)},
	})
	wantError(t, err, "ValidationException", "StreamViewType must be specified when StreamEnabled is true")
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
