package tables

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/testutil"
)

func keySchema(hash, rng string) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	return ks
}

func attrDefs(nameTypes ...string) []types.AttributeDefinition {
	var out []types.AttributeDefinition
	for i := 0; i < len(nameTypes); i += 2 {
		out = append(out, types.AttributeDefinition{AttributeName: aws.String(nameTypes[i]), AttributeType: types.ScalarAttributeType(nameTypes[i+1])})
	}
	return out
}

func gsi(name, hash, rng string, p types.ProjectionType, nonKeys ...string) types.GlobalSecondaryIndex {
	g := types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: keySchema(hash, rng), Projection: &types.Projection{ProjectionType: p}}
	if nonKeys != nil {
		g.Projection.NonKeyAttributes = nonKeys
	}
	return g
}

func lsi(name, rng string, p types.ProjectionType, nonKeys ...string) types.LocalSecondaryIndex {
	l := types.LocalSecondaryIndex{IndexName: aws.String(name), KeySchema: keySchema("pk", rng), Projection: &types.Projection{ProjectionType: p}}
	if nonKeys != nil {
		l.Projection.NonKeyAttributes = nonKeys
	}
	return l
}

// indexedTable is the table of the index tests: pk (S) and sk (N), a GSI byCity (city S,
// age N, ALL), a GSI byTag (tag S, KEYS_ONLY), a GSI byCityIncl (city, INCLUDE name) and
// an LSI byAge (age, KEYS_ONLY).
func (e *env) createIndexedTable(name string) *dynamodb.CreateTableOutput {
	e.t.Helper()
	out, err := e.client.CreateTable(ctx(e.t), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrDefs("pk", "S", "sk", "N", "city", "S", "age", "N", "tag", "S"),
		KeySchema:            keySchema("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi("byCity", "city", "age", types.ProjectionTypeAll),
			gsi("byTag", "tag", "", types.ProjectionTypeKeysOnly),
			gsi("byCityIncl", "city", "", types.ProjectionTypeInclude, "name"),
		},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{lsi("byAge", "age", types.ProjectionTypeKeysOnly)},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) put(table string, item map[string]types.AttributeValue) {
	e.t.Helper()
	if _, err := e.client.PutItem(ctx(e.t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		e.t.Fatal(err)
	}
}

// person is an item of the indexed table.
func person(pk string, sk int, city string, age int, extra ...string) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"pk": avS(pk), "sk": avN(strconv.Itoa(sk))}
	if city != "" {
		item["city"] = avS(city)
	}
	if age >= 0 {
		item["age"] = avN(strconv.Itoa(age))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		item[extra[i]] = avS(extra[i+1])
	}
	return item
}

// ids returns "pk/sk" of each item.
func ids(t *testing.T, items []map[string]types.AttributeValue) []string {
	t.Helper()
	var out []string
	for _, it := range items {
		n, ok := it["sk"].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("item without sk: %v", it)
		}
		out = append(out, sOf(t, it, "pk")+"/"+n.Value)
	}
	return out
}

func (e *env) queryIndex(in *dynamodb.QueryInput) *dynamodb.QueryOutput {
	e.t.Helper()
	out, err := e.client.Query(ctx(e.t), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func cityQuery(table, index, city string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("city = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS(city)}}
}

func TestCreateTableIndexErrors(t *testing.T) {
	e := newEnv(t)
	base := func() *dynamodb.CreateTableInput {
		return &dynamodb.CreateTableInput{
			TableName:            aws.String("bad"),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: attrDefs("pk", "S", "sk", "N", "g", "S"),
			KeySchema:            keySchema("pk", "sk"),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi("gsi", "g", "", types.ProjectionTypeAll),
			},
		}
	}
	many := func(n int, nonKeys int) []types.GlobalSecondaryIndex {
		var out []types.GlobalSecondaryIndex
		for i := range n {
			g := gsi(fmt.Sprintf("gsi%02d", i), "g", "", types.ProjectionTypeAll)
			if nonKeys > 0 {
				g.Projection.ProjectionType = types.ProjectionTypeInclude
				for j := range nonKeys {
					g.Projection.NonKeyAttributes = append(g.Projection.NonKeyAttributes, fmt.Sprintf("a%d", j))
				}
			}
			out = append(out, g)
		}
		return out
	}
	cases := []struct {
		name   string
		change func(in *dynamodb.CreateTableInput)
		code   string
		msg    string
	}{
		{"short name", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes[0].IndexName = aws.String("ab") },
			"ValidationException", "Value 'ab' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3"},
		{"bad name", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes[0].IndexName = aws.String("a b c") },
			"ValidationException", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"long name", func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[0].IndexName = aws.String(strings.Repeat("x", 256))
		}, "ValidationException", "Member must have length less than or equal to 255"},
		{"empty list", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{} },
			"ValidationException", ""},
		{"duplicate across kinds", func(in *dynamodb.CreateTableInput) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, attrDefs("l", "N")...)
			in.LocalSecondaryIndexes = []types.LocalSecondaryIndex{lsi("gsi", "l", types.ProjectionTypeAll)}
		}, "ValidationException", "Duplicate index name: gsi"},
		{"undefined key", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes[0].KeySchema = keySchema("nope", "") },
			"ValidationException", "Some index key attributes are not defined in AttributeDefinitions"},
		{"unused definition", func(in *dynamodb.CreateTableInput) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, attrDefs("extra", "S")...)
		}, "ValidationException", "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, g, extra], keys used: [pk, sk, g]"},
		{"same hash and range", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes[0].KeySchema = keySchema("g", "g") },
			"ValidationException", "Both the Hash Key and the Range Key element in the KeySchema have the same name"},
		{"lsi other hash", func(in *dynamodb.CreateTableInput) {
			l := lsi("lsi", "sk", types.ProjectionTypeAll)
			l.KeySchema = keySchema("g", "sk")
			in.LocalSecondaryIndexes = []types.LocalSecondaryIndex{l}
		}, "ValidationException", "Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi"},
		{"lsi same range", func(in *dynamodb.CreateTableInput) {
			in.LocalSecondaryIndexes = []types.LocalSecondaryIndex{lsi("lsi", "sk", types.ProjectionTypeAll)}
		}, "ValidationException", "Index KeySchema has the same range key as table KeySchema for index: lsi"},
		{"lsi without range", func(in *dynamodb.CreateTableInput) {
			l := lsi("lsi", "", types.ProjectionTypeAll)
			in.LocalSecondaryIndexes = []types.LocalSecondaryIndex{l}
		}, "ValidationException", "Index KeySchema must have a range key for index: lsi"},
		{"lsi on hash-only table", func(in *dynamodb.CreateTableInput) {
			in.KeySchema = keySchema("pk", "")
			in.AttributeDefinitions = attrDefs("pk", "S", "g", "S", "l", "N")
			in.LocalSecondaryIndexes = []types.LocalSecondaryIndex{lsi("lsi", "l", types.ProjectionTypeAll)}
		}, "ValidationException", "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"},
		{"include without attributes", func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[0].Projection.ProjectionType = types.ProjectionTypeInclude
		}, "ValidationException", "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"},
		{"all with attributes", func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[0].Projection.NonKeyAttributes = []string{"x"}
		}, "ValidationException", "ProjectionType is ALL, but NonKeyAttributes is specified"},
		{"bad projection type", func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[0].Projection.ProjectionType = "SOME"
		}, "ValidationException", "Member must satisfy enum value set: [ALL, KEYS_ONLY, INCLUDE]"},
		{"21 gsis", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes = many(21, 0) },
			"ValidationException", "GlobalSecondaryIndex count exceeds the per-table limit of 20"},
		{"6 lsis", func(in *dynamodb.CreateTableInput) {
			for i := range 6 {
				name := fmt.Sprintf("l%d", i)
				in.AttributeDefinitions = append(in.AttributeDefinitions, attrDefs(name, "S")...)
				in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, lsi("lsi"+name, name, types.ProjectionTypeAll))
			}
		}, "ValidationException", "Number of LocalSecondaryIndexes exceeds per-table limit of 5"},
		{"101 projected attributes", func(in *dynamodb.CreateTableInput) { in.GlobalSecondaryIndexes = many(6, 17) },
			"ValidationException", "exceeds the limit of 100, provided: 102"},
		{"throughput with pay per request", func(in *dynamodb.CreateTableInput) {
			in.GlobalSecondaryIndexes[0].ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
		}, "ValidationException", "ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST"},
		{"provisioned without index throughput", func(in *dynamodb.CreateTableInput) {
			in.BillingMode = types.BillingModeProvisioned
			in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
		}, "ValidationException", "ProvisionedThroughput must be specified for index: gsi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.change(in)
			_, err := e.client.CreateTable(ctx(t), in)
			wantError(t, err, tc.code, tc.msg)
		})
	}
	// Nothing was created.
	out, err := e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 0 {
		t.Fatalf("tables after errors: %v %v", out, err)
	}
}

func TestCreateTableWithIndexesDescribed(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:             aws.String("prov"),
		BillingMode:           types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(6)},
		AttributeDefinitions:  attrDefs("pk", "S", "sk", "N", "g", "S", "l", "B"),
		KeySchema:             keySchema("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{func() types.GlobalSecondaryIndex {
			g := gsi("gsi.1", "g", "sk", types.ProjectionTypeInclude, "a", "b")
			g.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(2), WriteCapacityUnits: aws.Int64(3)}
			return g
		}()},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{lsi("lsi_1", "l", types.ProjectionTypeKeysOnly)},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("prov")})
	if err != nil {
		t.Fatal(err)
	}
	tbl := d.Table
	if len(tbl.GlobalSecondaryIndexes) != 1 || len(tbl.LocalSecondaryIndexes) != 1 {
		t.Fatalf("indexes: %+v %+v", tbl.GlobalSecondaryIndexes, tbl.LocalSecondaryIndexes)
	}
	g := tbl.GlobalSecondaryIndexes[0]
	if aws.ToString(g.IndexName) != "gsi.1" || g.IndexStatus != types.IndexStatusActive || aws.ToBool(g.Backfilling) ||
		aws.ToString(g.IndexArn) != aws.ToString(tbl.TableArn)+"/index/gsi.1" ||
		g.Projection.ProjectionType != types.ProjectionTypeInclude || !slices.Equal(g.Projection.NonKeyAttributes, []string{"a", "b"}) ||
		aws.ToInt64(g.ProvisionedThroughput.ReadCapacityUnits) != 2 || aws.ToInt64(g.ProvisionedThroughput.WriteCapacityUnits) != 3 ||
		len(g.KeySchema) != 2 || aws.ToString(g.KeySchema[0].AttributeName) != "g" || g.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("GSI: %+v", g)
	}
	l := tbl.LocalSecondaryIndexes[0]
	if aws.ToString(l.IndexName) != "lsi_1" || aws.ToString(l.IndexArn) != aws.ToString(tbl.TableArn)+"/index/lsi_1" ||
		l.Projection.ProjectionType != types.ProjectionTypeKeysOnly || aws.ToString(l.KeySchema[1].AttributeName) != "l" {
		t.Errorf("LSI: %+v", l)
	}
	if len(tbl.AttributeDefinitions) != 4 {
		t.Errorf("attribute definitions: %+v", tbl.AttributeDefinitions)
	}
	// A binary LSI key of the wrong type is refused.
	_, err = e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("prov"),
		Item: map[string]types.AttributeValue{"pk": avS("a"), "sk": avN("1"), "l": avS("not binary")}})
	wantError(t, err, "ValidationException", "One or more parameter values were invalid: Type mismatch for Index Key l Expected: B Actual: S IndexName: lsi_1")
}

func TestGlobalSecondaryIndexQuery(t *testing.T) {
	e := newEnv(t)
	e.createIndexedTable("people")
	c := e.client
	tbl := aws.String("people")
	e.put("people", person("u1", 1, "paris", 30, "name", "ann", "tag", "red", "other", "x"))
	e.put("people", person("u2", 1, "paris", 25, "name", "bob"))
	e.put("people", person("u3", 1, "paris", 30, "name", "cy")) // same index key as u1
	e.put("people", person("u1", 2, "rome", 40, "name", "dee", "tag", "red"))
	e.put("people", person("u4", 1, "", 50, "name", "eve")) // no city: in no city index
	e.put("people", person("u5", 1, "paris", -1))           // no age: not in byCity

	// Errors on write: wrong type, empty string.
	_, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("x"), "sk": avN("1"), "city": avN("1")}})
	wantError(t, err, "ValidationException", "Type mismatch for Index Key city Expected: S Actual: N IndexName: byCity")
	_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("u1"), "sk": avN("1")},
		UpdateExpression: aws.String("SET age = :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": avS("old")}})
	wantError(t, err, "ValidationException", "Type mismatch for Index Key age")
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("x"), "sk": avN("1"), "tag": avS("")}})
	wantError(t, err, "ValidationException", "A value specified for a secondary index key is not supported")

	out := e.queryIndex(cityQuery("people", "byCity", "paris"))
	if got := ids(t, out.Items); !slices.Equal(got, []string{"u2/1", "u1/1", "u3/1"}) {
		t.Errorf("byCity paris: %v", got)
	}
	if len(out.Items[1]) != 7 || sOf(t, out.Items[1], "other") != "x" {
		t.Errorf("ALL projection: %v", out.Items[1])
	}
	// Descending, with a sort key condition.
	in := cityQuery("people", "byCity", "paris")
	in.KeyConditionExpression = aws.String("city = :c AND age >= :a")
	in.ExpressionAttributeValues[":a"] = avN("30")
	in.ScanIndexForward = aws.Bool(false)
	if got := ids(t, e.queryIndex(in).Items); !slices.Equal(got, []string{"u3/1", "u1/1"}) {
		t.Errorf("age >= 30 descending: %v", got)
	}
	in.KeyConditionExpression = aws.String("city = :c AND age > :a")
	if got := ids(t, e.queryIndex(in).Items); len(got) != 0 {
		t.Errorf("age > 30: %v", got)
	}
	in.KeyConditionExpression = aws.String("city = :c AND age <= :a")
	in.ScanIndexForward = nil
	if got := ids(t, e.queryIndex(in).Items); !slices.Equal(got, []string{"u2/1", "u1/1", "u3/1"}) {
		t.Errorf("age <= 30: %v", got)
	}
	in.KeyConditionExpression = aws.String("city = :c AND age BETWEEN :a AND :b")
	in.ExpressionAttributeValues[":b"] = avN("30")
	in.ExpressionAttributeValues[":a"] = avN("26")
	if got := ids(t, e.queryIndex(in).Items); !slices.Equal(got, []string{"u1/1", "u3/1"}) {
		t.Errorf("between: %v", got)
	}

	// Pagination over duplicate index keys, both directions.
	for _, forward := range []bool{true, false} {
		var got []string
		var start map[string]types.AttributeValue
		for range 10 {
			in := cityQuery("people", "byCity", "paris")
			in.Limit, in.ExclusiveStartKey, in.ScanIndexForward = aws.Int32(1), start, aws.Bool(forward)
			out := e.queryIndex(in)
			got = append(got, ids(t, out.Items)...)
			start = out.LastEvaluatedKey
			if start == nil {
				break
			}
			if len(start) != 4 || start["city"] == nil || start["age"] == nil || start["pk"] == nil || start["sk"] == nil {
				t.Fatalf("LastEvaluatedKey: %v", start)
			}
		}
		want := []string{"u2/1", "u1/1", "u3/1"}
		if !forward {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged (forward %v): %v", forward, got)
		}
	}
	bad := cityQuery("people", "byCity", "paris")
	bad.ExclusiveStartKey = map[string]types.AttributeValue{"pk": avS("u1"), "sk": avN("1")}
	_, err = c.Query(ctx(t), bad)
	wantError(t, err, "ValidationException", "The provided starting key is invalid")

	// Select and projections.
	cnt := cityQuery("people", "byCity", "paris")
	cnt.Select = types.SelectCount
	if out := e.queryIndex(cnt); out.Count != 3 || out.Items != nil {
		t.Errorf("COUNT: %d %v", out.Count, out.Items)
	}
	out = e.queryIndex(cityQuery("people", "byCityIncl", "paris"))
	if got := ids(t, out.Items); len(got) != 4 {
		t.Errorf("byCityIncl: %v", got)
	}
	for _, it := range out.Items {
		for name := range it {
			if !oneOf(name, "pk", "sk", "city", "name") {
				t.Errorf("INCLUDE projection returned %s: %v", name, it)
			}
		}
	}
	allAttrs := cityQuery("people", "byCityIncl", "paris")
	allAttrs.Select = types.SelectAllAttributes
	_, err = c.Query(ctx(t), allAttrs)
	wantError(t, err, "ValidationException", "Select type ALL_ATTRIBUTES is not supported for global secondary index byCityIncl because its projection type is not ALL")
	notProjected := cityQuery("people", "byCityIncl", "paris")
	notProjected.ProjectionExpression = aws.String("pk, age")
	_, err = c.Query(ctx(t), notProjected)
	wantError(t, err, "ValidationException", "Global secondary index byCityIncl does not project [age]")
	projected := cityQuery("people", "byCityIncl", "paris")
	projected.ProjectionExpression = aws.String("#n")
	projected.ExpressionAttributeNames = map[string]string{"#n": "name"}
	projected.Select = types.SelectSpecificAttributes
	if out := e.queryIndex(projected); len(out.Items) != 4 || len(out.Items[0]) > 1 {
		t.Errorf("projected name: %v", out.Items)
	}
	tag := &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byTag"), KeyConditionExpression: aws.String("tag = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": avS("red")}, Select: types.SelectAllProjectedAttributes}
	if out := e.queryIndex(tag); !slices.Equal(ids(t, out.Items), []string{"u1/1", "u1/2"}) || len(out.Items[0]) != 3 {
		t.Errorf("byTag KEYS_ONLY: %v", out.Items)
	}

	// Filter.
	f := cityQuery("people", "byCity", "paris")
	f.FilterExpression = aws.String("#n <> :n")
	f.ExpressionAttributeNames = map[string]string{"#n": "name"}
	f.ExpressionAttributeValues[":n"] = avS("ann")
	if out := e.queryIndex(f); !slices.Equal(ids(t, out.Items), []string{"u2/1", "u3/1"}) || out.ScannedCount != 3 {
		t.Errorf("filtered: %v %d", ids(t, out.Items), out.ScannedCount)
	}
	f.FilterExpression = aws.String("age > :n")
	f.ExpressionAttributeNames = nil
	_, err = c.Query(ctx(t), f)
	wantError(t, err, "ValidationException", "Filter Expression can only contain non-primary key attributes: Primary key attribute: age")

	// Read errors.
	cons := cityQuery("people", "byCity", "paris")
	cons.ConsistentRead = aws.Bool(true)
	_, err = c.Query(ctx(t), cons)
	wantError(t, err, "ValidationException", "Consistent reads are not supported on global secondary indexes")
	_, err = c.Query(ctx(t), cityQuery("people", "no", "paris"))
	wantError(t, err, "ValidationException", "Value 'no' at 'indexName' failed to satisfy constraint: Member must have length greater than or equal to 3")
	_, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, IndexName: aws.String("n o")})
	wantError(t, err, "ValidationException", "Value 'n o' at 'indexName' failed to satisfy constraint: Member must satisfy regular expression pattern")
	_, err = c.Query(ctx(t), cityQuery("people", "nope", "paris"))
	wantError(t, err, "ValidationException", "The table does not have the specified index: nope")
	_, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, IndexName: aws.String("nope")})
	wantError(t, err, "ValidationException", "The table does not have the specified index: nope")
	_, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, IndexName: aws.String("byCity"), ConsistentRead: aws.Bool(true)})
	wantError(t, err, "ValidationException", "Consistent reads are not supported on global secondary indexes")
	wrongKey := cityQuery("people", "byCity", "paris")
	wrongKey.KeyConditionExpression = aws.String("pk = :c")
	_, err = c.Query(ctx(t), wrongKey)
	wantError(t, err, "ValidationException", "Query condition missed key schema element: city")

	// Maintenance: moving an item to another index key, removing its key, deleting it.
	if _, err := c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("u2"), "sk": avN("1")},
		UpdateExpression: aws.String("SET city = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("rome")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("u3"), "sk": avN("1")},
		UpdateExpression: aws.String("REMOVE age")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("u1"), "sk": avN("2")}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "paris")).Items); !slices.Equal(got, []string{"u1/1"}) {
		t.Errorf("paris after updates: %v", got)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "rome")).Items); !slices.Equal(got, []string{"u2/1"}) {
		t.Errorf("rome after updates: %v", got)
	}
	if got := ids(t, e.queryIndex(tag).Items); !slices.Equal(got, []string{"u1/1"}) {
		t.Errorf("byTag after delete: %v", got)
	}
	// A put replacing an item with the same index key updates the image.
	e.put("people", person("u1", 1, "paris", 30, "name", "ann2"))
	if out := e.queryIndex(cityQuery("people", "byCityIncl", "paris")); len(out.Items) != 3 || sOf(t, out.Items[0], "name") != "ann2" {
		t.Errorf("image after put: %v", out.Items)
	}

	// Batch and transaction writes maintain the indexes, and a mismatch refuses them.
	if _, err := c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"people": {
		{PutRequest: &types.PutRequest{Item: person("b1", 1, "oslo", 1)}},
		{PutRequest: &types.PutRequest{Item: person("b2", 1, "oslo", 2)}},
		{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"pk": avS("u1"), "sk": avN("1")}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "oslo")).Items); !slices.Equal(got, []string{"b1/1", "b2/1"}) {
		t.Errorf("oslo after batch: %v", got)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "paris")).Items); len(got) != 0 {
		t.Errorf("paris after batch delete: %v", got)
	}
	_, err = c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"people": {
		{PutRequest: &types.PutRequest{Item: person("b3", 1, "oslo", 3)}},
		{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": avS("b4"), "sk": avN("1"), "tag": avN("5")}}},
	}}})
	wantError(t, err, "ValidationException", "Type mismatch for Index Key tag")
	if _, err := c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tbl, Item: person("t1", 1, "oslo", 5, "tag", "blue")}},
		{Update: &types.Update{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("b1"), "sk": avN("1")},
			UpdateExpression: aws.String("SET city = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("bern")}}},
		{Delete: &types.Delete{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avS("b2"), "sk": avN("1")}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "oslo")).Items); !slices.Equal(got, []string{"t1/1"}) {
		t.Errorf("oslo after transaction: %v", got)
	}
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "bern")).Items); !slices.Equal(got, []string{"b1/1"}) {
		t.Errorf("bern after transaction: %v", got)
	}
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tbl, Item: person("t2", 1, "oslo", 5)}},
		{Put: &types.Put{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("t3"), "sk": avN("1"), "city": avN("5")}}},
	}})
	wantError(t, err, "ValidationException", "Type mismatch for Index Key city")
	if got := ids(t, e.queryIndex(cityQuery("people", "byCity", "oslo")).Items); !slices.Equal(got, []string{"t1/1"}) {
		t.Errorf("oslo after a refused transaction: %v", got)
	}
}

func TestIndexScan(t *testing.T) {
	e := newEnv(t)
	e.createIndexedTable("scanned")
	want := map[string]bool{}
	var reqs []types.WriteRequest
	for i := range 40 {
		city := fmt.Sprintf("c%d", i%7)
		if i%5 == 0 {
			city = "" // sparse
		} else {
			want[fmt.Sprintf("p%d/1", i)] = true
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: person(fmt.Sprintf("p%d", i), 1, city, i)}})
		if len(reqs) == 20 {
			if _, err := e.client.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"scanned": reqs}}); err != nil {
				t.Fatal(err)
			}
			reqs = nil
		}
	}
	// Four parallel segments, paged by 3: every indexed item once, each partition in one
	// segment.
	seen := map[string]bool{}
	citySegment := map[string]int32{}
	for seg := range int32(4) {
		var start map[string]types.AttributeValue
		for {
			out, err := e.client.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("scanned"), IndexName: aws.String("byCity"),
				Segment: aws.Int32(seg), TotalSegments: aws.Int32(4), Limit: aws.Int32(3), ExclusiveStartKey: start})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				id := ids(t, []map[string]types.AttributeValue{it})[0]
				if seen[id] {
					t.Errorf("%s seen twice", id)
				}
				seen[id] = true
				city := sOf(t, it, "city")
				if s, ok := citySegment[city]; ok && s != seg {
					t.Errorf("partition %s in segments %d and %d", city, s, seg)
				}
				citySegment[city] = seg
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("scanned %d entries, want %d", len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s not scanned", id)
		}
	}
	out, err := e.client.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("scanned"), IndexName: aws.String("byCity"),
		FilterExpression: aws.String("age < :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": avN("10")}})
	if err != nil || out.Count != 8 || int(out.ScannedCount) != len(want) {
		t.Errorf("filtered scan: %d of %d, %v", out.Count, out.ScannedCount, err)
	}
}

func TestLocalSecondaryIndex(t *testing.T) {
	e := newEnv(t)
	e.createIndexedTable("local")
	e.put("local", person("a", 1, "x", 30, "name", "one"))
	e.put("local", person("a", 2, "y", 10, "name", "two"))
	e.put("local", person("a", 3, "z", -1, "name", "three")) // no age: not in byAge
	e.put("local", person("b", 1, "x", 20))
	q := func() *dynamodb.QueryInput {
		return &dynamodb.QueryInput{TableName: aws.String("local"), IndexName: aws.String("byAge"), ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("pk = :p AND age > :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("a"), ":a": avN("0")}}
	}
	out := e.queryIndex(q())
	if got := ids(t, out.Items); !slices.Equal(got, []string{"a/2", "a/1"}) {
		t.Errorf("byAge: %v", got)
	}
	if len(out.Items[0]) != 3 {
		t.Errorf("KEYS_ONLY item: %v", out.Items[0])
	}
	// Attributes the LSI does not project are fetched from the table.
	all := q()
	all.Select = types.SelectAllAttributes
	if out := e.queryIndex(all); len(out.Items) != 2 || sOf(t, out.Items[0], "name") != "two" || sOf(t, out.Items[1], "city") != "x" {
		t.Errorf("ALL_ATTRIBUTES: %v", out.Items)
	}
	proj := q()
	proj.ProjectionExpression = aws.String("#n")
	proj.ExpressionAttributeNames = map[string]string{"#n": "name"}
	if out := e.queryIndex(proj); len(out.Items) != 2 || sOf(t, out.Items[1], "name") != "one" || len(out.Items[1]) != 1 {
		t.Errorf("projected from the table: %v", out.Items)
	}
	filt := q()
	filt.FilterExpression = aws.String("city = :c")
	filt.ExpressionAttributeValues[":c"] = avS("x")
	if out := e.queryIndex(filt); !slices.Equal(ids(t, out.Items), []string{"a/1"}) || len(out.Items[0]) != 3 {
		t.Errorf("filtered on a fetched attribute: %v", out.Items)
	}
	// Paging in the LSI.
	page := q()
	page.Limit = aws.Int32(1)
	first := e.queryIndex(page)
	if len(first.LastEvaluatedKey) != 3 {
		t.Fatalf("LastEvaluatedKey: %v", first.LastEvaluatedKey)
	}
	page.ExclusiveStartKey = first.LastEvaluatedKey
	if got := ids(t, e.queryIndex(page).Items); !slices.Equal(got, []string{"a/1"}) {
		t.Errorf("second page: %v", got)
	}
}

// indexEntries counts the store keys under prefix.
func indexEntries(t *testing.T, store kv.Store, prefix string) int {
	t.Helper()
	it, err := store.Iter([]byte(prefix), kv.PrefixEnd([]byte(prefix)))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	return n
}

func TestDeleteTableRemovesIndexEntries(t *testing.T) {
	e := newEnv(t)
	out := e.createIndexedTable("gone")
	e.put("gone", person("a", 1, "x", 1, "tag", "t"))
	id := strings.ReplaceAll(aws.ToString(out.TableDescription.TableId), "-", "")
	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != 4 {
		t.Fatalf("%d index entries, want 4", n)
	}
	if _, err := e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	if n := indexEntries(t, e.store, indexPrefix); n != 0 {
		t.Fatalf("%d index entries after DeleteTable", n)
	}
}

// describeGSI returns the description of GSI name of table, nil if it has none.
func (e *env) describeGSI(table, name string) *types.GlobalSecondaryIndexDescription {
	e.t.Helper()
	d, err := e.client.DescribeTable(ctx(e.t), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == name {
			return &g
		}
	}
	return nil
}

// waitGSI waits until GSI name of table has status (or is gone, for status "").
func (e *env) waitGSI(table, name string, status types.IndexStatus) {
	e.t.Helper()
	testutil.WaitFor(e.t, 20*time.Second, func() error {
		g := e.describeGSI(table, name)
		switch {
		case status == "" && g != nil:
			return fmt.Errorf("index %s still %s", name, g.IndexStatus)
		case status != "" && (g == nil || g.IndexStatus != status):
			return fmt.Errorf("index %s not %s: %+v", name, status, g)
		}
		return nil
	})
}

func createGSIUpdate(name, hash, rng string, p types.ProjectionType) types.GlobalSecondaryIndexUpdate {
	return types.GlobalSecondaryIndexUpdate{Create: &types.CreateGlobalSecondaryIndexAction{
		IndexName: aws.String(name), KeySchema: keySchema(hash, rng), Projection: &types.Projection{ProjectionType: p}}}
}

// gate holds a backfill at a chunk until released.
type gate struct {
	at      int
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate(at int) *gate {
	return &gate{at: at, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) hook(ctx context.Context, _ string, chunk int) error {
	if chunk != g.at {
		return nil
	}
	g.once.Do(func() { close(g.reached) })
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestUpdateTableCreateGSIWithConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	e.createTable("orders", "", "")
	c := e.client
	tbl := aws.String("orders")
	const n = 250
	for i := 0; i < n; i += 25 {
		var reqs []types.WriteRequest
		for j := i; j < i+25; j++ {
			item := map[string]types.AttributeValue{"pk": avS(fmt.Sprintf("o%03d", j)), "status": avS(fmt.Sprintf("s%d", j%3)), "v": avN("0")}
			if j%10 == 9 {
				item["status"] = avN("9") // a key violation: left out of the index
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		if _, err := c.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"orders": reqs}}); err != nil {
			t.Fatal(err)
		}
	}
	g := newGate(1)
	hook := g.hook
	e.svc.backfillHook.Store((*func(context.Context, string, int) error)(&hook))

	// Errors first.
	_, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl,
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byStatus", "status", "", types.ProjectionTypeAll)}})
	wantError(t, err, "ValidationException", "Some index key attributes are not defined in AttributeDefinitions")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("status", "S", "x", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byStatus", "status", "", types.ProjectionTypeAll)}})
	wantError(t, err, "ValidationException", "Some AttributeDefinitions are not used")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("status", "S", "x", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
			createGSIUpdate("byStatus", "status", "", types.ProjectionTypeAll), createGSIUpdate("byX", "x", "", types.ProjectionTypeAll)}})
	wantError(t, err, "LimitExceededException", "Only 1 online index can be created or deleted simultaneously per table")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("pk", "N"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byPk", "pk", "", types.ProjectionTypeAll)}})
	wantError(t, err, "ValidationException", "Cannot change the type of attribute pk")
	withThroughput := createGSIUpdate("byStatus", "status", "", types.ProjectionTypeAll)
	withThroughput.Create.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("status", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{withThroughput}})
	wantError(t, err, "ValidationException", "ProvisionedThroughput should not be specified for index: byStatus when BillingMode is PAY_PER_REQUEST")

	up, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("status", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byStatus", "status", "pk", types.ProjectionTypeKeysOnly)}})
	if err != nil {
		t.Fatal(err)
	}
	if gs := up.TableDescription.GlobalSecondaryIndexes; len(gs) != 1 || gs[0].IndexStatus != types.IndexStatusCreating || !aws.ToBool(gs[0].Backfilling) ||
		len(up.TableDescription.AttributeDefinitions) != 2 {
		t.Fatalf("UpdateTable answer: %+v", up.TableDescription)
	}
	<-g.reached // the first chunk is indexed, the backfill waits before the second
	if d := e.describeGSI("orders", "byStatus"); d == nil || d.IndexStatus != types.IndexStatusCreating {
		t.Fatalf("during the backfill: %+v", d)
	}
	_, err = c.Query(ctx(t), &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byStatus"), KeyConditionExpression: aws.String("#s = :s"),
		ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: map[string]types.AttributeValue{":s": avS("s0")}})
	wantError(t, err, "ValidationException", "Cannot read from backfilling global secondary index: byStatus")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("x", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byX", "x", "", types.ProjectionTypeAll)}})
	wantError(t, err, "LimitExceededException", "Only 1 online index can be created or deleted simultaneously per table")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl,
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byStatus", "status", "", types.ProjectionTypeAll)}})
	wantError(t, err, "LimitExceededException", "")
	// A write with a mistyped key is refused while CREATING.
	_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("new"), "status": avN("1")}})
	wantError(t, err, "ValidationException", "Type mismatch for Index Key status")

	// Concurrent writers over the whole table while the backfill is held, then while it
	// runs: new items, changed statuses, deletions.
	errs := make(chan error, 8)
	write := func(lo, hi int) *sync.WaitGroup {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lo + w; i < hi; i += 4 {
					k := map[string]types.AttributeValue{"pk": avS(fmt.Sprintf("o%03d", i))}
					var err error
					switch i % 5 {
					case 0:
						_, err = c.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tbl, Key: k, UpdateExpression: aws.String("SET #s = :s"),
							ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: map[string]types.AttributeValue{":s": avS("moved")}})
					case 1:
						_, err = c.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: tbl, Key: k})
					case 2:
						_, err = c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{
							"pk": avS(fmt.Sprintf("n%03d", i)), "status": avS("new")}})
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		return &wg
	}
	write(0, n/2).Wait()
	close(g.release)
	write(n/2, n).Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.waitGSI("orders", "byStatus", types.IndexStatusActive)

	// The index holds exactly the table's items with a string status.
	want := map[string][]string{}
	scan, err := c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range scan.Items {
		if s, ok := it["status"].(*types.AttributeValueMemberS); ok {
			want[s.Value] = append(want[s.Value], sOf(t, it, "pk"))
		}
	}
	total := 0
	for status, pks := range want {
		sort.Strings(pks)
		var got []string
		var start map[string]types.AttributeValue
		for {
			out, err := c.Query(ctx(t), &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byStatus"), KeyConditionExpression: aws.String("#s = :s"),
				ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: map[string]types.AttributeValue{":s": avS(status)},
				ExclusiveStartKey: start, Limit: aws.Int32(40)})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				got = append(got, sOf(t, it, "pk"))
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
		if !slices.Equal(got, pks) {
			t.Errorf("status %s: index has %v, table %v", status, got, pks)
		}
		total += len(got)
	}
	if total == 0 || len(want["moved"]) == 0 || len(want["new"]) == 0 {
		t.Errorf("test did not exercise writes: %v", want)
	}
	if cnt, err := c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, IndexName: aws.String("byStatus"), Select: types.SelectCount}); err != nil || int(cnt.Count) != total {
		t.Errorf("index scan count %v, want %d: %v", cnt, total, err)
	}
}

func TestUpdateTableDeleteAndUpdateGSI(t *testing.T) {
	e := newEnv(t)
	c := e.client
	tbl := aws.String("prov")
	g := gsi("byG", "g", "", types.ProjectionTypeAll)
	g.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
	out, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName: tbl, BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput:  &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)},
		AttributeDefinitions:   attrDefs("pk", "S", "g", "S", "sk", "S", "l", "S"),
		KeySchema:              keySchema("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{g},
		LocalSecondaryIndexes:  []types.LocalSecondaryIndex{lsi("byL", "l", types.ProjectionTypeAll)},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.ReplaceAll(aws.ToString(out.TableDescription.TableId), "-", "")
	for i := range 30 {
		e.put("prov", map[string]types.AttributeValue{"pk": avS(fmt.Sprint(i)), "sk": avS("s"), "g": avS(fmt.Sprint(i % 4)), "l": avS("x")})
	}
	update := func(name string, r, w int64) types.GlobalSecondaryIndexUpdate {
		return types.GlobalSecondaryIndexUpdate{Update: &types.UpdateGlobalSecondaryIndexAction{IndexName: aws.String(name),
			ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}}}
	}
	up, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{update("byG", 7, 8)}})
	if err != nil || aws.ToInt64(up.TableDescription.GlobalSecondaryIndexes[0].ProvisionedThroughput.ReadCapacityUnits) != 7 {
		t.Fatalf("throughput update: %+v %v", up, err)
	}
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{update("byG", 7, 8)}})
	wantError(t, err, "ValidationException", "will not change")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{update("nope", 1, 2)}})
	wantError(t, err, "ResourceNotFoundException", "")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byL")}}}})
	wantError(t, err, "ValidationException", "")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byG")}, Update: update("byG", 1, 1).Update}}})
	wantError(t, err, "ValidationException", "")

	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != 60 {
		t.Fatalf("%d index entries, want 60", n)
	}
	up, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byG")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if gs := up.TableDescription.GlobalSecondaryIndexes; len(gs) != 1 || gs[0].IndexStatus != types.IndexStatusDeleting {
		t.Fatalf("UpdateTable answer: %+v", gs)
	}
	e.waitGSI("prov", "byG", "")
	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != 30 {
		t.Errorf("%d index entries after the delete, want the LSI's 30", n)
	}
	d, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: tbl})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Table.AttributeDefinitions) != 3 || len(d.Table.LocalSecondaryIndexes) != 1 {
		t.Errorf("after the delete: %+v %+v", d.Table.AttributeDefinitions, d.Table.LocalSecondaryIndexes)
	}
	_, err = c.Query(ctx(t), &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byG"), KeyConditionExpression: aws.String("g = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": avS("1")}})
	wantError(t, err, "ValidationException", "The table does not have the specified index: byG")
	// Writes go on without the index; its attribute may now hold any type.
	e.put("prov", map[string]types.AttributeValue{"pk": avS("z"), "sk": avS("s"), "g": avN("1")})
	// Back to PAY_PER_REQUEST and a new GSI with the same name.
	if _, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, BillingMode: types.BillingModePayPerRequest}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, AttributeDefinitions: attrDefs("g", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byG", "g", "", types.ProjectionTypeKeysOnly)}}); err != nil {
		t.Fatal(err)
	}
	e.waitGSI("prov", "byG", types.IndexStatusActive)
	q, err := c.Query(ctx(t), &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byG"), KeyConditionExpression: aws.String("g = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": avS("1")}})
	if err != nil || q.Count != 8 {
		t.Errorf("recreated index: %v %v", q, err)
	}
}

func TestBackfillResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	store, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, store)
	e.createTable("resume", "", "")
	for i := range 120 {
		e.put("resume", map[string]types.AttributeValue{"pk": avS(fmt.Sprint(i)), "g": avS(fmt.Sprint(i % 2))})
	}
	g := newGate(1) // never released: the backfill stops after its first chunk
	hook := g.hook
	e.svc.backfillHook.Store((*func(context.Context, string, int) error)(&hook))
	if _, err := e.client.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: aws.String("resume"), AttributeDefinitions: attrDefs("g", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byG", "g", "", types.ProjectionTypeAll)}}); err != nil {
		t.Fatal(err)
	}
	<-g.reached
	e.stop()
	if n := indexEntries(t, store, backfillPrefix); n != 1 {
		t.Fatalf("%d backfill progress keys, want 1", n)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store2, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store2.Close() })
	// The new service goes on after the first chunk: one chunk (the last 20 items) is left.
	var chunks atomic.Int32
	count := func(context.Context, string, int) error {
		chunks.Add(1)
		return nil
	}
	e2 := newEnvWith(t, store2, func(s *Service) { s.backfillHook.Store(&count) })
	e2.waitGSI("resume", "byG", types.IndexStatusActive)
	if n := chunks.Load(); n != 1 {
		t.Errorf("the resumed backfill read %d chunks, want 1", n)
	}
	if n := indexEntries(t, store2, backfillPrefix); n != 0 {
		t.Errorf("%d backfill progress keys left", n)
	}
	for _, v := range []string{"0", "1"} {
		out, err := e2.client.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String("resume"), IndexName: aws.String("byG"),
			KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: map[string]types.AttributeValue{":g": avS(v)}})
		if err != nil || out.Count != 60 {
			t.Errorf("g=%s after the resumed backfill: %v %v", v, out, err)
		}
	}
}

// TestIndexFieldErrorsRaw sends what the SDK refuses to send.
func TestIndexFieldErrorsRaw(t *testing.T) {
	e := newEnv(t)
	r := e.raw("CreateTable", `{"TableName":"raw","BillingMode":"PAY_PER_REQUEST",
		"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"g","AttributeType":"S"}],
		"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
		"GlobalSecondaryIndexes":[{"IndexName":"gsi","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}]}]}`)
	if r.status != 400 || !strings.Contains(string(r.body), "Value null at 'globalSecondaryIndexes.1.member.projection' failed to satisfy constraint: Member must not be null") {
		t.Errorf("no projection: %d %s", r.status, r.body)
	}
	e.createTable("raw", "", "")
	r = e.raw("UpdateTable", `{"TableName":"raw","GlobalSecondaryIndexUpdates":[{}]}`)
	if r.status != 400 || !strings.Contains(string(r.body), "must be specified, and only one") {
		t.Errorf("empty update: %d %s", r.status, r.body)
	}
}

func TestTTLRemovesIndexEntries(t *testing.T) {
	e := newEnv(t)
	out := e.createIndexedTable("expiring")
	if _, err := e.client.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("expiring"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	item := person("a", 1, "x", 1, "tag", "t")
	item["exp"] = avN(strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))
	e.put("expiring", item)
	e.put("expiring", person("b", 1, "x", 2))
	if n, err := e.svc.expireItems(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	if got := ids(t, e.queryIndex(cityQuery("expiring", "byCity", "x")).Items); !slices.Equal(got, []string{"b/1"}) {
		t.Errorf("byCity after expiry: %v", got)
	}
	id := strings.ReplaceAll(aws.ToString(out.TableDescription.TableId), "-", "")
	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != 3 {
		t.Errorf("%d index entries after expiry, want 3 (b in byCity, byCityIncl, byAge)", n)
	}
}

func TestDeleteGSIWhileBackfilling(t *testing.T) {
	e := newEnv(t)
	e.createTable("halfway", "", "")
	for i := range 150 {
		e.put("halfway", map[string]types.AttributeValue{"pk": avS(fmt.Sprint(i)), "g": avS("x")})
	}
	g := newGate(1)
	hook := g.hook
	e.svc.backfillHook.Store((*func(context.Context, string, int) error)(&hook))
	up, err := e.client.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: aws.String("halfway"), AttributeDefinitions: attrDefs("g", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{createGSIUpdate("byG", "g", "", types.ProjectionTypeAll)}})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.ReplaceAll(aws.ToString(up.TableDescription.TableId), "-", "")
	<-g.reached
	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != backfillChunk {
		t.Fatalf("%d entries after the first chunk, want %d", n, backfillChunk)
	}
	up, err = e.client.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: aws.String("halfway"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byG")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if gs := up.TableDescription.GlobalSecondaryIndexes; len(gs) != 1 || gs[0].IndexStatus != types.IndexStatusDeleting {
		t.Fatalf("UpdateTable answer: %+v", gs)
	}
	close(g.release)
	e.waitGSI("halfway", "byG", "")
	if n := indexEntries(t, e.store, indexPrefix+id+"/"); n != 0 {
		t.Errorf("%d entries left", n)
	}
	d, err := e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("halfway")})
	if err != nil || len(d.Table.AttributeDefinitions) != 1 {
		t.Errorf("after the delete: %+v %v", d, err)
	}
}
