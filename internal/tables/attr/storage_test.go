package attr

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func TestItemEncodingRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		it := item().Draw(t, "item")
		enc := EncodeItem(it)
		got, err := DecodeItem(enc)
		if err != nil {
			t.Fatalf("DecodeItem: %v", err)
		}
		if !it.Equal(got) {
			t.Fatalf("round trip changed the item:\n%s\n%s", mustJSON(it), mustJSON(got))
		}
		// Exact: the same bytes again, so set and list order and every number survive.
		if again := EncodeItem(got); !bytes.Equal(enc, again) {
			t.Fatalf("re-encoding differs")
		}
		if !bytes.Equal(enc, EncodeItem(it.Clone())) {
			t.Fatal("encoding is not deterministic")
		}
	})
}

func mustJSON(it Item) string {
	b, err := it.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestItemEncodingEveryType(t *testing.T) {
	it := Item{
		"s":     S("text"),
		"empty": S(""),
		"n":     MustN("-123.456e-7"),
		"zero":  MustN("0"),
		"b":     B([]byte{0, 1, 2}),
		"ss":    SS("b", "a", ""),
		"ns":    NS(MustNumber("3"), MustNumber("1e-130"), MustNumber("-"+maxN)),
		"bs":    BS([]byte{}, []byte{0xFF}),
		"m":     M(map[string]Value{"x": L(Null(), Bool(true)), "": M(nil)}),
		"l":     L(Bool(false), L(), MustN("1")),
		"null":  Null(),
		"bool":  Bool(true),
		"bad":   {}, // a Value without a Kind survives as one
	}
	got, err := DecodeItem(EncodeItem(it))
	if err != nil {
		t.Fatal(err)
	}
	if !it.Equal(got) || got["bad"].Kind != 0 {
		t.Fatalf("got %v", got)
	}
	if got["ns"].NS[2].String() != "-"+MustNumber(maxN).String() || got["ss"].SS[0] != "b" {
		t.Errorf("set order or numbers changed: %v", got["ns"].NS)
	}
	empty, err := DecodeItem(EncodeItem(nil))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty item: %v %v", empty, err)
	}
	// Decoded items do not share memory with the encoding.
	enc := EncodeItem(Item{"b": B([]byte("abc"))})
	dec, _ := DecodeItem(enc)
	for i := range enc {
		enc[i] = 0
	}
	if string(dec["b"].B) != "abc" {
		t.Error("DecodeItem shares memory with its input")
	}
}

func TestDecodeItemCorrupt(t *testing.T) {
	good := EncodeItem(Item{"a": L(MustN("12.5"), SS("x"), Bool(true))})
	// Every truncation is refused.
	for i := range len(good) {
		if _, err := DecodeItem(good[:i]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeItem(first %d bytes) = %v, want ErrCorrupt", i, err)
		}
	}
	for _, b := range [][]byte{
		{2, 0},                            // unknown version
		append(bytes.Clone(good), 0),      // trailing byte
		{1, 1, 1, 'a', 42},                // unknown kind
		{1, 1, 1, 'a', byte(KindBOOL), 2}, // bad boolean
		{1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, // count larger than the input
		{1, 1, 1, 'a', byte(KindSS), 5, 1, 'x'},
		{1, 1, 1, 'a', byte(KindN), 0x07},
	} {
		if _, err := DecodeItem(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeItem(%v) = %v, want ErrCorrupt", b, err)
		}
	}
	// Nesting far beyond anything valid is refused without exhausting the stack.
	deep := []byte{1, 1, 1, 'a'}
	for range maxStoredDepth + 10 {
		deep = append(deep, byte(KindL), 1)
	}
	deep = append(deep, byte(KindNULL))
	if _, err := DecodeItem(deep); !errors.Is(err, ErrCorrupt) {
		t.Errorf("deep: %v", err)
	}
}
