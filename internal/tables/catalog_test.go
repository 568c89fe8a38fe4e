package tables

import (
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/polyregion/polyregion/internal/kv"
)

func TestCreateDescribeDeleteTable(t *testing.T) {
	e := newEnv(t)
	out, err := e.client.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName: aws.String("Music"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("Artist"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("Year"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("Artist"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("Year"), KeyType: types.KeyTypeRange},
		},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := out.TableDescription
	if d.TableStatus != types.TableStatusActive || *d.TableName != "Music" ||
		*d.TableArn != "arn:aws:dynamodb:eu-west:000000000000:table/Music" ||
		*d.ProvisionedThroughput.ReadCapacityUnits != 5 || *d.ProvisionedThroughput.WriteCapacityUnits != 7 ||
		len(d.KeySchema) != 2 || len(d.AttributeDefinitions) != 2 || d.CreationDateTime == nil || d.TableId == nil {
		t.Fatalf("CreateTable description: %+v", d)
	}
	if time.Since(*d.CreationDateTime) > time.Minute {
		t.Errorf("CreationDateTime %v", d.CreationDateTime)
	}

	desc, err := e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("Music")})
	if err != nil {
		t.Fatal(err)
	}
	if *desc.Table.TableArn != *d.TableArn || *desc.Table.TableId != *d.TableId || desc.Table.BillingModeSummary.BillingMode != types.BillingModeProvisioned {
		t.Errorf("DescribeTable: %+v", desc.Table)
	}
	// The ARN works as a name.
	if _, err := e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: d.TableArn}); err != nil {
		t.Errorf("DescribeTable by ARN: %v", err)
	}

	_, err = e.client.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String("Music"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("a"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("a"), KeyType: types.KeyTypeHash}},
	})
	wantError(t, err, "ResourceInUseException", "Table already exists: Music")

	del, err := e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("Music")})
	if err != nil {
		t.Fatal(err)
	}
	if del.TableDescription.TableStatus != types.TableStatusDeleting {
		t.Errorf("DeleteTable status %s", del.TableDescription.TableStatus)
	}
	_, err = e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("Music")})
	wantError(t, err, "ResourceNotFoundException", "Requested resource not found: Table: Music not found")
	_, err = e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("Music")})
	wantError(t, err, "ResourceNotFoundException", "Table: Music not found")

	// Waiters work.
	e.createTable("Waited", "", "")
	w := dynamodb.NewTableExistsWaiter(e.client)
	if err := w.Wait(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("Waited")}, 10*time.Second); err != nil {
		t.Errorf("TableExistsWaiter: %v", err)
	}
}

func TestCreateTableValidation(t *testing.T) {
	e := newEnv(t)
	s := aws.String
	hash := func(n string) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: s(n), KeyType: types.KeyTypeHash}
	}
	rng := func(n string) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: s(n), KeyType: types.KeyTypeRange}
	}
	def := func(n string, typ types.ScalarAttributeType) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: s(n), AttributeType: typ}
	}
	pt := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}
	for _, tc := range []struct {
		name string
		in   dynamodb.CreateTableInput
		want string
	}{
		{"short name", dynamodb.CreateTableInput{TableName: s("ab"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"TableName must be at least 3 characters long and at most 255 characters long"},
		{"bad name", dynamodb.CreateTableInput{TableName: s("a b c"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"1 validation error detected: Value 'a b c' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"bad type", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "X")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"Value 'X' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"},
		{"no key schema", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}},
			"Value null at 'keySchema' failed to satisfy constraint: Member must not be null"},
		{"two errors", dynamodb.CreateTableInput{TableName: s("t t"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}},
			"2 validation errors detected: "},
		{"undefined key", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("b")}},
			"One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [b], AttributeDefinitions: [a]"},
		{"first not hash", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S"), def("b", "S")}, KeySchema: []types.KeySchemaElement{rng("a"), hash("b")}},
			"Invalid KeySchema: The first KeySchemaElement is not a HASH key type"},
		{"second not range", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S"), def("b", "S")}, KeySchema: []types.KeySchemaElement{hash("a"), hash("b")}},
			"Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"},
		{"same names", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S"), def("b", "S")}, KeySchema: []types.KeySchemaElement{hash("a"), rng("a")}},
			"Both the Hash Key and the Range Key element in the KeySchema have the same name"},
		{"extra definition", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S"), def("b", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"},
		{"pay per request with throughput", dynamodb.CreateTableInput{TableName: s("tbl"), BillingMode: types.BillingModePayPerRequest, ProvisionedThroughput: pt,
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"},
		{"provisioned without throughput", dynamodb.CreateTableInput{TableName: s("tbl"),
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"},
		{"zero capacity", dynamodb.CreateTableInput{TableName: s("tbl"), ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(0), WriteCapacityUnits: aws.Int64(1)},
			AttributeDefinitions: []types.AttributeDefinition{def("a", "S")}, KeySchema: []types.KeySchemaElement{hash("a")}},
			"Value '0' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateTable(ctx(t), &tc.in)
			wantError(t, err, "ValidationException", tc.want)
		})
	}
	r := e.raw("CreateTable", `{}`)
	if r.status != 400 || !strings.Contains(string(r.body), "The parameter 'TableName' is required but was not present in the request") {
		t.Errorf("CreateTable {}: %d %s", r.status, r.body)
	}
	lt, err := e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{})
	if err != nil || len(lt.TableNames) != 0 {
		t.Errorf("after rejected creates: %v %v", lt.TableNames, err)
	}
}

func TestListTablesPaging(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("table-%02d", 6-i)
		e.createTable(name, "", "")
		want = append(want, name)
	}
	slices.Sort(want)
	out, err := e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{})
	if err != nil || !slices.Equal(out.TableNames, want) || out.LastEvaluatedTableName != nil {
		t.Fatalf("ListTables: %v %v %v", out.TableNames, out.LastEvaluatedTableName, err)
	}
	var got []string
	p := dynamodb.NewListTablesPaginator(e.client, &dynamodb.ListTablesInput{Limit: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page.TableNames...)
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged: %v in %d pages", got, pages)
	}
	out, err = e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{ExclusiveStartTableName: aws.String("table-03"), Limit: aws.Int32(2)})
	if err != nil || !slices.Equal(out.TableNames, []string{"table-04", "table-05"}) || aws.ToString(out.LastEvaluatedTableName) != "table-05" {
		t.Errorf("from table-03: %v %v %v", out.TableNames, out.LastEvaluatedTableName, err)
	}
	_, err = e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{Limit: aws.Int32(101)})
	wantError(t, err, "ValidationException", "Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100")
	_, err = e.client.ListTables(ctx(t), &dynamodb.ListTablesInput{Limit: aws.Int32(0)})
	wantError(t, err, "ValidationException", "Member must have value greater than or equal to 1")
}

func TestWire(t *testing.T) {
	e := newEnv(t)
	// Health.
	resp, err := e.srv.Client().Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /: %d", resp.StatusCode)
	}
	r := e.rawRequest(mustRequest(t, http.MethodGet, e.srv.URL+"/"))
	if string(r.body) != "healthy: dynamodb.eu-west.polyregion" {
		t.Errorf("GET / body %q", r.body)
	}

	// Every answer carries a checksum of its body and a request id.
	check := func(name string, r rawResponse) {
		t.Helper()
		crc, err := strconv.ParseUint(r.header.Get("X-Amz-Crc32"), 10, 32)
		if err != nil || uint32(crc) != crc32.ChecksumIEEE(r.body) {
			t.Errorf("%s: x-amz-crc32 %q for body %q", name, r.header.Get("X-Amz-Crc32"), r.body)
		}
		if r.header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s: no request id", name)
		}
	}
	check("GET /", r)

	r = e.raw("ListTables", `{}`)
	check("ListTables", r)
	if r.status != 200 || string(r.body) != `{"TableNames":[]}` || r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("ListTables: %d %s %v", r.status, r.body, r.header)
	}

	for _, tc := range []struct {
		name, target, body string
		sign               bool
		status             int
		typ                string
	}{
		{"unsigned", "ListTables", `{}`, false, 400, "UnrecognizedClientException"},
		{"unknown operation", "NoSuchThing", `{}`, true, 400, "UnknownOperationException"},
		{"unimplemented operation", "ExecuteStatement", `{}`, true, 400, "UnknownOperationException"},
		{"no target", "", `{}`, true, 400, "UnknownOperationException"},
		{"malformed JSON", "ListTables", `{"Limit":`, true, 400, "SerializationException"},
		{"wrong JSON type", "ListTables", `{"Limit":"x"}`, true, 400, "SerializationException"},
		{"not an object", "DescribeTable", `[1]`, true, 400, "SerializationException"},
		{"missing table", "DescribeTable", `{"TableName":"nope"}`, true, 400, "ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.rawRequest(signedRequest(t, e.srv.URL, tc.target, []byte(tc.body), tc.sign, time.Now()))
			check(tc.name, r)
			if r.status != tc.status || r.errorType() != errorPrefix+tc.typ {
				t.Errorf("%d %s, want %d %s", r.status, r.body, tc.status, tc.typ)
			}
		})
	}
	r = e.raw("ExecuteStatement", `{}`)
	if !strings.Contains(string(r.body), "ExecuteStatement") {
		t.Errorf("unknown operation message does not name it: %s", r.body)
	}

	// A bad signature and an unknown key, through the SDK.
	_, err = e.newClient(testAccessKey, "wrong").ListTables(ctx(t), &dynamodb.ListTablesInput{})
	wantError(t, err, "InvalidSignatureException", "")
	_, err = e.newClient("AKIDUNKNOWN", testSecretKey).ListTables(ctx(t), &dynamodb.ListTablesInput{})
	wantError(t, err, "UnrecognizedClientException", "")
	// A request signed long ago.
	r = e.rawRequest(signedRequest(t, e.srv.URL, "ListTables", []byte(`{}`), true, time.Now().Add(-time.Hour)))
	if r.errorType() != errorPrefix+"InvalidSignatureException" {
		t.Errorf("old signature: %s", r.body)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{Region: "Bad Region", AccountID: "12", Credentials: testCreds[:1:1]})
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	for _, want := range []string{"Region:", "Store: required", "AccountID:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not mention %s", err, want)
		}
	}
}

// TestCatalogSurvivesReopen creates tables, closes the store, reopens it and finds them.
func TestCatalogSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	store, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, store)
	e.createTable("kept", "sk", types.ScalarAttributeTypeN)
	e.createTable("dropped", "", "")
	if _, err := e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("dropped")}); err != nil {
		t.Fatal(err)
	}
	before, err := e.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	// Acknowledged writes: three puts, an update, a delete.
	for i := range 3 {
		if _, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("kept"),
			Item: map[string]types.AttributeValue{"pk": avS("p"), "sk": avN(strconv.Itoa(i)), "v": avS("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String("kept"),
		Key:              map[string]types.AttributeValue{"pk": avS("p"), "sk": avN("1")},
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("updated")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("kept"),
		Key: map[string]types.AttributeValue{"pk": avS("p"), "sk": avN("2")}}); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store2, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store2.Close() })
	e2 := newEnvOn(t, store2)
	after, err := e2.client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if *after.Table.TableId != *before.Table.TableId || !after.Table.CreationDateTime.Equal(*before.Table.CreationDateTime) ||
		*after.Table.KeySchema[1].AttributeName != "sk" {
		t.Errorf("after reopen: %+v, before %+v", after.Table, before.Table)
	}
	lt, err := e2.client.ListTables(ctx(t), &dynamodb.ListTablesInput{})
	if err != nil || !slices.Equal(lt.TableNames, []string{"kept"}) {
		t.Errorf("ListTables after reopen: %v %v", lt.TableNames, err)
	}
	q, err := e2.client.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String("kept"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("p")}})
	if err != nil || len(q.Items) != 2 || sOf(t, q.Items[1], "v") != "updated" {
		t.Fatalf("items after reopen: %v %v", q.Items, err)
	}
	// The change log survived too, and numbering goes on after it.
	if recs := readLog(t, e2, "kept"); len(recs) != 5 || recs[4].Event != eventRemove {
		t.Errorf("log after reopen: %d records", len(recs))
	}
	if _, err := e2.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("kept"),
		Item: map[string]types.AttributeValue{"pk": avS("p"), "sk": avN("9")}}); err != nil {
		t.Fatal(err)
	}
	if recs := readLog(t, e2, "kept"); len(recs) != 6 || recs[5].Seq != 6 {
		t.Errorf("log after a write after reopen: %+v", recs[len(recs)-1])
	}
}

// TestDeleteTableRemovesItems checks that the items and the log go with the table, and
// that a table created again under the name starts empty.
func TestDeleteTableRemovesItems(t *testing.T) {
	e := newEnv(t)
	e.createTable("gone", "", "")
	for i := range 5 {
		if _, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("gone"),
			Item: map[string]types.AttributeValue{"pk": avS(strconv.Itoa(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{itemPrefix, logPrefix} {
		it, err := e.store.Iter([]byte(prefix), kv.PrefixEnd([]byte(prefix)))
		if err != nil {
			t.Fatal(err)
		}
		if it.Next() {
			t.Errorf("key %q left after DeleteTable", it.Key())
		}
		it.Close()
	}
	e.createTable("gone", "", "")
	out, err := e.client.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("gone")})
	if err != nil || out.Count != 0 {
		t.Errorf("recreated table: %d items, %v", out.Count, err)
	}
	_, err = e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("missing"), Item: map[string]types.AttributeValue{"pk": avS("x")}})
	wantError(t, err, "ResourceNotFoundException", "Requested resource not found: Table: missing not found")
}

// TestWritesRaceDeleteTable writes while the table is deleted: every write either lands
// before the delete (and goes with it) or fails with ResourceNotFoundException; nothing is
// left behind.
func TestWritesRaceDeleteTable(t *testing.T) {
	e := newEnv(t)
	e.createTable("racy", "", "")
	done := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				_, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("racy"),
					Item: map[string]types.AttributeValue{"pk": avS(fmt.Sprint(w, "-", i))}})
				if err != nil {
					if c, _ := apiErrorCodeOf(err); c == "ResourceNotFoundException" {
						done <- nil
					} else {
						done <- err
					}
					return
				}
			}
		}()
	}
	if _, err := e.client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String("racy")}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	it, err := e.store.Iter([]byte(itemPrefix), kv.PrefixEnd([]byte(itemPrefix)))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.Next() {
		t.Errorf("item %q outlived its table", it.Key())
	}
}

func TestMetrics(t *testing.T) {
	store, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg := prometheus.NewRegistry()
	svc, err := New(Options{Region: testRegion, Store: store, Credentials: testCreds, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	// A second service on the same registry shares the collectors.
	if _, err := New(Options{Region: testRegion, Store: store, Credentials: testCreds, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	h := svc.Handler()
	for _, op := range []string{"ListTables", "DescribeTable"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signedRequest(t, "http://dynamodb.test", op, []byte(`{"TableName":"nope"}`), true, time.Now()))
	}
	counter := func(c prometheus.Counter) float64 {
		var m dto.Metric
		if err := c.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	if n := counter(svc.metrics.requests.WithLabelValues("ListTables", "ok")); n != 1 {
		t.Errorf("ListTables ok: %v", n)
	}
	if n := counter(svc.metrics.requests.WithLabelValues("DescribeTable", "ResourceNotFoundException")); n != 1 {
		t.Errorf("DescribeTable ResourceNotFoundException: %v", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, f := range families {
		found[f.GetName()] = len(f.GetMetric())
	}
	if found["polyregion_tables_request_duration_seconds"] != 2 || found["polyregion_tables_requests_total"] != 2 {
		t.Errorf("gathered: %v", found)
	}
}

func TestDescribeEndpointsAndLimits(t *testing.T) {
	e := newEnv(t)
	ep, err := e.client.DescribeEndpoints(ctx(t), &dynamodb.DescribeEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Endpoints) != 1 || "http://"+aws.ToString(ep.Endpoints[0].Address) != e.srv.URL || ep.Endpoints[0].CachePeriodInMinutes != 1440 {
		t.Errorf("DescribeEndpoints: %+v", ep.Endpoints)
	}
	lim, err := e.client.DescribeLimits(ctx(t), &dynamodb.DescribeLimitsInput{})
	if err != nil || aws.ToInt64(lim.TableMaxReadCapacityUnits) != 40000 || aws.ToInt64(lim.AccountMaxWriteCapacityUnits) != 80000 {
		t.Errorf("DescribeLimits: %+v %v", lim, err)
	}
}

// TestAcknowledgedWritesSurviveCrash writes through the API, then takes the state a machine
// would come back with after losing power at that instant (only what was synced), and
// finds every acknowledged write there.
func TestAcknowledgedWritesSurviveCrash(t *testing.T) {
	fs := kv.NewMemFS()
	store, err := kv.OpenMemFS(fs, "db", kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e := newEnvOn(t, store)
	e.createTable("crashy", "", "")
	const n = 40
	for i := range n {
		if _, err := e.client.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("crashy"),
			Item: map[string]types.AttributeValue{"pk": avS(strconv.Itoa(i))}}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := e.client.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String("crashy"),
				Key:              map[string]types.AttributeValue{"pk": avS(strconv.Itoa(i))},
				UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": avN(strconv.Itoa(i))}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed := fs.CrashClone(0, 1)
	store2, err := kv.OpenMemFS(crashed, "db", kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	e2 := newEnvOn(t, store2)
	out, err := e2.client.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String("crashy")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != n {
		t.Fatalf("%d of %d acknowledged items after the crash", out.Count, n)
	}
	updated := 0
	for _, it := range out.Items {
		if _, ok := it["v"]; ok {
			updated++
		}
	}
	if updated != n/2 {
		t.Errorf("%d of %d acknowledged updates after the crash", updated, n/2)
	}
	if recs := readLog(t, e2, "crashy"); len(recs) != n+n/2 {
		t.Errorf("%d change-log records after the crash, want %d", len(recs), n+n/2)
	}
}

func TestUpdateTable(t *testing.T) {
	e := newEnv(t)
	e.createTable("mode", "", "") // PAY_PER_REQUEST
	c := e.client
	tbl := aws.String("mode")
	_, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl})
	wantError(t, err, "ValidationException", "At least one of ProvisionedThroughput, BillingMode")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, BillingMode: types.BillingModeProvisioned})
	wantError(t, err, "ValidationException", "ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
	out, err := c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)}})
	if err != nil {
		t.Fatal(err)
	}
	d := out.TableDescription
	if d.BillingModeSummary.BillingMode != types.BillingModeProvisioned || *d.ProvisionedThroughput.ReadCapacityUnits != 3 || *d.ProvisionedThroughput.WriteCapacityUnits != 4 {
		t.Errorf("after UpdateTable: %+v %+v", d.BillingModeSummary, d.ProvisionedThroughput)
	}
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)}})
	wantError(t, err, "ValidationException", "The provisioned throughput for the table will not change")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, BillingMode: types.BillingModePayPerRequest,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)}})
	wantError(t, err, "ValidationException", "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("x")}}}})
	wantError(t, err, "ResourceNotFoundException", "Index: x not found")
	_, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: aws.String("nope"), BillingMode: types.BillingModePayPerRequest})
	wantError(t, err, "ResourceNotFoundException", "")

	// The change is durable: a new service over the store sees it.
	svc2, err := New(Options{Region: testRegion, Store: e.store, Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := svc2.lookupTable("mode")
	if set := t2.currentSettings(); set.billingMode != "PROVISIONED" || *set.throughput.WriteCapacityUnits != 4 {
		t.Errorf("after reload: %+v", set)
	}
	out, err = c.UpdateTable(ctx(t), &dynamodb.UpdateTableInput{TableName: tbl, BillingMode: types.BillingModePayPerRequest})
	if err != nil || out.TableDescription.BillingModeSummary.BillingMode != types.BillingModePayPerRequest || *out.TableDescription.ProvisionedThroughput.ReadCapacityUnits != 0 {
		t.Errorf("back to PAY_PER_REQUEST: %+v %v", out, err)
	}
}

// TestPanicIsInternalServerError checks that a bug in an operation is answered, not fatal.
func TestPanicIsInternalServerError(t *testing.T) {
	e := newEnv(t)
	operations["PanicForTest"] = func(*Service, *requestContext, []byte) (any, error) { panic("boom") }
	t.Cleanup(func() { delete(operations, "PanicForTest") })
	r := e.raw("PanicForTest", `{}`)
	if r.status != 500 || r.errorType() != errorPrefix+"InternalServerError" {
		t.Errorf("panic answered %d %s", r.status, r.body)
	}
	if !strings.Contains(e.log.String(), "boom") {
		t.Error("panic not logged")
	}
}
