package tables

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The replication benchmarks: a global table's YCSB-like items (ten fields of 100 bytes)
// replicated among us-east, eu-west and ap-southeast, on in-memory stores, calling the
// service's side of internal/replication (Read, Apply) directly. Run them with -benchmem:
//
//	go test -run XXX -bench Replicat -benchmem ./internal/tables/

const (
	benchTable      = "usertable"
	benchFrame      = 16   // records to a frame
	benchKeys       = 2000 // items written
	benchSource     = "us-east"
	benchReceiver   = "eu-west"
	benchThirdPlace = "ap-southeast"
)

// benchGlobalService returns a service of region over an in-memory store with the global
// table benchTable (partition key p, sort key k) replicated in the three regions, without
// a control plane or a replicator: the table is made global directly.
func benchGlobalService(b *testing.B, region string) (*Service, *table) {
	b.Helper()
	// A store with the default write buffer, as in production (OpenMemory's small one
	// would make the benchmarks measure Pebble's compactions), whose syncs cost nothing (a
	// MemFS copies the whole WAL at each).
	store, err := kv.OpenMemoryWith(kv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	svc, err := New(Options{Region: region, Store: store, Credentials: testCreds, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"TableName":"` + benchTable + `","BillingMode":"PAY_PER_REQUEST",` +
		`"AttributeDefinitions":[{"AttributeName":"p","AttributeType":"S"},{"AttributeName":"k","AttributeType":"S"}],` +
		`"KeySchema":[{"AttributeName":"p","KeyType":"HASH"},{"AttributeName":"k","KeyType":"RANGE"}]}`
	benchRequest(b, svc, now, "CreateTable", body)
	svc.mu.Lock()
	t := svc.tables[benchTable]
	svc.mu.Unlock()
	g := &globalLocal{Record: globalTable{Name: benchTable, Version: globalTableVersion, Replicas: []replicaState{
		{Region: benchSource, ID: "r-" + benchSource, Status: replicaActive},
		{Region: benchReceiver, ID: "r-" + benchReceiver, Status: replicaActive},
		{Region: benchThirdPlace, ID: "r-" + benchThirdPlace, Status: replicaActive},
	}}, Imported: true}
	svc.mu.Lock()
	err = svc.setGlobal(t, t.currentSettings(), g)
	svc.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	return svc, t
}

// benchRequest serves one signed request with svc's handler.
func benchRequest(b *testing.B, svc *Service, now time.Time, op, body string) {
	b.Helper()
	w := &discardWriter{h: http.Header{}}
	(&replay{req: signedRequest(b, "http://dynamodb.test", op, []byte(body), true, now), body: []byte(body)}).serve(b, svc.Handler(), w)
}

// benchItem is YCSB's record n: ten fields of 100 bytes, 1000 to a partition; v varies the
// fields' contents.
func benchItem(n, v int) attr.Item {
	it := attr.Item{
		"p": {Kind: attr.KindS, S: fmt.Sprintf("g%06d", n/1000)},
		"k": {Kind: attr.KindS, S: fmt.Sprintf("user%010d", n)},
	}
	for f := range 10 {
		it[fmt.Sprintf("field%d", f)] = attr.Value{Kind: attr.KindS, S: strings.Repeat(string(rune('a'+(f+v)%26)), 100)}
	}
	return it
}

// benchRecord is a write of item n (version v of its fields) made in region at ts, as Read
// ships it.
func benchRecord(b *testing.B, t *table, seq uint64, region string, ts replication.Timestamp, n, v int) replication.Record {
	b.Helper()
	it := benchItem(n, v)
	k, err := t.storeKey(it)
	if err != nil {
		b.Fatal(err)
	}
	version := replication.Version{TS: ts, Region: region}
	return replication.Record{
		Seq: seq, Version: version, Context: replication.Context{version}, Key: k[len(t.items):],
		Data: append([]byte{0}, attr.EncodeItem(it)...),
	}
}

// BenchmarkReplicationApply measures Service.Apply of a frame of benchFrame records (and
// of one record) from us-east, each an update of an item eu-west holds (inserted by an
// earlier frame).
func BenchmarkReplicationApply(b *testing.B) {
	for _, n := range []int{1, benchFrame} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchmarkApply(b, n) })
	}
}

func benchmarkApply(b *testing.B, frameSize int) {
	svc, t := benchGlobalService(b, benchReceiver)
	wall := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	seq := uint64(0)
	frame := func(v, first, size int) *replication.Batch {
		in := &replication.Batch{}
		for i := range size {
			seq++
			wall++
			in.Records = append(in.Records, benchRecord(b, t, seq, benchSource, replication.Timestamp{Wall: wall}, (first+i)%benchKeys, v))
		}
		in.Next, in.Head = seq, seq
		return in
	}
	// The items, inserted.
	for n := 0; n < benchKeys; n += benchFrame {
		if err := svc.Apply(benchSource, benchTable, frame(0, n, benchFrame)); err != nil {
			b.Fatal(err)
		}
	}
	frames := make([]*replication.Batch, b.N)
	for i := range frames {
		frames[i] = frame(i+1, (i*frameSize)%benchKeys, frameSize)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := svc.Apply(benchSource, benchTable, frames[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frameSize), "ns/record")
}

// BenchmarkReplicationRead measures Service.Read by eu-west of benchFrame records of
// us-east's log, in which each write made in us-east is followed by two applied from
// ap-southeast (as in a fleet where the three regions write alike): Read goes through
// 3×benchFrame records for benchFrame shipped. It also measures a read of one record.
func BenchmarkReplicationRead(b *testing.B) {
	for _, n := range []int{1, benchFrame} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchmarkRead(b, n) })
	}
}

func benchmarkRead(b *testing.B, frameSize int) {
	svc, t := benchGlobalService(b, benchSource)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	wall := now.UnixNano()
	seq := uint64(0)
	for n := range benchKeys {
		item, err := json.Marshal(benchItem(n, 0))
		if err != nil {
			b.Fatal(err)
		}
		benchRequest(b, svc, now, "PutItem", `{"TableName":"`+benchTable+`","Item":`+string(item)+`}`)
		for j := range 2 {
			seq++
			wall++
			in := &replication.Batch{Records: []replication.Record{
				benchRecord(b, t, seq, benchThirdPlace, replication.Timestamp{Wall: wall}, (n+1+j*7)%benchKeys, 1+j),
			}, Next: seq, Head: seq}
			if err := svc.Apply(benchThirdPlace, benchTable, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	// maxBytes: the size Read counts of frameSize records, less one.
	one, err := svc.Read(benchTable, benchReceiver, 0, 1)
	if err != nil || len(one.Records) != 1 {
		b.Fatalf("read: %v, %d records", err, len(one.Records))
	}
	r := one.Records[0]
	maxBytes := (frameSize-1)*(len(r.Key)+len(r.Data)+64) + 1
	last := t.log.frontier()
	b.ReportAllocs()
	b.ResetTimer()
	after := uint64(0)
	for range b.N {
		out, err := svc.Read(benchTable, benchReceiver, after, maxBytes)
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Records) != frameSize {
			b.Fatalf("read %d records after %d", len(out.Records), after)
		}
		after = out.Next
		if after+4*uint64(frameSize) > last {
			after = 0
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frameSize), "ns/record")
}

// BenchmarkReplicationPutItem measures a local PutItem of a YCSB item through the handler,
// to a global table of three replicas and to a regional one: the cost of being global at
// the writer.
func BenchmarkReplicationPutItem(b *testing.B) {
	for _, global := range []bool{false, true} {
		b.Run(fmt.Sprintf("global=%v", global), func(b *testing.B) {
			svc, _ := benchGlobalService(b, benchSource)
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			if !global {
				svc.mu.Lock()
				t := svc.tables[benchTable]
				err := svc.setGlobal(t, t.currentSettings(), nil)
				svc.mu.Unlock()
				if err != nil {
					b.Fatal(err)
				}
			}
			reqs := make([]*replay, 200)
			for n := range reqs {
				item, err := json.Marshal(benchItem(n, 0))
				if err != nil {
					b.Fatal(err)
				}
				body := `{"TableName":"` + benchTable + `","Item":` + string(item) + `}`
				reqs[n] = &replay{req: signedRequest(b, "http://dynamodb.test", "PutItem", []byte(body), true, now), body: []byte(body)}
			}
			h := svc.Handler()
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				reqs[i%len(reqs)].serve(b, h, w)
			}
		})
	}
}

// TestEncodedKeyWithoutDecoding: appendEncodedKey, which reads the usual keys without
// decoding them, gives storeKey's encoding (less the table's prefix), or its error.
func TestEncodedKeyWithoutDecoding(t *testing.T) {
	str := func(s string) *string { return &s }
	tableOf := func(hashType, rngType string) *table {
		meta := tableMeta{Name: "t", ID: "0123", KeySchema: []keySchemaElement{{AttributeName: str("h"), KeyType: str("HASH")}},
			AttributeDefinitions: []attributeDefinition{{AttributeName: "h", AttributeType: hashType}}}
		if rngType != "" {
			meta.KeySchema = append(meta.KeySchema, keySchemaElement{AttributeName: str("r"), KeyType: str("RANGE")})
			meta.AttributeDefinitions = append(meta.AttributeDefinitions, attributeDefinition{AttributeName: "r", AttributeType: rngType})
		}
		tb, err := newTable(meta, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	num := func(s string) attr.Value {
		v, err := attr.N(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	values := []attr.Value{
		attr.S(""), attr.S("a"), attr.S("user\x00\x01\xff0001"), attr.S(strings.Repeat("é", 300)),
		{Kind: attr.KindB, B: []byte{}}, {Kind: attr.KindB, B: []byte{0, 0, 1, 0xff}},
		num("0"), num("-12.5"), attr.S("x"),
	}
	for _, tb := range []*table{tableOf("S", ""), tableOf("B", "S"), tableOf("S", "N"), tableOf("S", "B")} {
		for _, h := range values {
			for _, r := range append(values, attr.Value{}) {
				item := attr.Item{"h": h}
				if r.Kind != 0 {
					item["r"] = r
				}
				keys := attr.EncodeItem(item)
				want, wantErr := tb.storeKey(item)
				got, err := tb.appendEncodedKey([]byte("prefix"), keys)
				switch {
				case (err != nil) != (wantErr != nil):
					t.Errorf("%v: error %v, want %v", item, err, wantErr)
				case err == nil && string(got) != "prefix"+string(want[len(tb.items):]):
					t.Errorf("%v: %q, want %q", item, got, want[len(tb.items):])
				}
			}
		}
		// Not the key attributes: decoded, and refused as storeKey refuses them.
		for _, item := range []attr.Item{{"x": attr.S("a")}, {"h": attr.S("a"), "r": attr.S("b"), "z": attr.S("c")}} {
			_, wantErr := tb.storeKey(item)
			if _, err := tb.appendEncodedKey(nil, attr.EncodeItem(item)); (err != nil) != (wantErr != nil) {
				t.Errorf("%v: error %v, want %v", item, err, wantErr)
			}
		}
	}
}
