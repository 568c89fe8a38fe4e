package attr

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
)

// The seed corpora are in testdata/fuzz/<FuzzName>. Run one with, for example,
// go test -fuzz FuzzUnmarshalValue ./internal/tables/attr/

// FuzzUnmarshalValue feeds arbitrary bytes to Value.UnmarshalJSON, as a client can. It must
// never panic; a refusal must be an *Error of a DynamoDB type; an accepted value must be
// valid, marshal, and read back equal, with the same JSON and the same storage encoding.
func FuzzUnmarshalValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		checkFastPath(t, in)
		var v Value
		if err := v.UnmarshalJSON(in); err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Type != TypeValidation && e.Type != TypeSerialization) || e.Message == "" {
				t.Fatalf("refusal %T %v is not a DynamoDB error", err, err)
			}
			return
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("accepted value fails Validate: %v", err)
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted value does not marshal: %v", err)
		}
		var back Value
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("Unmarshal(Marshal(v)) = %v for %s", err, out)
		}
		if !Equal(v, back) {
			t.Fatalf("round trip changed the value: %s", out)
		}
		if again, _ := back.MarshalJSON(); !bytes.Equal(out, again) {
			t.Fatalf("marshalling is not stable:\n%s\n%s", out, again)
		}
		it, err := DecodeItem(EncodeItem(Item{"v": v}))
		if err != nil || !Equal(it["v"], v) {
			t.Fatalf("storage round trip: %v", err)
		}
		if v.Size() < 0 {
			t.Fatal("negative size")
		}
		if v.Kind.IsKey() {
			k, err := EncodeKey(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if kv, rest, err := DecodeKey(k); err != nil || len(rest) != 0 || !Equal(kv, v) {
				t.Fatalf("key round trip: %v", err)
			}
		}
	})
}

// FuzzParseNumber feeds arbitrary strings to ParseNumber. It must never panic; a refusal
// must be a ValidationException with one of DynamoDB's number messages; an accepted
// number must be within DynamoDB's limits, agree with apd's reading of the same text, and
// survive its canonical string and its key encoding unchanged.
func FuzzParseNumber(f *testing.F) {
	messages := []string{
		msgNumberOverflow, msgNumberUnderflow, msgNumberDigits, msgNumberEmpty,
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNumber(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Type != TypeValidation {
				t.Fatalf("refusal %v is not a ValidationException", err)
			}
			for _, m := range messages {
				if e.Message == m || m == msgNumberEmpty && e.Message == m+": "+s {
					return
				}
			}
			t.Fatalf("unexpected message %q", e.Message)
		}
		if n.Digits() > MaxDigits {
			t.Fatalf("%q: %d digits", s, n.Digits())
		}
		if !n.IsZero() {
			adj := int(n.d.Exponent) + n.Digits() - 1
			if adj < MinExponent || adj > MaxExponent {
				t.Fatalf("%q: adjusted exponent %d", s, adj)
			}
		}
		if d, _, err := apd.NewFromString(s); err == nil && d.Form == apd.Finite && d.Cmp(&n.d) != 0 {
			t.Fatalf("%q: ParseNumber says %s, apd says %s", s, n, d)
		}
		str := n.String()
		back, err := ParseNumber(str)
		if err != nil || back.Cmp(n) != 0 || back.String() != str {
			t.Fatalf("%q → %q does not parse back: %v", s, str, err)
		}
		if strings.ContainsAny(str, "eE+") || str == "-0" {
			t.Fatalf("%q: canonical form %q", s, str)
		}
		k, _ := EncodeKey(nil, Num(n))
		kv, _, err := DecodeKey(k)
		if err != nil || kv.N.String() != str {
			t.Fatalf("%q: key round trip gives %v, %v", s, kv.N, err)
		}
	})
}

// FuzzDecodeItem feeds arbitrary bytes to DecodeItem, as a corrupt disk or a peer region
// could. It must never panic; anything it accepts must encode back to the same bytes.
func FuzzDecodeItem(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		it, err := DecodeItem(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if out := EncodeItem(it); !bytes.Equal(out, in) {
			// Only a non-canonical input (names out of order, a name twice) may differ, and
			// then it must be stable from here on.
			again, err := DecodeItem(out)
			if err != nil || !bytes.Equal(EncodeItem(again), out) {
				t.Fatalf("re-encoding is not stable: %v", err)
			}
		}
	})
}

// FuzzDecodeKey feeds arbitrary bytes to DecodeKey. It must never panic; a key it accepts
// must encode back to exactly the bytes it consumed.
func FuzzDecodeKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		v, rest, err := DecodeKey(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		enc, err := EncodeKey(nil, v)
		if err != nil || !bytes.Equal(enc, in[:len(in)-len(rest)]) {
			t.Fatalf("DecodeKey accepted a non-canonical key %x (canonical %x)", in[:len(in)-len(rest)], enc)
		}
	})
}
