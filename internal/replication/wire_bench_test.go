package replication

import (
	"bytes"
	"testing"
)

// benchBatch is a frame of 16 records as tables ships YCSB items: a key of about 30 bytes,
// a payload of about 1,100 bytes, a context of three regions.
func benchBatch() *Batch {
	b := &Batch{Next: 1 << 20, Head: 1<<20 + 100, Watermark: Timestamp{Wall: 1 << 60}, PendingBytes: 1 << 16}
	data := bytes.Repeat([]byte{'x'}, 1100)
	for i := range 16 {
		v := Version{TS: Timestamp{Wall: 1<<60 + int64(i)}, Region: "us-east"}
		b.Records = append(b.Records, Record{
			Seq: 1<<20 + uint64(i), Version: v,
			Context: Context{{TS: Timestamp{Wall: 1 << 59}, Region: "ap-southeast"}, {TS: Timestamp{Wall: 1 << 59}, Region: "eu-west"}, v},
			Key:     []byte("\x01g000001\x00\x01user0000001234\x00"), Data: data,
		})
	}
	return b
}

// BenchmarkAppendBatch measures encoding a frame into a reused buffer, as Server does.
func BenchmarkAppendBatch(b *testing.B) {
	batch := benchBatch()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatch(buf[:0], batch)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkReadBatch measures reading a frame from a stream, as a pull does.
func BenchmarkReadBatch(b *testing.B) {
	frame := AppendBatch(nil, benchBatch())
	r := bytes.NewReader(frame)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		r.Reset(frame)
		if _, err := ReadBatch(r); err != nil {
			b.Fatal(err)
		}
	}
}
