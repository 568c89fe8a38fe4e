package tables

import (
	"encoding/json"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
)

// FuzzRequest posts arbitrary JSON bodies to every operation, signed. Whatever the body,
// the service must answer 200 or a client error (400) in DynamoDB's envelope, never a
// server error or a panic, with a body that is JSON and matches its x-amz-crc32.
func FuzzRequest(f *testing.F) {
	store, err := kv.OpenMemory()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	svc, err := New(Options{Region: testRegion, Store: store, Credentials: testCreds, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()
	post := func(t testing.TB, op string, body []byte) *httptest.ResponseRecorder {
		req := signedRequest(t, "http://dynamodb.test", op, body, true, now)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for _, seed := range []struct{ op, body string }{
		{"CreateTable", `{"TableName":"fuzz","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"CreateTable", `{"TableName":"fuzz1","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"B"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"PutItem", `{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"l":{"L":[{"N":"1"},{"M":{"x":{"SS":["a","b"]}}}]}}}`},
		{"PutItem", `{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"2"},"n":{"N":"5"}}}`},
	} {
		if w := post(f, seed.op, []byte(seed.body)); w.Code != http.StatusOK {
			f.Fatalf("seeding %s: %d %s", seed.op, w.Code, w.Body)
		}
	}
	f.Add("Query", []byte(`{"TableName":"fuzz","KeyConditionExpression":"pk = :p AND sk > :s","ExpressionAttributeValues":{":p":{"S":"a"},":s":{"N":"0"}}}`))
	f.Add("UpdateItem", []byte(`{"TableName":"fuzz","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"UpdateExpression":"SET l[0] = :v","ExpressionAttributeValues":{":v":{"N":"2"}}}`))
	f.Add("CreateTable", []byte(`{"TableName":"fuzzidx","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"g","AttributeType":"S"},{"AttributeName":"l","AttributeType":"B"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"GlobalSecondaryIndexes":[{"IndexName":"gsi","KeySchema":[{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"INCLUDE","NonKeyAttributes":["a"]}}],"LocalSecondaryIndexes":[{"IndexName":"lsi","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"l","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}`))
	f.Add("UpdateTable", []byte(`{"TableName":"fuzz","AttributeDefinitions":[{"AttributeName":"g","AttributeType":"S"}],"GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"byG","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]}`))
	f.Add("Query", []byte(`{"TableName":"fuzz","IndexName":"byG","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"a"}},"ExclusiveStartKey":{"g":{"S":"a"},"pk":{"S":"a"},"sk":{"N":"1"}}}`))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if op == "" || strings.ContainsAny(op, "\r\n\x00") || len(body) > 64<<10 {
			return
		}
		w := post(t, op, body)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("%s %q: status %d %s", op, body, w.Code, w.Body)
		}
		got := w.Body.Bytes()
		if crc, err := strconv.ParseUint(w.Header().Get("X-Amz-Crc32"), 10, 32); err != nil || uint32(crc) != crc32.ChecksumIEEE(got) {
			t.Fatalf("%s: bad x-amz-crc32 %q", op, w.Header().Get("X-Amz-Crc32"))
		}
		var out map[string]any
		if err := json.Unmarshal(got, &out); err != nil {
			t.Fatalf("%s %q: response is not a JSON object: %s", op, body, got)
		}
		if w.Code == http.StatusBadRequest {
			typ, _ := out["__type"].(string)
			if !strings.HasPrefix(typ, errorPrefix) || out["message"] == nil {
				t.Fatalf("%s %q: error without __type and message: %s", op, body, got)
			}
		}
	})
}
