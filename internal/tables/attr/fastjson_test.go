package attr

import (
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// checkFastPath: whatever the fast path accepts, the general decoder accepts too and
// decodes to the same item or value.
func checkFastPath(t testing.TB, in []byte) {
	t.Helper()
	if v, ok := fastValue(in); ok {
		slow, err := decodeValue(in)
		if err != nil || !Equal(v, slow) || !reflect.DeepEqual(v, slow) {
			t.Fatalf("fast path %q: %#v; general decoder: %#v, %v", in, v, slow, err)
		}
	}
	if it, ok := fastItem(in); ok {
		slow, null, err := decodeItem(in)
		if err != nil || null || !reflect.DeepEqual(it, slow) {
			t.Fatalf("fast path %q: %#v; general decoder: %#v, %v", in, it, slow, err)
		}
	}
}

func TestFastPathInputs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{}`, true},
		{` { "a" : {"S":"x"} , "b":{"N":"1.50"} } `, true},
		{`{"a":{"S":""}}`, true},
		{`{"é":{"S":"ü"}}`, true},
		{`{"a":{"S":"x"},"a":{"S":"y"}}`, true},
		{`{"a":{"S":"x\n"}}`, false},
		{`{"a":{"S":"x","S":"y"}}`, false},
		{`{"a":{"N":"x"}}`, false},
		{`{"a":{"B":"AA=="}}`, false},
		{`{"a":{"S":null}}`, false},
		{`{"a":{"S":"x"}} x`, false},
		{`{"a":{"S":"x"},}`, false},
		{"{\"a\":{\"S\":\"\xff\"}}", false},
		{`null`, false},
	} {
		_, ok := fastItem([]byte(tc.in))
		if ok != tc.fast {
			t.Errorf("fastItem(%s): %v, want %v", tc.in, ok, tc.fast)
		}
		checkFastPath(t, []byte(tc.in))
	}
}

// TestFastPathProperty: items as clients write them (MarshalJSON) decode alike on both
// paths, whether or not the fast path takes them.
func TestFastPathProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		it := item().Draw(rt, "item")
		b, err := it.MarshalJSON()
		if err != nil {
			rt.Fatal(err)
		}
		checkFastPath(t, b)
		for _, v := range it {
			vb, _ := v.MarshalJSON()
			checkFastPath(t, vb)
		}
		var back Item
		if err := back.UnmarshalJSON(b); err != nil || !reflect.DeepEqual(back, it) && len(it) > 0 {
			if err != nil || !itemsEqual(back, it) {
				rt.Fatalf("round trip: %v\n%#v\n%#v", err, back, it)
			}
		}
	})
}

func itemsEqual(a, b Item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !Equal(v, w) {
			return false
		}
	}
	return true
}
