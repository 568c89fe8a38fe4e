package replication

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func sampleBatch() *Batch {
	return &Batch{
		Next: 42, Head: 50, Watermark: Timestamp{Wall: 1e18, Logical: 3},
		Records: []Record{
			{Seq: 40, Version: v(10, "eu-west"), Context: Context{v(10, "eu-west"), v(9, "us-east")}, Key: []byte("k1"), Data: []byte(`{"a":1}`)},
			{Seq: 42, Version: v(11, "eu-west"), Context: Context{v(11, "eu-west")}, Key: []byte("k2"), Delete: true, Data: []byte{}},
		},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(AppendBatch(nil, sampleBatch()))
	stream.Write(AppendBatch(nil, &Batch{Next: 43, Head: 43}))
	got, err := ReadBatch(&stream)
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleBatch(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got, err := ReadBatch(&stream); err != nil || got.Next != 43 || len(got.Records) != 0 {
		t.Fatalf("heartbeat: %+v, %v", got, err)
	}
	if _, err := ReadBatch(&stream); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestReadBatchRefusesBadFrames(t *testing.T) {
	good := AppendBatch(nil, sampleBatch())
	for name, frame := range map[string][]byte{
		"cut length":    good[:2],
		"cut body":      good[:len(good)-1],
		"huge length":   {0xff, 0xff, 0xff, 0xff},
		"bad version":   append([]byte{0, 0, 0, 1}, 9),
		"trailing byte": append(append([]byte{}, good...), 0),
	} {
		if name == "trailing byte" {
			frame[3]++ // the length covers the extra byte
		}
		if _, err := ReadBatch(bytes.NewReader(frame)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecodeBatch feeds arbitrary bytes to the frame decoder, which reads what
// a peer sends: it must never panic, and what it accepts must encode back to
// the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, sampleBatch())[4:])
	f.Add(AppendBatch(nil, &Batch{})[4:])
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			return
		}
		if again := AppendBatch(nil, b)[4:]; !bytes.Equal(again, data) {
			// Varints have more than one encoding; compare decoded values instead.
			b2, err := DecodeBatch(again)
			if err != nil || !reflect.DeepEqual(b, b2) {
				t.Fatalf("re-encoding changed the batch: %v", err)
			}
		}
	})
}
