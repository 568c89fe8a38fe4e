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
// in-memory store (so no fsync), without the network and net/http's server. Run it with
// -benchmem to see the allocations per operation:
//
//	go test -run XXX -bench Handler -benchmem ./internal/tables/
func BenchmarkHandler(b *testing.B) {
	store, err := kv.OpenMemory()
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
	ops := []struct {
		name string
		r    *replay
	}{
		{"GetItem", request("GetItem", `{"TableName":"usertable","Key":`+key+`}`)},
		{"PutItem", request("PutItem", `{"TableName":"usertable","Item":`+record(42)+`}`)},
		{"UpdateItem", request("UpdateItem", `{"TableName":"usertable","Key":`+key+
			`,"UpdateExpression":"SET #f = :v","ExpressionAttributeNames":{"#f":"field3"},"ExpressionAttributeValues":{":v":{"S":"`+strings.Repeat("z", 100)+`"}}}`)},
		{"Query50", request("Query", `{"TableName":"usertable","KeyConditionExpression":"p = :g AND k >= :k","Limit":50,`+
			`"ExpressionAttributeValues":{":g":{"S":"g000001"},":k":{"S":"user0000001100"}}}`)},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				op.r.serve(b, h, w)
			}
		})
	}
}
