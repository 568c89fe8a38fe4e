package tables

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestUpdateItem(t *testing.T) {
	e := newEnv(t)
	e.createTable("counters", "", "")
	c := e.client
	tbl := aws.String("counters")
	key := map[string]types.AttributeValue{"pk": avS("c1")}

	// An update of a missing item creates it, with its key.
	up, err := c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :zero) + :one, info.city = :city"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": avN("0"), ":one": avN("1"), ":city": avS("Oslo")},
		ReturnValues:              types.ReturnValueAllNew})
	if err == nil {
		t.Fatalf("SET into a missing map succeeded: %v", up.Attributes)
	}
	wantError(t, err, "ValidationException", "The document path provided in the update expression is invalid for update")

	up, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :zero) + :one, info = :info"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": avN("0"), ":one": avN("1"), ":info": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"city": avS("Oslo")}}},
		ReturnValues:              types.ReturnValueAllNew})
	if err != nil {
		t.Fatal(err)
	}
	if sOf(t, up.Attributes, "pk") != "c1" || nOf(t, up.Attributes, "count") != "1" || len(up.Attributes) != 3 {
		t.Errorf("ALL_NEW: %v", up.Attributes)
	}

	// UPDATED_NEW and UPDATED_OLD return the written paths only.
	up, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression:          aws.String("ADD #c :n SET info.city = :city"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": avN("41"), ":city": avS("Bergen")},
		ReturnValues:              types.ReturnValueUpdatedNew})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := up.Attributes["info"].(*types.AttributeValueMemberM)
	if nOf(t, up.Attributes, "count") != "42" || len(up.Attributes) != 2 || info == nil || sOf(t, info.Value, "city") != "Bergen" {
		t.Errorf("UPDATED_NEW: %v", up.Attributes)
	}
	up, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression: aws.String("REMOVE info"), ReturnValues: types.ReturnValueUpdatedOld})
	if err != nil || len(up.Attributes) != 1 || up.Attributes["info"] == nil {
		t.Errorf("UPDATED_OLD: %v %v", up.Attributes, err)
	}
	up, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression:          aws.String("SET #c = #c - :n"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": avN("2")},
		ReturnValues:              types.ReturnValueAllOld})
	if err != nil || nOf(t, up.Attributes, "count") != "42" {
		t.Errorf("ALL_OLD: %v %v", up.Attributes, err)
	}

	// A condition that fails leaves the item alone.
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression:                    aws.String("SET #c = :n"),
		ConditionExpression:                 aws.String("#c > :n"),
		ExpressionAttributeNames:            map[string]string{"#c": "count"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":n": avN("100")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	wantError(t, err, "ConditionalCheckFailedException", "")
	var ccf *types.ConditionalCheckFailedException
	if !errorsAs(err, &ccf) || nOf(t, ccf.Item, "count") != "40" {
		t.Errorf("failed condition: %v", err)
	}

	// Key attributes cannot be updated.
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression: aws.String("SET pk = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("x")}})
	wantError(t, err, "ValidationException", "Cannot update attribute pk. This attribute is part of the key")
	// Unused values, an undefined one, a bad expression.
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression: aws.String("SET a = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("x"), ":w": avS("y")}})
	wantError(t, err, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}")
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key, UpdateExpression: aws.String("SET a = :v")})
	wantError(t, err, "ValidationException", "Invalid UpdateExpression")
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: key,
		UpdateExpression: aws.String("SET a = :v REMOVE a"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("x")}})
	wantError(t, err, "ValidationException", "Invalid UpdateExpression")

	// No update at all creates the item with its key.
	k2 := map[string]types.AttributeValue{"pk": avS("c2")}
	up, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k2, ReturnValues: types.ReturnValueAllNew})
	if err != nil || len(up.Attributes) != 1 || sOf(t, up.Attributes, "pk") != "c2" {
		t.Errorf("update without an update: %v %v", up.Attributes, err)
	}
	// REMOVE on a missing item does not create it.
	k3 := map[string]types.AttributeValue{"pk": avS("c3")}
	if _, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k3, UpdateExpression: aws.String("REMOVE a")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: k3})
	if err != nil || got.Item != nil {
		t.Errorf("REMOVE created an item: %v %v", got.Item, err)
	}

	// Legacy AttributeUpdates and Expected.
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k2,
		AttributeUpdates: map[string]types.AttributeValueUpdate{"n": {Action: types.AttributeActionAdd, Value: avN("5")}},
		Expected:         map[string]types.ExpectedAttributeValue{"n": {Exists: aws.Bool(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k2,
		AttributeUpdates: map[string]types.AttributeValueUpdate{"n": {Action: types.AttributeActionAdd, Value: avN("5")}},
		Expected:         map[string]types.ExpectedAttributeValue{"n": {Exists: aws.Bool(false)}}})
	wantError(t, err, "ConditionalCheckFailedException", "")
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k2,
		AttributeUpdates:    map[string]types.AttributeValueUpdate{"n": {Action: types.AttributeActionAdd, Value: avN("5")}},
		ConditionExpression: aws.String("attribute_exists(pk)")})
	wantError(t, err, "ValidationException", "Can not use both expression and non-expression parameters in the same request")

	// Projection on GetItem.
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: key, ProjectionExpression: aws.String("#c, nothing"),
		ExpressionAttributeNames: map[string]string{"#c": "count"}})
	if err != nil || len(got.Item) != 1 || nOf(t, got.Item, "count") != "40" {
		t.Errorf("projection: %v %v", got.Item, err)
	}
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: key, ProjectionExpression: aws.String("nothing")})
	if err != nil || got.Item == nil || len(got.Item) != 0 {
		t.Errorf("projection of nothing: %v %v", got.Item, err)
	}
	_, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: key, ProjectionExpression: aws.String("a"),
		ExpressionAttributeNames: map[string]string{"#c": "count"}})
	wantError(t, err, "ValidationException", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}")
}

// TestConcurrentUpdates increments one counter from many clients at once: the per-item
// lock makes every read-modify-write see the one before it, and the log holds one record
// per increment, in order.
func TestConcurrentUpdates(t *testing.T) {
	e := newEnv(t)
	e.createTable("hot", "", "")
	const writers, each = 8, 10
	errs := make(chan error, writers)
	for range writers {
		go func() {
			for range each {
				_, err := e.client.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String("hot"),
					Key:                       map[string]types.AttributeValue{"pk": avS("k")},
					UpdateExpression:          aws.String("ADD n :one"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN("1")}})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.client.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("hot"), Key: map[string]types.AttributeValue{"pk": avS("k")}})
	if err != nil || nOf(t, got.Item, "n") != "80" {
		t.Fatalf("counter: %v %v", got.Item, err)
	}
	recs := readLog(t, e, "hot")
	if len(recs) != writers*each {
		t.Fatalf("%d log records", len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
}
