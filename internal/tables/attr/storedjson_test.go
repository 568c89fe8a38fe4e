package attr

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// checkStored: AppendStoredJSON, StoredSize and StoredAttributes give what DecodeItem
// followed by Marshal, Size and a lookup give, for any bytes.
func checkStored(t interface {
	Helper()
	Fatalf(format string, args ...any)
}, in []byte) {
	t.Helper()
	it, decodeErr := DecodeItem(in)
	var want []byte
	var marshalErr error
	if decodeErr == nil {
		want, marshalErr = Marshal(it)
	}
	prefix := []byte("prefix")
	got, err := AppendStoredJSON(prefix, in)
	switch {
	case decodeErr != nil:
		if err == nil || err.Error() != decodeErr.Error() {
			t.Fatalf("%q: AppendStoredJSON error %v, DecodeItem's %v", in, err, decodeErr)
		}
	case marshalErr != nil:
		if err == nil || err.Error() != marshalErr.Error() {
			t.Fatalf("%q: AppendStoredJSON error %v, Marshal's %v", in, err, marshalErr)
		}
	case err != nil:
		t.Fatalf("%q: AppendStoredJSON: %v", in, err)
	case !bytes.Equal(got, append([]byte("prefix"), want...)):
		t.Fatalf("%q:\nAppendStoredJSON %s\nMarshal          prefix%s", in, got, want)
	}
	if err != nil && !bytes.Equal(got, prefix) {
		t.Fatalf("%q: AppendStoredJSON failed but changed dst to %q", in, got)
	}

	size, err := StoredSize(in)
	switch {
	case decodeErr != nil:
		if err == nil || err.Error() != decodeErr.Error() {
			t.Fatalf("%q: StoredSize error %v, DecodeItem's %v", in, err, decodeErr)
		}
	case err != nil || size != it.Size():
		t.Fatalf("%q: StoredSize %d, %v; Size %d", in, size, err, it.Size())
	}

	names := []string{"k", "p", "absent"}
	for n := range it {
		names = append(names, n)
		break
	}
	attrs, err := StoredAttributes(Item{"stale": S("x")}, in, names...)
	if decodeErr != nil {
		if err == nil || err.Error() != decodeErr.Error() {
			t.Fatalf("%q: StoredAttributes error %v, DecodeItem's %v", in, err, decodeErr)
		}
		return
	}
	wantAttrs := Item{}
	for _, n := range names {
		if v, ok := it[n]; ok {
			wantAttrs[n] = v
		}
	}
	if err != nil || !reflect.DeepEqual(attrs, wantAttrs) {
		t.Fatalf("%q: StoredAttributes(%q) = %v, %v; want %v", in, names, attrs, err, wantAttrs)
	}
}

func TestStoredJSONProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		it := item().Draw(t, "item")
		if rapid.Bool().Draw(t, "with keys?") {
			it["p"] = S(rapid.String().Draw(t, "p"))
			it["k"] = Num(number().Draw(t, "k"))
		}
		b := EncodeItem(it)
		checkStored(t, b)
		// And the way through the walk, not the fallback, is what is checked: a canonical
		// encoding never needs DecodeItem.
		w := storedWalk{emit: true}
		if _, ok := w.item(nil, b); !ok {
			t.Fatalf("the walk refused EncodeItem's output for %v", it)
		}
		if !storedAttributes(Item{}, b, []string{"p", "k"}) {
			t.Fatalf("storedAttributes refused EncodeItem's output for %v", it)
		}
	})
}

func TestStoredJSONCases(t *testing.T) {
	items := []Item{
		{},
		{"a": S("x<>&\"\\\n\t\x01é\u2028"), "b": S(string([]byte{0xff, 'a'}))},
		{"n": Num(MustNumber("0")), "m": Num(MustNumber("-1.5e-130")), "x": Num(MustNumber("9.9999999999999999999999999999999999999E+125"))},
		{"ns": NS(MustNumber("10"), MustNumber("-0.001"), MustNumber("123456789012345678901234567890.12345678"))},
		{"b": B(nil), "bs": BS([]byte{0}, []byte{0xfb, 0xff})},
		{"m": M(map[string]Value{"z": Null(), "a": Bool(false), "": L()}), "l": L(Bool(true), M(nil), SS("b", "a"))},
	}
	for _, it := range items {
		checkStored(t, EncodeItem(it))
	}
	// Names out of order and repeated, a value without a kind, trailing bytes, corruption.
	for _, in := range []string{
		"\x01\x02\x01b\x01\x01x\x01a\x01\x01y",
		"\x01\x02\x01a\x01\x01x\x01a\x01\x01y",
		"\x01\x01\x01a\x00",
		"\x01\x01\x01a\x01\x01x\x00",
		"\x01\x01\x01a\x02\x03\x82",
		"\x01\x01\x01a\x0a\x02",
		"",
		"\x02",
	} {
		checkStored(t, []byte(in))
	}
}

func TestRawJSONMarshal(t *testing.T) {
	v := struct {
		A any     `json:"A"`
		B RawJSON `json:"B,omitempty"`
		C RawJSON `json:"C"`
	}{A: RawJSON(`[{"x":{"S":"y"}}]`), B: RawJSON(`{}`)}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(v)
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal %s, json.Marshal %s", got, want)
	}
}

// FuzzStoredJSON feeds arbitrary bytes to AppendStoredJSON, StoredSize and
// StoredAttributes, as a corrupt disk or a peer region could: each must give exactly what
// DecodeItem and then Marshal, Size or a lookup give, errors included.
func FuzzStoredJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) { checkStored(t, in) })
}

func BenchmarkStoredJSON(b *testing.B) {
	it := Item{"p": S("g000001"), "k": S("user0000001234")}
	for i := range 10 {
		it["field"+string(rune('0'+i))] = S(string(bytes.Repeat([]byte{'a' + byte(i)}, 100)))
	}
	enc := EncodeItem(it)
	b.Run("DecodeItem+Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			x, err := DecodeItem(enc)
			if err != nil {
				b.Fatal(err)
			}
			buf, _ = appendJSONMap(buf[:0], x)
			_ = x.Size()
		}
	})
	b.Run("AppendStoredJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendStoredJSON(buf[:0], enc); err != nil {
				b.Fatal(err)
			}
			_, _ = StoredSize(enc)
		}
	})
}
