package replication

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"
)

// TestRetryWait: a pull that failed quickly waits its backoff; one that hung for the backoff
// or longer (a dial into a black hole) is retried at once.
func TestRetryWait(t *testing.T) {
	for _, c := range []struct{ backoff, took, want time.Duration }{
		{2 * time.Second, 10 * time.Millisecond, 1990 * time.Millisecond},
		{2 * time.Second, 5 * time.Second, 0},
		{50 * time.Millisecond, 50 * time.Millisecond, 0},
	} {
		if got := retryWait(c.backoff, c.took); got != c.want {
			t.Errorf("retryWait(%v, %v) = %v, want %v", c.backoff, c.took, got, c.want)
		}
	}
}

// TestCoalesce: frames already delivered are merged into the one read (records in order,
// the last position, the latest watermark); a frame not wholly delivered is left.
func TestCoalesce(t *testing.T) {
	rec := func(seq uint64) Record {
		return Record{Seq: seq, Version: Version{TS: Timestamp{Wall: int64(seq)}, Region: "a"}, Key: []byte{byte(seq)}, Data: []byte{0}}
	}
	var wire []byte
	wire = AppendBatch(wire, &Batch{Records: []Record{rec(1)}, Next: 1, Head: 3, PendingBytes: 300})
	wire = AppendBatch(wire, &Batch{Records: []Record{rec(2)}, Next: 2, Head: 3, Watermark: Timestamp{Wall: 2}, PendingBytes: 200})
	wire = AppendBatch(wire, &Batch{Records: []Record{rec(3)}, Next: 3, Head: 3})
	whole := len(wire)
	wire = AppendBatch(wire, &Batch{Records: []Record{rec(4)}, Next: 4, Head: 4, PendingBytes: 7})
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(wire[:whole+3]), bytes.NewReader(wire[whole+3:])), 1<<16)
	b, err := ReadBatch(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := coalesce(r, b); err != nil {
		t.Fatal(err)
	}
	// The last frame's pending bytes are counted after the merged batch's Next.
	if len(b.Records) != 3 || b.Records[2].Seq != 3 || b.Next != 3 || b.Head != 3 || b.Watermark != (Timestamp{Wall: 2}) || b.PendingBytes != 0 {
		t.Fatalf("coalesced %d records, next %d, head %d, watermark %v, pending bytes %d", len(b.Records), b.Next, b.Head, b.Watermark, b.PendingBytes)
	}
	b, err = ReadBatch(r)
	if err != nil || len(b.Records) != 1 || b.Next != 4 || b.PendingBytes != 7 {
		t.Fatalf("the frame after: %+v, %v", b, err)
	}
}
