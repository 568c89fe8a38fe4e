package tables

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
)

// discardWriter is a ResponseWriter that keeps the status and drops the body, so that a
// benchmark of the handler counts the handler's work and allocations, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// replay is one signed request, sent again and again to a handler.
type replay struct {
	req  *http.Request
	body []byte
}

func (r *replay) serve(b *testing.B, h http.Handler, w *discardWriter) {
	clear(w.h)
	w.status = 0
	r.req.Body = io.NopCloser(bytes.NewReader(r.body))
	h.ServeHTTP(w, r.req)
	if w.status != http.StatusOK {
		b.Fatalf("%s: status %d", r.req.Header.Get("X-Amz-Target"), w.status)
	}
}

// BenchmarkHandler measures the HTTP handler (Service.Handler) on the operations of
// bench/tables' YCSB workloads, with requests signed as the SDK signs them, over an
// in-memory filesystem (so no fsync), without the network and net/http's server. Run it with
// -benchmem to see the allocations per operation:
//
//	go test -run XXX -bench Handler -benchmem ./internal/tables/
func BenchmarkHandler(b *testing.B) {
	// The default sizes: OpenMemory's small write buffer would have the writes spend their
	// time in flushes and compactions.
	store, err := kv.OpenMemoryWith(kv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	svc, err := New(Options{Region: testRegion, Store: store, Credentials: testCreds, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler()
	w := &discardWriter{h: http.Header{}}
	request := func(op, body string) *replay {
		return &replay{req: signedRequest(b, "http://dynamodb.test", op, []byte(body), true, now), body: []byte(body)}
	}
	request("CreateTable", `{"TableName":"usertable","BillingMode":"PAY_PER_REQUEST",`+
		`"AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"},{"AttributeName":"k","AttributeType":"S"}],`+
		`"KeySchema":[{"AttributeName":"p","KeyType":"HASH"},{"AttributeName":"k","KeyType":"RANGE"}]}`).serve(b, h, w)
	// YCSB's records: ten fields of 100 bytes, 1000 to a partition (bench/tables).
	record := func(n int) string {
		var sb strings.Builder
		fmt.Fprintf(&sb, `{"p":{"S":"g%06d"},"k":{"S":"user%010d"}`, n/1000, n)
		for f := range 10 {
			fmt.Fprintf(&sb, `,"field%d":{"S":"%s"}`, f, strings.Repeat(string(rune('a'+f)), 100))
		}
		return sb.String() + "}"
	}
	for n := range 2000 {
		request("PutItem", `{"TableName":"usertable","Item":`+record(n)+`}`).serve(b, h, w)
	}
	key := `{"p":{"S":"g000000"},"k":{"S":"user0000000042"}}`
	update := func(c string) *replay {
		return request("UpdateItem", `{"TableName":"usertable","Key":`+key+
			`,"UpdateExpression":"SET #f = :v","ExpressionAttributeNames":{"#f":"field3"},"ExpressionAttributeValues":{":v":{"S":"`+strings.Repeat(c, 100)+`"}}}`)
	}
	// The writes alternate between two requests, so that each changes the item (a write
	// that changes nothing commits nothing).
	ops := []struct {
		name string
		rs   []*replay
	}{
		{"GetItem", []*replay{request("GetItem", `{"TableName":"usertable","Key":`+key+`}`)}},
		{"PutItem", []*replay{request("PutItem", `{"TableName":"usertable","Item":`+record(42)+`}`),
			request("PutItem", `{"TableName":"usertable","Item":`+strings.Replace(record(42), `"field0":{"S":"a`, `"field0":{"S":"b`, 1)+`}`)}},
		{"UpdateItem", []*replay{update("z"), update("y")}},
		{"Query50", []*replay{request("Query", `{"TableName":"usertable","KeyConditionExpression":"p = :g AND k >= :k","Limit":50,`+
			`"ExpressionAttributeValues":{":g":{"S":"g000001"},":k":{"S":"user0000001100"}}}`)}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				op.rs[i%len(op.rs)].serve(b, h, w)
				i++
			}
		})
	}
}
