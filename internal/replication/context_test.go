package replication

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func v(wall int64, region string) Version { return Version{TS: Timestamp{Wall: wall}, Region: region} }

func TestVersionOrder(t *testing.T) {
	if v(1, "b").Compare(v(2, "a")) >= 0 || v(2, "a").Compare(v(2, "b")) >= 0 || v(2, "b").Compare(v(2, "b")) != 0 {
		t.Fatal("versions order by timestamp, then region")
	}
}

func TestContext(t *testing.T) {
	var c Context
	c = c.With(v(5, "b")).With(v(3, "a")).With(v(4, "b")) // 4@b is older than 5@b: ignored
	if want := (Context{v(3, "a"), v(5, "b")}); !reflect.DeepEqual(c, want) {
		t.Fatalf("context %v, want %v", c, want)
	}
	for _, tc := range []struct {
		v    Version
		want bool
	}{{v(3, "a"), true}, {v(2, "a"), true}, {v(4, "a"), false}, {v(5, "b"), true}, {v(1, "c"), false}, {Version{}, true}} {
		if got := c.Covers(tc.v); got != tc.want {
			t.Errorf("Covers(%v) = %v", tc.v, got)
		}
	}
	m := c.Merge(Context{v(9, "a"), v(1, "c")})
	if want := (Context{v(9, "a"), v(5, "b"), v(1, "c")}); !reflect.DeepEqual(m, want) {
		t.Fatalf("merge %v, want %v", m, want)
	}
	if c[0] != v(3, "a") {
		t.Fatal("Merge modified its receiver")
	}
}

func TestDecide(t *testing.T) {
	base := v(1, "a")
	held := Stamp{Version: v(5, "b"), Context: Context{base, v(5, "b")}}
	for _, tc := range []struct {
		name string
		held Stamp
		in   Version
		ctx  Context
		want Outcome
	}{
		{"nothing held", Stamp{}, v(2, "a"), Context{v(2, "a")}, Successor},
		{"same write again", held, v(5, "b"), Context{base, v(5, "b")}, Stale},
		{"an ancestor arrives late", held, base, Context{base}, Stale},
		{"a successor", held, v(7, "c"), Context{base, v(5, "b"), v(7, "c")}, Successor},
		{"concurrent and newer", held, v(7, "c"), Context{base, v(7, "c")}, ConflictWins},
		{"concurrent and older", held, v(3, "c"), Context{base, v(3, "c")}, ConflictLoses},
		{"concurrent, same time, region breaks the tie", held, v(5, "c"), Context{v(5, "c")}, ConflictWins},
	} {
		if got := Decide(tc.held, tc.in, tc.ctx); got != tc.want {
			t.Errorf("%s: Decide = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStampRoundTrip(t *testing.T) {
	s := Stamp{Version: v(5, "b"), Context: Context{v(1, "a"), v(5, "b")}}
	b := AppendStamp(nil, s)
	b = append(b, "rest"...)
	got, rest, err := DecodeStamp(b)
	if err != nil || !reflect.DeepEqual(got, s) || !bytes.Equal(rest, []byte("rest")) {
		t.Fatalf("DecodeStamp = %v, %q, %v", got, rest, err)
	}
	if _, _, err := DecodeStamp(b[:5]); err == nil {
		t.Fatal("a cut stamp decoded")
	}
}

// TestMergeIsWithFolded: Merge gives what adding d's versions to c one by one (With) gives,
// for sorted contexts and for unsorted ones alike.
func TestMergeIsWithFolded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Version {
			return v(rapid.Int64Range(1, 5).Draw(t, "ts"), rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(t, "region"))
		}), 0, 5)
		c, d := Context(gen.Draw(t, "c")), Context(gen.Draw(t, "d"))
		if rapid.Bool().Draw(t, "build") {
			var cc Context
			for _, x := range c {
				cc = cc.With(x)
			}
			c = cc
		}
		want := slices.Clone(c)
		for _, x := range d {
			want = want.With(x)
		}
		if got := c.Merge(d); !slices.Equal(got, want) {
			t.Fatalf("%v.Merge(%v) = %v, want %v", c, d, got, want)
		}
	})
}

// TestStampSize: StampSize is the length of AppendStamp's encoding, which DecodeStamp reads
// back.
func TestStampSize(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		region := rapid.StringN(0, 200, 200)
		s := Stamp{Version: v(rapid.Int64().Draw(t, "ts"), region.Draw(t, "region"))}
		for range rapid.IntRange(0, 20).Draw(t, "n") {
			s.Context = append(s.Context, v(rapid.Int64().Draw(t, "ts"), region.Draw(t, "region")))
		}
		b := AppendStamp([]byte("x"), s)
		if len(b)-1 != StampSize(s) {
			t.Fatalf("StampSize %d, encoding of %d bytes", StampSize(s), len(b)-1)
		}
		got, rest, err := DecodeStamp(b[1:])
		if err != nil || len(rest) != 0 || got.Version != s.Version || !slices.Equal(got.Context, s.Context) {
			t.Fatalf("DecodeStamp gave %+v, %q, %v; want %+v", got, rest, err, s)
		}
	})
}
