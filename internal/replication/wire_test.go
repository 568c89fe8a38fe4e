package replication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
)

func sampleBatch() *Batch {
	return &Batch{
		Next: 42, Head: 50, Watermark: Timestamp{Wall: 1e18, Logical: 3}, PendingBytes: 1<<33 + 5,
		Records: []Record{
			{Seq: 40, Version: v(10, "eu-west"), Context: Context{v(10, "eu-west"), v(9, "us-east")}, Key: []byte("k1"), Data: []byte(`{"a":1}`), Committed: 1e18 + 12345},
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

// TestPendingBytesOnTheWire: a frame carries PendingBytes; a frame of version 1, which has
// none, still decodes, with PendingBytes 0.
func TestPendingBytesOnTheWire(t *testing.T) {
	for _, want := range []uint64{0, 1, 300, 1<<64 - 1} {
		b := sampleBatch()
		b.PendingBytes = want
		got, err := DecodeBatch(AppendBatch(nil, b)[4:])
		if err != nil {
			t.Fatal(err)
		}
		if got.PendingBytes != want || !reflect.DeepEqual(got, b) {
			t.Fatalf("PendingBytes %d came back as %+v", want, got)
		}
	}
	want := sampleBatch()
	want.PendingBytes = 0
	for i := range want.Records {
		want.Records[i].Committed = 0
	}
	got, err := DecodeBatch(frameV1(want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1 frame decoded as %+v\nwant %+v", got, want)
	}
	// Version 2 needs the field: a frame cut just before it is malformed.
	v2 := AppendBatch(nil, &Batch{Next: 1, Head: 1})[4:]
	if _, err := DecodeBatch(v2[:len(v2)-2]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a frame without its pending bytes: %v", err)
	}
}

// TestCommittedOnTheWire: a frame carries each record's commit time; frames of version 2,
// which have none, still decode, with Committed 0.
func TestCommittedOnTheWire(t *testing.T) {
	for _, want := range []int64{0, 1, -5, 1e18 + 7, 1<<63 - 1} {
		b := sampleBatch()
		b.Records[1].Committed = want
		got, err := DecodeBatch(AppendBatch(nil, b)[4:])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("Committed %d came back as %+v", want, got)
		}
	}
	want := sampleBatch()
	for i := range want.Records {
		want.Records[i].Committed = 0
	}
	got, err := DecodeBatch(frameOld(want, frameVersionV2))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("version 2 frame decoded as %+v\nwant %+v", got, want)
	}
	// Version 3 needs the field: a record cut just before it is malformed.
	v3 := AppendBatch(nil, sampleBatch())[4:]
	if _, err := DecodeBatch(v3[:len(v3)-len(binary.AppendVarint(nil, sampleBatch().Records[1].Committed))]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a record without its commit time: %v", err)
	}
}

// frameV1 returns b encoded as a frame of version 1 (without its length), which has no
// PendingBytes and no commit times.
func frameV1(b *Batch) []byte { return frameOld(b, frameVersionV1) }

// frameOld returns b encoded as a frame of an earlier version (without its length):
// version 2 has no commit times, version 1 no pending bytes either.
func frameOld(b *Batch, version byte) []byte {
	dst := []byte{version}
	dst = binary.AppendUvarint(dst, b.Next)
	dst = binary.AppendUvarint(dst, b.Head)
	dst = b.Watermark.Append(dst)
	if version >= frameVersionV2 {
		dst = binary.AppendUvarint(dst, b.PendingBytes)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Records)))
	for _, r := range b.Records {
		dst = binary.AppendUvarint(dst, r.Seq)
		dst = r.Version.TS.Append(dst)
		dst = appendString(dst, []byte(r.Version.Region))
		dst = binary.AppendUvarint(dst, uint64(len(r.Context)))
		for _, c := range r.Context {
			dst = c.TS.Append(dst)
			dst = appendString(dst, []byte(c.Region))
		}
		var flags byte
		if r.Delete {
			flags = flagDelete
		}
		dst = append(dst, flags)
		dst = appendString(dst, r.Key)
		dst = appendString(dst, r.Data)
	}
	return dst
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
	v1 := sampleBatch()
	v1.PendingBytes = 0
	f.Add(frameV1(v1))
	f.Add(frameOld(sampleBatch(), frameVersionV2))
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
