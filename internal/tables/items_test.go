package tables

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Shorthands for attribute values.
func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n string) types.AttributeValue { return &types.AttributeValueMemberN{Value: n} }

func sOf(t *testing.T, item map[string]types.AttributeValue, name string) string {
	t.Helper()
	v, ok := item[name].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("attribute %s of %v is not a string", name, item)
	}
	return v.Value
}

func nOf(t *testing.T, item map[string]types.AttributeValue, name string) string {
	t.Helper()
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %s of %v is not a number", name, item)
	}
	return v.Value
}

func TestPutGetDeleteItem(t *testing.T) {
	e := newEnv(t)
	e.createTable("items", "sk", types.ScalarAttributeTypeN)
	c := e.client
	item := map[string]types.AttributeValue{
		"pk":    avS("user#1"),
		"sk":    avN("10"),
		"name":  avS("Ada"),
		"n":     avN("12345678901234567890123456789012345678"),
		"tags":  &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"bin":   &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"flag":  &types.AttributeValueMemberBOOL{Value: true},
		"none":  &types.AttributeValueMemberNULL{Value: true},
		"list":  &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("x"), avN("1")}},
		"map":   &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": avS("v")}},
		"nums":  &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bytes": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
	}
	put, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"), Item: item, ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		t.Fatal(err)
	}
	if len(put.Attributes) != 0 {
		t.Errorf("ALL_OLD of a new item: %v", put.Attributes)
	}
	key := map[string]types.AttributeValue{"pk": avS("user#1"), "sk": avN("10")}
	got, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("items"), Key: key, ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Item) != len(item) || sOf(t, got.Item, "name") != "Ada" || nOf(t, got.Item, "n") != "12345678901234567890123456789012345678" {
		t.Errorf("GetItem: %v", got.Item)
	}
	if got.ConsumedCapacity == nil || *got.ConsumedCapacity.TableName != "items" || *got.ConsumedCapacity.CapacityUnits != 1 {
		t.Errorf("ConsumedCapacity: %+v", got.ConsumedCapacity)
	}
	// AttributesToGet.
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("items"), Key: key, AttributesToGet: []string{"name", "missing"}})
	if err != nil || len(got.Item) != 1 || sOf(t, got.Item, "name") != "Ada" {
		t.Errorf("AttributesToGet: %v %v", got.Item, err)
	}
	// A missing item.
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("items"), Key: map[string]types.AttributeValue{"pk": avS("nobody"), "sk": avN("1")}})
	if err != nil || got.Item != nil {
		t.Errorf("missing item: %v %v", got.Item, err)
	}

	// Replace, with the old item returned.
	put, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item: map[string]types.AttributeValue{"pk": avS("user#1"), "sk": avN("10"), "name": avS("Grace")}, ReturnValues: types.ReturnValueAllOld})
	if err != nil || sOf(t, put.Attributes, "name") != "Ada" || len(put.Attributes) != len(item) {
		t.Fatalf("replace: %v %v", put.Attributes, err)
	}

	// Conditions.
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                                map[string]types.AttributeValue{"pk": avS("user#1"), "sk": avN("10")},
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	wantError(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	var ccf *types.ConditionalCheckFailedException
	if !errorsAs(err, &ccf) || ccf.Item == nil || sOf(t, ccf.Item, "name") != "Grace" {
		t.Errorf("ConditionalCheckFailedException without the item: %v", err)
	}
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                      map[string]types.AttributeValue{"pk": avS("user#1"), "sk": avN("10"), "name": avS("Hopper")},
		ConditionExpression:       aws.String("#n = :old"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":old": avS("Grace")}})
	if err != nil {
		t.Fatalf("conditional put that holds: %v", err)
	}
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                     map[string]types.AttributeValue{"pk": avS("user#2"), "sk": avN("1")},
		ConditionExpression:      aws.String("attribute_not_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#unused": "x"}})
	wantError(t, err, "ValidationException", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}")
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                      map[string]types.AttributeValue{"pk": avS("user#2"), "sk": avN("1")},
		ConditionExpression:       aws.String("attribute_not_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": avS("x"), ":b": avS("y")}})
	wantError(t, err, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}")
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                      map[string]types.AttributeValue{"pk": avS("user#2"), "sk": avN("1")},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": avS("x")}})
	wantError(t, err, "ValidationException", "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null")
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item:                map[string]types.AttributeValue{"pk": avS("user#2"), "sk": avN("1")},
		ConditionExpression: aws.String("a = = b")})
	wantError(t, err, "ValidationException", "Invalid ConditionExpression")
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("items"),
		Item: map[string]types.AttributeValue{"pk": avS("user#2"), "sk": avN("1")}, ReturnValues: types.ReturnValueAllNew})
	wantError(t, err, "ValidationException", "ReturnValues can only be ALL_OLD or NONE")

	// Delete, conditionally.
	_, err = c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("items"), Key: key,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	wantError(t, err, "ConditionalCheckFailedException", "")
	var ccf2 *types.ConditionalCheckFailedException
	if errorsAs(err, &ccf2) && ccf2.Item != nil {
		t.Errorf("item returned without ReturnValuesOnConditionCheckFailure: %v", ccf2.Item)
	}
	del, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("items"), Key: key, ReturnValues: types.ReturnValueAllOld,
		ConditionExpression: aws.String("attribute_exists(pk)")})
	if err != nil || sOf(t, del.Attributes, "name") != "Hopper" {
		t.Fatalf("DeleteItem: %v %v", del.Attributes, err)
	}
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("items"), Key: key})
	if err != nil || got.Item != nil {
		t.Errorf("after delete: %v %v", got.Item, err)
	}
	del, err = c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("items"), Key: key, ReturnValues: types.ReturnValueAllOld})
	if err != nil || len(del.Attributes) != 0 {
		t.Errorf("deleting a missing item: %v %v", del.Attributes, err)
	}
}

func TestKeyValidation(t *testing.T) {
	e := newEnv(t)
	e.createTable("keys", "sk", types.ScalarAttributeTypeN)
	c := e.client
	tbl := aws.String("keys")
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want string
	}{
		{"missing partition key", map[string]types.AttributeValue{"sk": avN("1")}, "One or more parameter values were invalid: Missing the key pk in the item"},
		{"missing sort key", map[string]types.AttributeValue{"pk": avS("a")}, "Missing the key sk in the item"},
		{"wrong type", map[string]types.AttributeValue{"pk": avN("1"), "sk": avN("1")}, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"},
		{"empty string key", map[string]types.AttributeValue{"pk": avS(""), "sk": avN("1")}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{"long partition key", map[string]types.AttributeValue{"pk": avS(strings.Repeat("x", 2049)), "sk": avN("1")}, "Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{"empty set", map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1"), "s": &types.AttributeValueMemberSS{Value: []string{}}}, "string set  may not be empty"},
		{"too large", map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1"), "big": avS(strings.Repeat("x", 400*1024))}, "Item size has exceeded the maximum allowed size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: tc.item})
			wantError(t, err, "ValidationException", tc.want)
		})
	}
	// Exactly 400 KB is fine: names and values count (pk 3, sk 2+2 for the number, big 3).
	big := map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1"), "big": avS(strings.Repeat("x", 400*1024-10))}
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: big}); err != nil {
		t.Errorf("item of exactly 400 KB: %v", err)
	}
	for _, tc := range []struct {
		name string
		key  map[string]types.AttributeValue
		want string
	}{
		{"extra attribute", map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1"), "x": avS("y")}, "The provided key element does not match the schema"},
		{"missing sort key", map[string]types.AttributeValue{"pk": avS("a")}, "The provided key element does not match the schema"},
		{"wrong type", map[string]types.AttributeValue{"pk": avS("a"), "sk": avS("1")}, "The provided key element does not match the schema"},
		{"wrong name", map[string]types.AttributeValue{"pk": avS("a"), "sx": avN("1")}, "The provided key element does not match the schema"},
		{"empty key", map[string]types.AttributeValue{"pk": avS(""), "sk": avN("1")}, "cannot contain an empty string value"},
		{"long sort key", map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1")}, ""},
	} {
		t.Run("get "+tc.name, func(t *testing.T) {
			_, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: tc.key})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, "ValidationException", tc.want)
			_, err = c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: tc.key})
			wantError(t, err, "ValidationException", tc.want)
		})
	}
	_, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: map[string]types.AttributeValue{"pk": avS("a")}})
	wantError(t, err, "ResourceNotFoundException", "Requested resource not found: Table: nope not found")

	// Raw: a member of the wrong shape, a null item.
	r := e.raw("PutItem", `{"TableName":"keys","Item":{"pk":{"S":"a"},"sk":{"N":"x"}}}`)
	if r.status != 400 || r.errorType() != errorPrefix+"ValidationException" {
		t.Errorf("bad number: %d %s", r.status, r.body)
	}
	r = e.raw("PutItem", `{"TableName":"keys"}`)
	if !strings.Contains(string(r.body), "Value null at 'item' failed to satisfy constraint: Member must not be null") {
		t.Errorf("no item: %s", r.body)
	}
	r = e.raw("PutItem", `{"TableName":"keys","Item":{"pk":{"S":"a"},"sk":{"N":"1"}},"ExpressionAttributeNames":{}}`)
	if !strings.Contains(string(r.body), "ExpressionAttributeNames can only be specified when using expressions") {
		t.Errorf("names without expressions: %s", r.body)
	}
	r = e.raw("PutItem", `{"TableName":"keys","Item":{"pk":{"S":"a"},"sk":{"N":"1"}},"ConditionExpression":"attribute_exists(#a)","ExpressionAttributeNames":{}}`)
	if !strings.Contains(string(r.body), "ExpressionAttributeNames must not be empty") {
		t.Errorf("empty names: %s", r.body)
	}
	r = e.raw("PutItem", `{"TableName":"keys","Item":{"pk":{"S":"a"},"sk":{"N":"1"}},"ReturnValues":"SOME"}`)
	if !strings.Contains(string(r.body), "Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]") {
		t.Errorf("bad ReturnValues: %s", r.body)
	}
}

// TestChangeLogWritten checks that every write put its record in the log, in order.
func TestChangeLogWritten(t *testing.T) {
	e := newEnv(t)
	e.createTable("logged", "", "")
	c := e.client
	tbl := aws.String("logged")
	k := map[string]types.AttributeValue{"pk": avS("a")}
	steps := []func() error{
		func() error {
			_, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("a"), "v": avN("1")}})
			return err
		},
		func() error {
			_, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("a"), "v": avN("2")}})
			return err
		},
		func() error { // no change: no record
			_, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("a"), "v": avN("2")}})
			return err
		},
		func() error {
			_, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: k})
			return err
		},
		func() error { // deleting nothing: no record
			_, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: k})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	recs := readLog(t, e, "logged")
	want := []changeEvent{eventInsert, eventModify, eventRemove}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.Event != want[i] || r.Seq != uint64(i+1) || r.Region != testRegion || r.Time.IsZero() {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if recs[0].Old != nil || recs[0].New == nil || recs[1].Old == nil || recs[1].New == nil || recs[2].Old == nil || recs[2].New != nil {
		t.Errorf("images: %+v", recs)
	}
	tb, _ := e.svc.lookupTable("logged")
	if f := tb.log.frontier(); f != 3 {
		t.Errorf("frontier %d", f)
	}
}

// readLog returns a table's change log.
func readLog(t *testing.T, e *env, name string) []*changeRecord {
	t.Helper()
	tb, err := e.svc.lookupTable(name)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte(logPrefix + tb.meta.ID + "/")
	it, err := e.store.Iter(prefix, append(prefix, 0xff))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var recs []*changeRecord
	for it.Next() {
		r, err := decodeChangeRecord(it.Value())
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}
