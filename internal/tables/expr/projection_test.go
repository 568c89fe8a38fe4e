package expr

import (
	"slices"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// projItem is the item of DynamoDB's documentation-style projection examples.
func projItem() attr.Item {
	return attr.Item{
		"p":   attr.S("key"),
		"a":   m("b", attr.L(n("2"), n("4"), m("x", attr.S("hi"), "y", attr.S("yo"))), "c", n("5")),
		"b":   attr.S("hello"),
		"a.b": attr.S("dotted"),
	}
}

func TestProjectionApply(t *testing.T) {
	full := projItem()
	for _, tc := range []struct {
		src  string
		want attr.Item
	}{
		{"a", attr.Item{"a": full["a"]}},
		{"a.b", attr.Item{"a": m("b", full["a"].M["b"])}},
		{"a.b[0]", attr.Item{"a": m("b", attr.L(n("2")))}},
		{"a.b[2]", attr.Item{"a": m("b", attr.L(m("x", attr.S("hi"), "y", attr.S("yo"))))}},
		{"a.b[2].y", attr.Item{"a": m("b", attr.L(m("y", attr.S("yo"))))}},
		// Nothing found: an empty item.
		{"x", attr.Item{}}, {"a.b[3]", attr.Item{}}, {"a.x", attr.Item{}}, {"a.x.y", attr.Item{}},
		{"a.b[3].x", attr.Item{}}, {"a.b.x", attr.Item{}}, {"a[0]", attr.Item{}}, {"a.b[0].x", attr.Item{}},
		{"a.b[0][0]", attr.Item{}}, {"b.c", attr.Item{}},
		// Several paths merge; list elements keep their order in the list.
		{"a.b[0],a.b[1]", attr.Item{"a": m("b", attr.L(n("2"), n("4")))}},
		{"a.b[2], a.b[0]", attr.Item{"a": m("b", attr.L(n("2"), m("x", attr.S("hi"), "y", attr.S("yo"))))}},
		{"a.b[0],a.c", attr.Item{"a": m("b", attr.L(n("2")), "c", n("5"))}},
		{"a.c,b", attr.Item{"a": m("c", n("5")), "b": attr.S("hello")}},
		{"a.x, a.b[0], x, a.b[3].x", attr.Item{"a": m("b", attr.L(n("2")))}},
		{"p, b", attr.Item{"p": attr.S("key"), "b": attr.S("hello")}},
		// A #name is one element, dots and all.
		{"#dot", attr.Item{"a.b": attr.S("dotted")}},
		{"#a.#b[1]", attr.Item{"a": m("b", attr.L(n("4")))}},
	} {
		p, err := ParseProjection(tc.src, testNames)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := p.Apply(full); !got.Equal(tc.want) {
			t.Errorf("%q: %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestProjectionIndependent(t *testing.T) {
	item := projItem()
	p, err := ParseProjection("a.b, b", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := p.Apply(item)
	out["a"].M["b"].L[0] = n("99")
	if !item.Equal(projItem()) {
		t.Error("changing the projection changed the item")
	}
	if p.Apply(nil) != nil {
		t.Error("projection of no item is not nil")
	}
	if got := p.Attributes(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Attributes %v", got)
	}
	if got := p.Paths(); len(got) != 2 || got[0].String() != "a.b" {
		t.Errorf("Paths %v", got)
	}
}

func TestProjectionErrors(t *testing.T) {
	const proj = "Invalid ProjectionExpression: "
	for _, tc := range []struct{ src, want string }{
		{"", proj + "The expression can not be empty;"},
		{"a,", proj + `Syntax error; token: "<EOF>", near: ","`},
		{"name", proj + "Attribute name is a reserved keyword; reserved keyword: name"},
		{"#nope", proj + "An expression attribute name used in the document path is not defined; attribute name: #nope"},
		{"a, a", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"a, a.b", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"a.b, a", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
		{"a[1], a[1]", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, [1]]"},
		{"a.b, a.b[2]", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, b, [2]]"},
		{"a, a.b[2].c", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b, [2], c]"},
		{"#a.b, a.b.c", proj + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, b, c]"},
		{"a.b, a[1]", proj + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"},
		{"a.b[1], a.b.c", proj + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b, [1]], path two: [a, b, c]"},
		{"a" + repeatPath(33), proj + "The document path has too many nesting levels; nesting levels: 34"},
	} {
		_, err := ParseProjection(tc.src, testNames)
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.src, tc.want)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
	for _, ok := range []string{"a, b", "a.b, a.c", "a.b.d, a.b.e", "a[1], a[2]", "a.b, a.c[2]", "a" + repeatPath(31)} {
		if _, err := ParseProjection(ok, nil); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func repeatPath(k int) string {
	s := ""
	for range k {
		s += "[0]"
	}
	return s
}

func TestProjectionUsage(t *testing.T) {
	p, err := ParseProjection("#a.x, #b, c", testNames)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.UsedNames(), []string{"#a", "#b"}) || p.UsedValues() != nil {
		t.Errorf("used %v %v", p.UsedNames(), p.UsedValues())
	}
	var nilProj *Projection
	if nilProj.UsedNames() != nil || nilProj.UsedValues() != nil {
		t.Error("nil Projection uses something")
	}
}
