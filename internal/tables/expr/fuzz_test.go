package expr

import (
	"errors"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The fuzz targets parse arbitrary text as each kind of expression, with a fixed set of
// names and values, and evaluate what parses on a fixed item. They must never panic or
// hang, must fail only with ValidationExceptions, and must leave the item unchanged. Seed
// corpora are in testdata/fuzz.

var (
	fuzzNames  = Names{"#a": "a", "#b": "b", "#p": "pk", "#s": "sk", "#r": "status", "#d": "a.b"}
	fuzzValues = Values{
		":s": attr.S("hello"), ":e": attr.S(""), ":n": n("5"), ":z": n("0"), ":b": bin("hi"),
		":l": attr.L(n("1"), attr.S("x")), ":m": m("x", n("1")), ":ss": attr.SS("a", "b"),
		":ns": attr.NS(num("1"), num("2")), ":bs": attr.BS([]byte("x")), ":t": attr.Bool(true),
		":null": attr.Null(), ":tS": attr.S("S"), ":lo": attr.S("a"), ":hi": attr.S("z"),
		":max": n("9.9999999999999999999999999999999999999E+125"),
	}
)

func fuzzItem() attr.Item {
	return attr.Item{
		"pk": attr.S("p"), "sk": attr.S("hello"), "a": m("b", attr.L(n("1"), m("c", attr.S("x"))), "n", n("5")),
		"b": attr.L(n("1"), n("2"), n("3")), "s": attr.S("hello"), "n": n("5"), "ss": attr.SS("a", "b"),
		"ns": attr.NS(num("1")), "bs": attr.BS([]byte("x")), "bin": bin("hi"), "t": attr.Bool(false),
		"nul": attr.Null(), "status": attr.S("on"), "a.b": n("1"),
	}
}

// checkFuzzError fails unless err is nil or a ValidationException.
func checkFuzzError(t *testing.T, src string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ae *attr.Error
	if !errors.As(err, &ae) || ae.Type != attr.TypeValidation || ae.Message == "" {
		t.Fatalf("%q: error %v (%T) is not a ValidationException", src, err, err)
	}
}

func FuzzParseCondition(f *testing.F) {
	f.Add("a.b[0] = :n AND NOT contains(ss, :s) OR size(#a) BETWEEN :z AND :n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, parse := range []func(string, Names, Values) (*Condition, error){ParseCondition, ParseFilter} {
			c, err := parse(src, fuzzNames, fuzzValues)
			checkFuzzError(t, src, err)
			if err != nil {
				continue
			}
			item := fuzzItem()
			if _, err := c.Eval(item); err != nil {
				t.Fatalf("%q: Eval: %v", src, err)
			}
			if _, err := c.Eval(nil); err != nil {
				t.Fatalf("%q: Eval(nil): %v", src, err)
			}
			if !item.Equal(fuzzItem()) {
				t.Fatalf("%q: Eval changed the item", src)
			}
			_ = c.String()
			_ = c.Attributes()
			if err := CheckUnused(fuzzNames, fuzzValues, c); err != nil {
				checkFuzzError(t, src, err)
			}
		}
	})
}

func FuzzParseUpdate(f *testing.F) {
	f.Add("SET a.b[1].c = :s, n = n + :n REMOVE b[0] ADD ss :ss DELETE ns :ns")
	f.Fuzz(func(t *testing.T, src string) {
		u, err := ParseUpdate(src, fuzzNames, fuzzValues)
		checkFuzzError(t, src, err)
		if err != nil {
			return
		}
		item := fuzzItem()
		out, updated, err := u.Apply(item)
		checkFuzzError(t, src, err)
		if !item.Equal(fuzzItem()) {
			t.Fatalf("%q: Apply changed its input", src)
		}
		if err == nil {
			if out == nil {
				t.Fatalf("%q: Apply on an item returned no item", src)
			}
			if len(updated) == 0 {
				t.Fatalf("%q: no updated attributes", src)
			}
			_ = u.Targets().Apply(item)
			_ = u.Targets().Apply(out)
		}
		_, _, err = u.Apply(nil)
		checkFuzzError(t, src, err)
	})
}

func FuzzParseProjection(f *testing.F) {
	f.Add("a.b[1].c, #b, s")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParseProjection(src, fuzzNames)
		checkFuzzError(t, src, err)
		if err != nil {
			return
		}
		item := fuzzItem()
		out := p.Apply(item)
		if out == nil {
			t.Fatalf("%q: projection of an item is nil", src)
		}
		for name := range out {
			if _, ok := item[name]; !ok {
				t.Fatalf("%q: projection invented attribute %q", src, name)
			}
		}
		if !item.Equal(fuzzItem()) {
			t.Fatalf("%q: Apply changed the item", src)
		}
	})
}

func FuzzParseKeyCondition(f *testing.F) {
	f.Add("#p = :s AND begins_with(sk, :s)")
	f.Fuzz(func(t *testing.T, src string) {
		for _, sortKey := range []string{"sk", ""} {
			k, err := ParseKeyCondition(src, fuzzNames, fuzzValues, "pk", sortKey)
			checkFuzzError(t, src, err)
			if err != nil {
				continue
			}
			if sortKey == "" && k.Sort != nil {
				t.Fatalf("%q: sort condition without a sort key", src)
			}
			r := k.SortRange()
			_ = k.Match(fuzzItem())
			if k.Sort != nil && r.Start == nil && r.End == nil {
				t.Fatalf("%q: sort condition %+v admits everything", src, k.Sort)
			}
			checkFuzzError(t, src, k.CheckTypes(attr.KindS, attr.KindS))
		}
	})
}
