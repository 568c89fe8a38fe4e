package tables

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestBatchWriteAndGet(t *testing.T) {
	e := newEnv(t)
	e.createTable("bt1", "", "")
	e.createTable("bt2", "sk", types.ScalarAttributeTypeN)
	c := e.client
	var w1, w2 []types.WriteRequest
	for i := range 12 {
		w1 = append(w1, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS(fmt.Sprint("k", i)), "v": avN(strconv.Itoa(i))}}})
		w2 = append(w2, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS("p"), "sk": avN(strconv.Itoa(i))}}})
	}
	out, err := c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt1": w1, "bt2": w2},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if out.UnprocessedItems == nil || len(out.UnprocessedItems) != 0 || len(out.ConsumedCapacity) != 2 {
		t.Errorf("UnprocessedItems %v, ConsumedCapacity %v", out.UnprocessedItems, out.ConsumedCapacity)
	}
	// Deletes and puts mixed.
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt1": {
		{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"pk": avS("k0")}}},
		{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS("k1"), "v": avS("replaced")}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}

	var keys []map[string]types.AttributeValue
	for i := range 3 {
		keys = append(keys, map[string]types.AttributeValue{"pk": avS(fmt.Sprint("k", i))})
	}
	got, err := c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		"bt1": {Keys: keys, ProjectionExpression: aws.String("#v"), ExpressionAttributeNames: map[string]string{"#v": "v"}},
		"bt2": {Keys: []map[string]types.AttributeValue{{"pk": avS("p"), "sk": avN("3")}, {"pk": avS("p"), "sk": avN("99")}}, ConsistentRead: aws.Bool(true)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Responses["bt1"]) != 2 || len(got.Responses["bt2"]) != 1 || len(got.UnprocessedKeys) != 0 {
		t.Fatalf("BatchGetItem: %v unprocessed %v", got.Responses, got.UnprocessedKeys)
	}
	vals := map[string]bool{}
	for _, it := range got.Responses["bt1"] {
		if len(it) != 1 {
			t.Errorf("projection not applied: %v", it)
		}
		switch v := it["v"].(type) {
		case *types.AttributeValueMemberS:
			vals[v.Value] = true
		case *types.AttributeValueMemberN:
			vals[v.Value] = true
		}
	}
	if !vals["replaced"] || !vals["2"] {
		t.Errorf("BatchGetItem values: %v", vals)
	}

	// Limits and errors.
	var many []types.WriteRequest
	for i := range 26 {
		many = append(many, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS(fmt.Sprint("m", i))}}})
	}
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt1": many}})
	wantError(t, err, "ValidationException", "Member must have length less than or equal to 25")
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt1": many[:13], "bt2": many[13:]}})
	wantError(t, err, "ValidationException", "Too many items requested for the BatchWriteItem call")
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt1": {many[0], many[0]}}})
	wantError(t, err, "ValidationException", "Provided list of item keys contains duplicates")
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"bt2": {many[0]}}})
	wantError(t, err, "ValidationException", "The provided key element does not match the schema")
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"nope": {many[0]}}})
	wantError(t, err, "ResourceNotFoundException", "Requested resource not found")
	// A rejected batch wrote nothing.
	g, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("bt1"), Key: map[string]types.AttributeValue{"pk": avS("m0")}})
	if err != nil || g.Item != nil {
		t.Errorf("rejected batch wrote: %v %v", g.Item, err)
	}

	var tooMany []map[string]types.AttributeValue
	for i := range 101 {
		tooMany = append(tooMany, map[string]types.AttributeValue{"pk": avS(fmt.Sprint("k", i))})
	}
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"bt1": {Keys: tooMany}}})
	wantError(t, err, "ValidationException", "Member must have length less than or equal to 100")
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"bt1": {Keys: tooMany[:60]}, "bt2": {Keys: []map[string]types.AttributeValue{{"pk": avS("p"), "sk": avN("1")}}}}})
	if err != nil {
		t.Errorf("61 keys: %v", err)
	}
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"bt1": {Keys: tooMany[:60]}, "bt1-copy": {Keys: tooMany[:41]}}})
	wantError(t, err, "ValidationException", "Too many items requested for the BatchGetItem call")
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"bt1": {Keys: []map[string]types.AttributeValue{keys[1], keys[1]}}}})
	wantError(t, err, "ValidationException", "Provided list of item keys contains duplicates")
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"bt1": {Keys: keys, ProjectionExpression: aws.String("v"),
		ExpressionAttributeNames: map[string]string{"#x": "x"}}}})
	wantError(t, err, "ValidationException", "unused in expressions")
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"nope": {Keys: keys}}})
	wantError(t, err, "ResourceNotFoundException", "")
	_, err = c.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{}})
	wantError(t, err, "ValidationException", "Member must have length greater than or equal to 1")
}
