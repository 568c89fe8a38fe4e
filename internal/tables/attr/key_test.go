package attr

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func cmpEncoded(t *rapid.T, a, b Value) {
	ea, err := EncodeKey(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := EncodeKey(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := Compare(a, b)
	if !ok {
		t.Fatalf("Compare(%s, %s) not ok", js(a), js(b))
	}
	if got := bytes.Compare(ea, eb); got != want {
		t.Fatalf("bytes.Compare(%x, %x) = %d, but Compare(%s, %s) = %d", ea, eb, got, js(a), js(b), want)
	}
}

func TestEncodeKeyPreservesOrder(t *testing.T) {
	for _, kind := range []Kind{KindS, KindN, KindB} {
		t.Run(kind.String(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				cmpEncoded(t, keyValue(kind).Draw(t, "a"), keyValue(kind).Draw(t, "b"))
			})
		})
	}
	t.Run("N near", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			a := number().Draw(t, "a")
			cmpEncoded(t, Num(a), Num(nearNumber(t, a)))
		})
	})
	t.Run("B prefix", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			a := keyBytes().Draw(t, "a")
			b := append(slices.Clone(a), keyBytes().Draw(t, "suffix")...)
			cmpEncoded(t, B(a), B(b))
			cmpEncoded(t, S(string(a)), S(string(b)))
		})
	})
}

func TestKeyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kind := rapid.SampledFrom([]Kind{KindS, KindN, KindB}).Draw(t, "kind")
		v := keyValue(kind).Draw(t, "v")
		tail := rapid.SliceOf(rapid.Byte()).Draw(t, "tail")
		enc, err := EncodeKey([]byte("prefix"), v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatal("EncodeKey did not append to dst")
		}
		got, rest, err := DecodeKey(append(enc[len("prefix"):], tail...))
		if err != nil {
			t.Fatalf("DecodeKey(EncodeKey(%s)): %v", js(v), err)
		}
		if !Equal(got, v) || got.N.String() != v.N.String() || !bytes.Equal(rest, tail) {
			t.Fatalf("DecodeKey(EncodeKey(%s)) = %s, rest %x; want rest %x", js(v), js(got), rest, tail)
		}
	})
}

func TestCompositeKeyOrder(t *testing.T) {
	// (partition, sort) keys concatenated sort by partition, then by sort key, and split.
	rapid.Check(t, func(t *rapid.T) {
		pk := rapid.SampledFrom([]Kind{KindS, KindN, KindB}).Draw(t, "pk")
		sk := rapid.SampledFrom([]Kind{KindS, KindN, KindB}).Draw(t, "sk")
		p1, p2 := keyValue(pk).Draw(t, "p1"), keyValue(pk).Draw(t, "p2")
		if rapid.Bool().Draw(t, "same partition") {
			p2 = p1
		}
		s1, s2 := keyValue(sk).Draw(t, "s1"), keyValue(sk).Draw(t, "s2")
		enc := func(p, s Value) []byte {
			b, err := EncodeKey(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if b, err = EncodeKey(b, s); err != nil {
				t.Fatal(err)
			}
			return b
		}
		want, _ := Compare(p1, p2)
		if want == 0 {
			want, _ = Compare(s1, s2)
		}
		e1 := enc(p1, s1)
		if got := bytes.Compare(e1, enc(p2, s2)); got != want {
			t.Fatalf("composite order %d, want %d", got, want)
		}
		gp, rest, err := DecodeKey(e1)
		if err != nil {
			t.Fatal(err)
		}
		gs, rest, err := DecodeKey(rest)
		if err != nil || len(rest) != 0 || !Equal(gp, p1) || !Equal(gs, s1) {
			t.Fatalf("split: %s %s %x %v", js(gp), js(gs), rest, err)
		}
	})
}

func TestEncodeKeyExamples(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want []byte
	}{
		{S(""), []byte{1, 0, 1}},
		{S("a\x00b"), []byte{1, 'a', 0, 0xFF, 'b', 0, 1}},
		{B([]byte{0xFF, 0}), []byte{3, 0xFF, 0, 0xFF, 0, 1}},
		{MustN("0"), []byte{2, 0x02}},
		{MustN("1"), []byte{2, 0x03, 130, 11, 0}},        // 1 = 1e0: pair "10"
		{MustN("12.5"), []byte{2, 0x03, 131, 13, 51, 0}}, // pairs 12, 50
		{MustN("-1"), []byte{2, 0x01, ^byte(130), ^byte(11), 0xFF}},
		{MustN("1E-130"), []byte{2, 0x03, 0, 11, 0}},
		{MustN(maxN), append(append([]byte{2, 0x03, 255}, bytes.Repeat([]byte{100}, 19)...), 0)},
	} {
		got, err := EncodeKey(nil, tc.v)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("EncodeKey(%s) = %v, %v; want %v", js(tc.v), got, err, tc.want)
		}
	}
	// A sorted list of numbers encodes to a sorted list of keys.
	sorted := []string{"-" + maxN, "-1e100", "-100", "-12.51", "-12.5", "-12", "-1", "-0.5", "-1e-130",
		"0", "1e-130", "0.5", "1", "1.000001", "1.1", "12", "12.5", "12.51", "100", "1e100", maxN}
	var prev []byte
	for i, s := range sorted {
		enc, _ := EncodeKey(nil, MustN(s))
		if i > 0 && bytes.Compare(prev, enc) >= 0 {
			t.Errorf("%s does not encode above %s", s, sorted[i-1])
		}
		prev = enc
	}
	strs := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "b", "\xff", "\xff\xff"}
	for i := 1; i < len(strs); i++ {
		a, _ := EncodeKey(nil, S(strs[i-1]))
		b, _ := EncodeKey(nil, S(strs[i]))
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("%q does not encode below %q", strs[i-1], strs[i])
		}
	}
}

func TestEncodeKeyRejectsNonKeys(t *testing.T) {
	for _, v := range []Value{SS("a"), NS(MustNumber("1")), BS([]byte{1}), M(nil), L(), Null(), Bool(true), {}} {
		if _, err := EncodeKey(nil, v); !errors.Is(err, ErrNotKey) {
			t.Errorf("EncodeKey(%v) = %v, want ErrNotKey", v.Kind, err)
		}
	}
}

func TestDecodeKeyCorrupt(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0},
		{9},
		{1},                      // unterminated
		{1, 'a', 0},              // unterminated
		{1, 'a', 0, 0x02},        // bad escape
		{3, 0, 0x10, 0, 1},       // bad escape
		{2},                      // no class
		{2, 0x04},                // bad class
		{2, 0x03},                // no exponent
		{2, 0x03, 130},           // no digits, no terminator
		{2, 0x03, 130, 0},        // no digits
		{2, 0x03, 130, 11},       // unterminated
		{2, 0x03, 130, 101, 0},   // pair out of range
		{2, 0x03, 130, 1, 0},     // leading zero ("00")
		{2, 0x03, 130, 5, 0},     // leading zero ("04")
		{2, 0x03, 130, 11, 1, 0}, // trailing "00"
		{2, 0x01, 130, 11, 0},    // negative with an uncomplemented terminator
		append(append([]byte{2, 0x03, 130}, bytes.Repeat([]byte{12}, 20)...), 0), // 40 digits
	} {
		if _, _, err := DecodeKey(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeKey(%v) = %v, want ErrCorrupt", b, err)
		}
	}
	// DecodeKey copies: changing the input does not change the value.
	enc, _ := EncodeKey(nil, B([]byte("abc")))
	v, _, _ := DecodeKey(enc)
	enc[1] = 'X'
	if string(v.B) != "abc" {
		t.Error("DecodeKey shares memory with its input")
	}
	if _, _, err := DecodeKey([]byte(strings.Repeat("\x01a", 3))); !errors.Is(err, ErrCorrupt) {
		t.Error(err)
	}
}
