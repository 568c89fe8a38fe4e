package tables

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fillOrders puts n orders in each of the partitions, sort key 0..n-1 (numbers), with an
// attribute odd and a payload of pad bytes.
func fillOrders(t *testing.T, e *env, table string, partitions []string, n, pad int) {
	t.Helper()
	for _, p := range partitions {
		for i := range n {
			item := map[string]types.AttributeValue{
				"pk": avS(p), "sk": avN(strconv.Itoa(i)),
				"odd":  &types.AttributeValueMemberBOOL{Value: i%2 == 1},
				"half": avN(strconv.Itoa(i / 2)),
			}
			if pad > 0 {
				item["pad"] = avS(strings.Repeat("x", pad))
			}
			if _, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sortKeys(t *testing.T, items []map[string]types.AttributeValue) []int {
	t.Helper()
	var out []int
	for _, it := range items {
		n, err := strconv.Atoi(nOf(t, it, "sk"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func seq(from, to, step int) []int {
	var out []int
	for i := from; step > 0 && i < to || step < 0 && i > to; i += step {
		out = append(out, i)
	}
	return out
}

func TestQuery(t *testing.T) {
	e := newEnv(t)
	e.createTable("orders", "sk", types.ScalarAttributeTypeN)
	fillOrders(t, e, "orders", []string{"a", "b", "c"}, 20, 0)
	c := e.client
	tbl := aws.String("orders")
	q := func(in *dynamodb.QueryInput) *dynamodb.QueryOutput {
		t.Helper()
		in.TableName = tbl
		out, err := c.Query(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	vals := func(kv ...string) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{}
		for i := 0; i < len(kv); i += 2 {
			if _, err := strconv.Atoi(kv[i+1]); err == nil {
				m[kv[i]] = avN(kv[i+1])
			} else {
				m[kv[i]] = avS(kv[i+1])
			}
		}
		return m
	}

	out := q(&dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "b")})
	if got := sortKeys(t, out.Items); !slices.Equal(got, seq(0, 20, 1)) || out.Count != 20 || out.ScannedCount != 20 || out.LastEvaluatedKey != nil {
		t.Errorf("whole partition: %v count %d scanned %d lek %v", got, out.Count, out.ScannedCount, out.LastEvaluatedKey)
	}
	for _, tc := range []struct {
		cond string
		vals map[string]types.AttributeValue
		want []int
	}{
		{"pk = :p AND sk = :v", vals(":p", "b", ":v", "7"), []int{7}},
		{"pk = :p AND sk < :v", vals(":p", "b", ":v", "3"), []int{0, 1, 2}},
		{"pk = :p AND sk <= :v", vals(":p", "b", ":v", "3"), []int{0, 1, 2, 3}},
		{"pk = :p AND sk > :v", vals(":p", "b", ":v", "16"), []int{17, 18, 19}},
		{"pk = :p AND sk >= :v", vals(":p", "b", ":v", "16"), []int{16, 17, 18, 19}},
		{"pk = :p AND sk BETWEEN :lo AND :hi", vals(":p", "b", ":lo", "5", ":hi", "8"), []int{5, 6, 7, 8}},
		{"#k = :p AND #s BETWEEN :lo AND :hi", vals(":p", "zzz", ":lo", "5", ":hi", "8"), nil},
	} {
		// Backwards, filtered, projected.
		in := &dynamodb.QueryInput{KeyConditionExpression: aws.String(tc.cond), ExpressionAttributeValues: tc.vals}
		if strings.Contains(tc.cond, "#") {
			in.ExpressionAttributeNames = map[string]string{"#k": "pk", "#s": "sk"}
		}
		out := q(in)
		if got := sortKeys(t, out.Items); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.cond, got, tc.want)
		}
	}

	// Unused values.
	_, err := c.Query(ctx(t), &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a", ":t", "x")})
	wantError(t, err, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:t}")
	// Backwards, filtered, projected.
	in := &dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk < :v"), ScanIndexForward: aws.Bool(false),
		FilterExpression: aws.String("odd = :odd"), ProjectionExpression: aws.String("sk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("a"), ":v": avN("10"), ":odd": &types.AttributeValueMemberBOOL{Value: true}}}
	out = q(in)
	if got := sortKeys(t, out.Items); !slices.Equal(got, []int{9, 7, 5, 3, 1}) || out.Count != 5 || out.ScannedCount != 10 || len(out.Items[0]) != 1 {
		t.Errorf("backwards filtered: %v count %d scanned %d %v", got, out.Count, out.ScannedCount, out.Items)
	}

	// Paging with Limit: filtered-out items count toward the limit.
	var got []int
	pages := 0
	in.Limit = aws.Int32(3)
	p := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: in.KeyConditionExpression,
		ScanIndexForward: in.ScanIndexForward, FilterExpression: in.FilterExpression, ProjectionExpression: in.ProjectionExpression,
		ExpressionAttributeValues: in.ExpressionAttributeValues, Limit: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.ScannedCount > 3 {
			t.Errorf("page scanned %d", page.ScannedCount)
		}
		got = append(got, sortKeys(t, page.Items)...)
	}
	if !slices.Equal(got, []int{9, 7, 5, 3, 1}) || pages != 4 {
		t.Errorf("paged backwards: %v in %d pages", got, pages)
	}
	// Forward paging over the partition.
	got = nil
	p = dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: vals(":p", "c"), Limit: aws.Int32(7)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, sortKeys(t, page.Items)...)
	}
	if !slices.Equal(got, seq(0, 20, 1)) {
		t.Errorf("paged forwards: %v", got)
	}

	// Select COUNT.
	out = q(&dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), Select: types.SelectCount})
	if out.Count != 20 || out.Items != nil {
		t.Errorf("COUNT: %d %v", out.Count, out.Items)
	}

	// Errors.
	for _, tc := range []struct {
		in   dynamodb.QueryInput
		want string
	}{
		{dynamodb.QueryInput{}, "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("sk = :v"), ExpressionAttributeValues: vals(":v", "1")}, "Query condition missed key schema element"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p OR sk = :v"), ExpressionAttributeValues: vals(":p", "a", ":v", "1")}, "Invalid operator used in KeyConditionExpression: OR"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "1")}, "Condition parameter type does not match schema type"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), FilterExpression: aws.String("sk > :v"), ExpressionAttributeValues: vals(":p", "a", ":v", "1")},
			"Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), Limit: aws.Int32(0)}, "Member must have value greater than or equal to 1"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), Select: types.SelectCount, ProjectionExpression: aws.String("x")},
			"Cannot specify the ProjectionExpression when choosing to get only the Count"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), IndexName: aws.String("byX")},
			"The table does not have the specified index: byX"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), ExclusiveStartKey: vals("pk", "b", "sk", "1")},
			"The provided starting key is outside query boundaries based on provided conditions"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk > :v"), ExpressionAttributeValues: vals(":p", "a", ":v", "5"), ExclusiveStartKey: vals("pk", "a", "sk", "1")},
			"The provided starting key does not match the range key predicate"},
		{dynamodb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a"), ExclusiveStartKey: vals("pk", "a")},
			"The provided starting key is invalid"},
	} {
		in := tc.in
		in.TableName = tbl
		_, err := c.Query(ctx(t), &in)
		wantError(t, err, "ValidationException", tc.want)
	}
	_, err = c.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String("nope"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", "a")})
	wantError(t, err, "ResourceNotFoundException", "")

	// Legacy KeyConditions and QueryFilter.
	out = q(&dynamodb.QueryInput{
		KeyConditions: map[string]types.Condition{
			"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{avS("a")}},
			"sk": {ComparisonOperator: types.ComparisonOperatorGe, AttributeValueList: []types.AttributeValue{avN("15")}},
		},
		QueryFilter: map[string]types.Condition{"half": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{avN("8")}}},
	})
	if got := sortKeys(t, out.Items); !slices.Equal(got, []int{16, 17}) {
		t.Errorf("legacy: %v", got)
	}
}

func TestQueryStringSortKeyBeginsWith(t *testing.T) {
	e := newEnv(t)
	e.createTable("events", "sk", types.ScalarAttributeTypeS)
	for _, sk := range []string{"2024-01-01", "2024-01-15", "2024-02-01", "2025-01-01", "2024", "2024-01\x00x", "2024-01~x", "2024-0"} {
		if _, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("events"),
			Item: map[string]types.AttributeValue{"pk": avS("p"), "sk": avS(sk)}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.client.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String("events"),
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :pre)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("p"), ":pre": avS("2024-01")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.Items {
		got = append(got, sOf(t, it, "sk"))
	}
	want := []string{"2024-01\x00x", "2024-01-01", "2024-01-15", "2024-01~x"}
	if !slices.Equal(got, want) {
		t.Errorf("begins_with: %q, want %q", got, want)
	}
}

func TestQueryPageSize(t *testing.T) {
	e := newEnv(t)
	e.createTable("big", "sk", types.ScalarAttributeTypeN)
	// 14 items of about 100 KB: a page holds about 10.
	fillOrders(t, e, "big", []string{"p"}, 14, 100*1024)
	var pages, total int
	p := dynamodb.NewQueryPaginator(e.client, &dynamodb.QueryInput{TableName: aws.String("big"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("p")}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		total += len(page.Items)
		if len(page.Items) > 11 {
			t.Errorf("a page of %d items of 100 KB", len(page.Items))
		}
	}
	if total != 14 || pages != 2 {
		t.Errorf("%d items in %d pages", total, pages)
	}
}

func TestScan(t *testing.T) {
	e := newEnv(t)
	e.createTable("scanned", "sk", types.ScalarAttributeTypeN)
	var parts []string
	for i := range 10 {
		parts = append(parts, fmt.Sprintf("p%d", i))
	}
	fillOrders(t, e, "scanned", parts, 5, 0)
	c := e.client
	tbl := aws.String("scanned")
	out, err := c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl})
	if err != nil || out.Count != 50 || len(out.Items) != 50 || out.LastEvaluatedKey != nil {
		t.Fatalf("Scan: %d %v %v", out.Count, out.LastEvaluatedKey, err)
	}
	out, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, FilterExpression: aws.String("odd = :t AND pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":p": avS("p3")}})
	if err != nil || out.Count != 2 || out.ScannedCount != 50 {
		t.Fatalf("filtered Scan: %d/%d %v", out.Count, out.ScannedCount, err)
	}
	out, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, Select: types.SelectCount})
	if err != nil || out.Count != 50 || out.Items != nil {
		t.Fatalf("COUNT Scan: %d %v", out.Count, err)
	}

	// Paging, and segments: every item exactly once, each partition in one segment.
	seen := map[string]int{}
	segmentOf := map[string]int32{}
	for seg := range int32(3) {
		p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: tbl, Segment: aws.Int32(seg), TotalSegments: aws.Int32(3), Limit: aws.Int32(4)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 4 {
				t.Errorf("page of %d items with Limit 4", len(page.Items))
			}
			for _, it := range page.Items {
				pk := sOf(t, it, "pk")
				seen[pk+"/"+nOf(t, it, "sk")]++
				if s, ok := segmentOf[pk]; ok && s != seg {
					t.Errorf("partition %s in segments %d and %d", pk, s, seg)
				}
				segmentOf[pk] = seg
			}
		}
	}
	if len(seen) != 50 {
		t.Errorf("segments saw %d items", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", k, n)
		}
	}

	for _, tc := range []struct {
		in   dynamodb.ScanInput
		want string
	}{
		{dynamodb.ScanInput{Segment: aws.Int32(1)}, "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"},
		{dynamodb.ScanInput{TotalSegments: aws.Int32(2)}, "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"},
		{dynamodb.ScanInput{Segment: aws.Int32(2), TotalSegments: aws.Int32(2)}, "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 2 is not less than TotalSegments: 2"},
		{dynamodb.ScanInput{Segment: aws.Int32(0), TotalSegments: aws.Int32(1000001)}, "Member must have value less than or equal to 1000000"},
		{dynamodb.ScanInput{ExclusiveStartKey: map[string]types.AttributeValue{"pk": avS("a")}}, "The provided starting key is invalid: The provided key element does not match the schema"},
		{dynamodb.ScanInput{FilterExpression: aws.String("a = :v")}, "Invalid FilterExpression"},
		{dynamodb.ScanInput{ProjectionExpression: aws.String("a"), ExpressionAttributeNames: map[string]string{"#b": "b"}}, "unused in expressions: keys: {#b}"},
		{dynamodb.ScanInput{Select: types.SelectAllProjectedAttributes}, "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"},
		{dynamodb.ScanInput{Select: types.SelectSpecificAttributes}, "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"},
	} {
		in := tc.in
		in.TableName = tbl
		_, err := c.Scan(ctx(t), &in)
		wantError(t, err, "ValidationException", tc.want)
	}
	// Legacy ScanFilter and AttributesToGet.
	out, err = c.Scan(ctx(t), &dynamodb.ScanInput{TableName: tbl, AttributesToGet: []string{"sk"},
		ScanFilter: map[string]types.Condition{"sk": {ComparisonOperator: types.ComparisonOperatorGt, AttributeValueList: []types.AttributeValue{avN("3")}}}})
	if err != nil || out.Count != 10 || len(out.Items[0]) != 1 {
		t.Errorf("legacy Scan: %d %v %v", out.Count, out.Items, err)
	}
}

// TestEmptyResultsHaveItems checks the raw JSON: scripts index response['Items'].
func TestEmptyResultsHaveItems(t *testing.T) {
	e := newEnv(t)
	e.createTable("empty", "", "")
	for _, tc := range []struct{ op, body, want string }{
		{"Scan", `{"TableName":"empty"}`, `{"Items":[],"Count":0,"ScannedCount":0}`},
		{"Query", `{"TableName":"empty","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"x"}}}`, `{"Items":[],"Count":0,"ScannedCount":0}`},
		{"Scan", `{"TableName":"empty","Select":"COUNT"}`, `{"Count":0,"ScannedCount":0}`},
		{"GetItem", `{"TableName":"empty","Key":{"pk":{"S":"x"}}}`, `{}`},
		{"BatchWriteItem", `{"RequestItems":{"empty":[{"PutRequest":{"Item":{"pk":{"S":"x"}}}}]}}`, `{"UnprocessedItems":{}}`},
		{"BatchGetItem", `{"RequestItems":{"empty":{"Keys":[{"pk":{"S":"y"}}]}}}`, `{"Responses":{"empty":[]},"UnprocessedKeys":{}}`},
	} {
		r := e.raw(tc.op, tc.body)
		if r.status != 200 || string(r.body) != tc.want {
			t.Errorf("%s %s: %d %s, want %s", tc.op, tc.body, r.status, r.body, tc.want)
		}
	}
}
