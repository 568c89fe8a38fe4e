package expr

import (
	"slices"
	"strings"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

func updItem() attr.Item {
	return attr.Item{
		"id": attr.S("k"), "n": n("5"), "s": attr.S("hi"),
		"l":  attr.L(n("2"), n("3"), n("4"), n("5"), n("6"), n("7")),
		"m":  m("x", n("1"), "y", m("z", attr.S("deep"))),
		"ss": attr.SS("a", "b"), "ns": attr.NS(num("1"), num("2")), "bs": attr.BS([]byte("x")),
		"ll": attr.L(m("a", n("1"), "b", n("2")), m("c", attr.L(n("3"), n("4")))),
	}
}

// with returns updItem changed by f.
func with(f func(attr.Item)) attr.Item {
	it := updItem()
	f(it)
	return it
}

var updValues = Values{
	":v": attr.S("v"), ":w": attr.S("w"), ":one": n("1"), ":two": n("2"), ":n17": n("17"),
	":lx": attr.L(attr.S("x")), ":ly": attr.L(attr.S("y")),
	":ssc": attr.SS("c", "a"), ":ssa": attr.SS("a"), ":ssab": attr.SS("b", "a"), ":ssz": attr.SS("z"),
	":ns1": attr.NS(num("1.0")), ":ns3": attr.NS(num("3"), num("1")), ":bsy": attr.BS([]byte("y")),
	":big": n("12345678901234567890123456789012345678"), ":max": n("9.9999999999999999999999999999999999999E+125"),
	":neg": n("-0.5"), ":tenth": n("0.1"), ":s": attr.S("s"), ":l": attr.L(), ":m": m(), ":n": n("3"), ":a1": attr.S("a1"),
	":a2": attr.S("a2"), ":a3": attr.S("a3"), ":a4": attr.S("a4"),
}

func TestUpdateApply(t *testing.T) {
	for _, tc := range []struct {
		src     string
		want    attr.Item
		updated string
	}{
		// SET.
		{"SET a = :v", with(func(it attr.Item) { it["a"] = attr.S("v") }), "a"},
		{"set a=:v, b = :w", with(func(it attr.Item) { it["a"], it["b"] = attr.S("v"), attr.S("w") }), "a b"},
		{"SET s = :v", with(func(it attr.Item) { it["s"] = attr.S("v") }), "s"},
		{"SET n = n + :one", with(func(it attr.Item) { it["n"] = n("6") }), "n"},
		{"SET n = :one - n", with(func(it attr.Item) { it["n"] = n("-4") }), "n"},
		{"SET n = n - :neg", with(func(it attr.Item) { it["n"] = n("5.5") }), "n"},
		{"SET x = :big + :one", with(func(it attr.Item) { it["x"] = n("12345678901234567890123456789012345679") }), "x"},
		{"SET x = :big - :big", with(func(it attr.Item) { it["x"] = n("0") }), "x"},
		{"SET s = if_not_exists(s, :v)", updItem(), "s"},
		{"SET q = if_not_exists(q, :v)", with(func(it attr.Item) { it["q"] = attr.S("v") }), "q"},
		{"SET q = if_not_exists(s, :v)", with(func(it attr.Item) { it["q"] = attr.S("hi") }), "q"},
		{"SET n = if_not_exists(n, :two) + :one", with(func(it attr.Item) { it["n"] = n("6") }), "n"},
		{"SET c = if_not_exists(c, :two) + :one", with(func(it attr.Item) { it["c"] = n("3") }), "c"},
		{"SET l2 = list_append(:lx, :ly)", with(func(it attr.Item) { it["l2"] = attr.L(attr.S("x"), attr.S("y")) }), "l2"},
		{"SET l = list_append(l, :lx)", with(func(it attr.Item) {
			it["l"] = attr.L(n("2"), n("3"), n("4"), n("5"), n("6"), n("7"), attr.S("x"))
		}), "l"},
		{"SET l = list_append(:lx, l)", with(func(it attr.Item) {
			it["l"] = attr.L(attr.S("x"), n("2"), n("3"), n("4"), n("5"), n("6"), n("7"))
		}), "l"},
		{"SET q = list_append(if_not_exists(q, :l), :lx)", with(func(it attr.Item) { it["q"] = attr.L(attr.S("x")) }), "q"},
		// Values come from the item as it was: a swap works.
		{"SET s = n, n = s", with(func(it attr.Item) { it["s"], it["n"] = n("5"), attr.S("hi") }), "s n"},
		{"REMOVE s SET t = s", with(func(it attr.Item) { delete(it, "s"); it["t"] = attr.S("hi") }), "s t"},
		// Nested SET.
		{"SET m.y.z = :v", with(func(it attr.Item) { it["m"] = m("x", n("1"), "y", m("z", attr.S("v"))) }), "m"},
		{"SET m.q = :v, #m.#y.w = :w", with(func(it attr.Item) {
			it["m"] = m("x", n("1"), "q", attr.S("v"), "y", m("z", attr.S("deep"), "w", attr.S("w")))
		}), "m"},
		{"SET m.x = :m", with(func(it attr.Item) { it["m"] = m("x", m(), "y", m("z", attr.S("deep"))) }), "m"},
		{"SET l[1] = :v", with(func(it attr.Item) {
			it["l"] = attr.L(n("2"), attr.S("v"), n("4"), n("5"), n("6"), n("7"))
		}), "l"},
		{"SET l[99] = :v", with(func(it attr.Item) {
			it["l"] = attr.L(n("2"), n("3"), n("4"), n("5"), n("6"), n("7"), attr.S("v"))
		}), "l"},
		{"SET l[84] = :a1, l[37] = :a2, l[17] = :a3, l[50] = :a4", with(func(it attr.Item) {
			it["l"] = attr.L(n("2"), n("3"), n("4"), n("5"), n("6"), n("7"), attr.S("a3"), attr.S("a2"), attr.S("a4"), attr.S("a1"))
		}), "l"},
		{"SET ll[1].c[0] = :v, ll[0].b = :w", with(func(it attr.Item) {
			it["ll"] = attr.L(m("a", n("1"), "b", attr.S("w")), m("c", attr.L(attr.S("v"), n("4"))))
		}), "ll"},
		{"SET #dot = :v", with(func(it attr.Item) { it["a.b"] = attr.S("v") }), "a.b"},
		// REMOVE, with list elements shifting and indexes meaning positions before the update.
		{"REMOVE s", with(func(it attr.Item) { delete(it, "s") }), "s"},
		{"REMOVE q", updItem(), "q"},
		{"REMOVE l[1], l[2]", with(func(it attr.Item) { it["l"] = attr.L(n("2"), n("5"), n("6"), n("7")) }), "l"},
		{"REMOVE l[2], l[1]", with(func(it attr.Item) { it["l"] = attr.L(n("2"), n("5"), n("6"), n("7")) }), "l"},
		{"REMOVE l[17]", updItem(), "l"},
		{"REMOVE l[1] SET l[3] = :n17", with(func(it attr.Item) { it["l"] = attr.L(n("2"), n("4"), n("17"), n("6"), n("7")) }), "l"},
		{"SET l[3] = :n17 REMOVE l[1]", with(func(it attr.Item) { it["l"] = attr.L(n("2"), n("4"), n("17"), n("6"), n("7")) }), "l"},
		{"REMOVE m.x, m.y.z", with(func(it attr.Item) { it["m"] = m("y", m()) }), "m"},
		{"REMOVE m.q", updItem(), "m"},
		{"REMOVE ll[1].c[0], ll[0].a", with(func(it attr.Item) {
			it["ll"] = attr.L(m("b", n("2")), m("c", attr.L(n("4"))))
		}), "ll"},
		// ADD.
		{"ADD n :one", with(func(it attr.Item) { it["n"] = n("6") }), "n"},
		{"ADD n :neg", with(func(it attr.Item) { it["n"] = n("4.5") }), "n"},
		{"ADD q :one", with(func(it attr.Item) { it["q"] = n("1") }), "q"},
		{"ADD ss :ssc", with(func(it attr.Item) { it["ss"] = attr.SS("a", "b", "c") }), "ss"},
		{"ADD ns :ns3", with(func(it attr.Item) { it["ns"] = attr.NS(num("1"), num("2"), num("3")) }), "ns"},
		{"ADD bs :bsy", with(func(it attr.Item) { it["bs"] = attr.BS([]byte("x"), []byte("y")) }), "bs"},
		{"ADD q :ssc", with(func(it attr.Item) { it["q"] = attr.SS("c", "a") }), "q"},
		{"ADD m.q :one, ll[0].a :two", with(func(it attr.Item) {
			it["m"] = m("x", n("1"), "q", n("1"), "y", m("z", attr.S("deep")))
			it["ll"] = attr.L(m("a", n("3"), "b", n("2")), m("c", attr.L(n("3"), n("4"))))
		}), "m ll"},
		// DELETE; removing the last members removes the attribute.
		{"DELETE ss :ssa", with(func(it attr.Item) { it["ss"] = attr.SS("b") }), "ss"},
		{"DELETE ss :ssz", updItem(), "ss"},
		{"DELETE ss :ssab", with(func(it attr.Item) { delete(it, "ss") }), "ss"},
		{"DELETE ns :ns1", with(func(it attr.Item) { it["ns"] = attr.NS(num("2")) }), "ns"},
		{"DELETE q :ssa", updItem(), "q"},
		// All four clauses, in any order.
		{"DELETE ss :ssa ADD n :one REMOVE s SET a = :v", with(func(it attr.Item) {
			it["ss"], it["n"], it["a"] = attr.SS("b"), n("6"), attr.S("v")
			delete(it, "s")
		}), "ss n s a"},
	} {
		u, err := ParseUpdate(tc.src, testNames, updValues)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		item := updItem()
		got, updated, err := u.Apply(item)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%q:\n got %v\nwant %v", tc.src, got, tc.want)
		}
		if strings.Join(updated, " ") != tc.updated {
			t.Errorf("%q: updated %v, want %s", tc.src, updated, tc.updated)
		}
		if !item.Equal(updItem()) {
			t.Errorf("%q changed its input item", tc.src)
		}
	}
}

func TestUpdateApplyErrors(t *testing.T) {
	const (
		badPath    = "The document path provided in the update expression is invalid for update"
		missing    = "The provided expression refers to an attribute that does not exist in the item"
		badOperand = "An operand in the update expression has an incorrect data type"
	)
	for _, tc := range []struct{ src, want string }{
		{"SET x = q", missing},
		{"SET x = m.q", missing},
		{"SET x = q + :one", missing},
		{"SET x = list_append(q, :lx)", missing},
		{"SET x = :one, y = x", missing},
		{"SET x = s + :one", badOperand},
		{"SET x = :one - l", badOperand},
		{"SET x = list_append(s, :lx)", badOperand},
		{"SET x = list_append(:lx, ss)", badOperand},
		{"SET q.z = :v", badPath},
		{"SET s.z = :v", badPath},
		{"SET l.z = :v", badPath},
		{"SET s[0] = :v", badPath},
		{"SET m[0] = :v", badPath},
		{"SET q[0] = :v", badPath},
		{"SET l[10].z = :v", badPath},
		{"REMOVE q.z", badPath},
		{"REMOVE s.z", badPath},
		{"REMOVE s[0]", badPath},
		{"ADD q.z :one", badPath},
		{"ADD s :one", badOperand},
		{"ADD n :ssa", badOperand},
		{"ADD ss :ns3", badOperand},
		{"ADD l :ssa", badOperand},
		{"DELETE s :ssa", badOperand},
		{"DELETE ss :ns1", badOperand},
		{"SET x = :max + :max", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"SET x = :big + :tenth", "Number overflow. Attempting to store a number with magnitude larger than supported range"}, // inexact, as DynamoDB reports it,
	} {
		u, err := ParseUpdate(tc.src, testNames, updValues)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		item := updItem()
		_, _, err = u.Apply(item)
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.src, tc.want)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
		if !item.Equal(updItem()) {
			t.Errorf("%q changed its input item", tc.src)
		}
	}
}

func TestUpdateMissingItem(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want attr.Item // nil: the item is not created
	}{
		{"REMOVE a", nil},
		{"REMOVE x.y", nil},
		{"REMOVE x[0]", nil},
		{"DELETE s :ssa", nil},
		{"SET a = :v", attr.Item{"a": attr.S("v")}},
		{"ADD c :one", attr.Item{"c": n("1")}},
		{"SET a = if_not_exists(a, :one)", attr.Item{"a": n("1")}},
		{"REMOVE b SET a = :v", attr.Item{"a": attr.S("v")}},
	} {
		u, err := ParseUpdate(tc.src, nil, updValues)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		got, _, err := u.Apply(nil)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if (got == nil) != (tc.want == nil) || got != nil && !got.Equal(tc.want) {
			t.Errorf("%q on no item: %v, want %v", tc.src, got, tc.want)
		}
	}
	for _, src := range []string{"SET x.y = :v", "SET x[0] = :v", "SET a = b"} {
		u, err := ParseUpdate(src, nil, updValues)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := u.Apply(nil); err == nil {
			t.Errorf("%q on no item: no error", src)
		}
	}
	// REMOVE through a missing attribute of an existing item is an error.
	u, _ := ParseUpdate("REMOVE x.y", nil, nil)
	if _, _, err := u.Apply(attr.Item{"a": n("1")}); err == nil {
		t.Error("REMOVE x.y on an item without x: no error")
	}
}

func TestUpdateParseErrors(t *testing.T) {
	const upd = "Invalid UpdateExpression: "
	for _, tc := range []struct{ src, want string }{
		{"", upd + "The expression can not be empty;"},
		{"SET a = :v" + strings.Repeat(" ", MaxExpressionSize), upd + "Expression size has exceeded the maximum allowed size; expression size: 4106"},
		{"SET a = :v SET b = :w", upd + `The "SET" section can only be used once in an update expression;`},
		{"SET a = :v REMOVE c SET b = :w", upd + `The "SET" section can only be used once in an update expression;`},
		{"REMOVE a REMOVE b", upd + `The "REMOVE" section can only be used once in an update expression;`},
		{"ADD a :one ADD b :one", upd + `The "ADD" section can only be used once in an update expression;`},
		{"DELETE a :ssa delete b :ssa", upd + `The "DELETE" section can only be used once in an update expression;`},
		{"SET a = :v REMOVE a", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET a = :v, a = :w", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET #a = :v, a.b = :w", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"SET a[1][1] = :v, a[1] = :w", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1], [1]], path two: [a, [1]]"},
		{"ADD a.b :one DELETE a.b.c :ssa", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, b, c]"},
		{"SET a.b = :v, a[1] = :w", upd + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"},
		{"SET a.b.c = :v, a.b[2] = :w", upd + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b, c], path two: [a, b, [2]]"},
		{"SET status = :v", upd + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"SET a = status", upd + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"SET #x = :v", upd + "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"SET a = :x", upd + "An expression attribute value used in expression is not defined; attribute value: :x"},
		{"SET a = :x, #x = :v", upd + "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"ADD a :v", upd + "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
		{"ADD a :lx", upd + "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"},
		{"ADD a :m", upd + "Incorrect operand type for operator or function; operator: ADD, operand type: MAP"},
		{"DELETE a :one", upd + "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"},
		{"SET a = :v + :one", upd + "Incorrect operand type for operator or function; operator or function: +, operand type: S"},
		{"SET a = :one - :lx", upd + "Incorrect operand type for operator or function; operator or function: -, operand type: L"},
		{"SET a = list_append(:v, :lx)", upd + "Incorrect operand type for operator or function; operator or function: list_append, operand type: S"},
		{"SET a = list_append(:lx)", upd + "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1"},
		{"SET a = list_append(:lx, :lx, :lx)", upd + "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 3"},
		{"SET a = list_append(list_append(:lx, :ly), :lx)", upd + "The function is not allowed to be used this way in an expression; function: list_append"},
		{"SET a = if_not_exists(:v, :w)", upd + "Operator or function requires a document path; operator or function: if_not_exists"},
		{"SET a = if_not_exists(a)", upd + "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
		{"SET a = f(b, c, d)", upd + "Invalid function name; function: f"},
		{"SET a = LIST_APPEND(:lx, :ly)", upd + "Invalid function name; function: LIST_APPEND"},
		{"SET a = size(b)", upd + "The function is not allowed in an update expression; function: size"},
		{"SET a = attribute_exists(b)", upd + "The function is not allowed in an update expression; function: attribute_exists"},
		{"SET a = ((:v))", upd + "The expression has redundant parentheses;"},
		{"SET a" + strings.Repeat(".b", 32) + " = :v", upd + "The document path has too many nesting levels; nesting levels: 33"},
		// Errors in DynamoDB's order.
		{"SET status = :v SET b = :w", upd + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"SET f = g(a) SET b = :w", upd + "Invalid function name; function: g"},
		{"SET a = :v SET a = :w", upd + `The "SET" section can only be used once in an update expression;`},
		{"SET a = :x, a = :v", upd + "An expression attribute value used in expression is not defined; attribute value: :x"},
		{"SET a = :v, a = :v ADD b :v", upd + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"ADD b :v SET a = :v + :one", upd + "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
	} {
		_, err := ParseUpdate(tc.src, testNames, updValues)
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.src, tc.want)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%.50q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestUpdateUsage(t *testing.T) {
	u, err := ParseUpdate("SET #a = if_not_exists(#b, :v) REMOVE c[1] ADD #m.q :one DELETE ss :ssa", testNames, updValues)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.UsedNames(), []string{"#a", "#b", "#m"}) {
		t.Errorf("UsedNames %v", u.UsedNames())
	}
	if !slices.Equal(u.UsedValues(), []string{":one", ":ssa", ":v"}) {
		t.Errorf("UsedValues %v", u.UsedValues())
	}
	if !slices.Equal(u.Attributes(), []string{"a", "c", "m", "ss"}) {
		t.Errorf("Attributes %v", u.Attributes())
	}
	var nilUpdate *Update
	if nilUpdate.UsedNames() != nil || nilUpdate.UsedValues() != nil {
		t.Error("nil Update uses something")
	}
}

// TestUpdateTargets checks UPDATED_OLD and UPDATED_NEW as DynamoDB computes them: the
// written paths projected from the item before and after.
func TestUpdateTargets(t *testing.T) {
	old := attr.Item{"p": attr.S("k"), "a": m("b", attr.S("dog"), "c", attr.L(n("1"), n("2"), n("3"))), "d": attr.S("cat")}
	for _, tc := range []struct {
		src      string
		old, new attr.Item
	}{
		{"SET a.b = :v", attr.Item{"a": m("b", attr.S("dog"))}, attr.Item{"a": m("b", attr.S("v"))}},
		{"SET a.c[1] = :n17", attr.Item{"a": m("c", attr.L(n("2")))}, attr.Item{"a": m("c", attr.L(n("17")))}},
		{"SET a.c[1] = :n17, a.b = :v", attr.Item{"a": m("b", attr.S("dog"), "c", attr.L(n("2")))},
			attr.Item{"a": m("b", attr.S("v"), "c", attr.L(n("17")))}},
		{"SET a.x = :v", attr.Item{}, attr.Item{"a": m("x", attr.S("v"))}},
		{"SET a.c[100] = :v", attr.Item{}, attr.Item{}},
		{"REMOVE a.c[1]", attr.Item{"a": m("c", attr.L(n("2")))}, attr.Item{"a": m("c", attr.L(n("3")))}},
		{"REMOVE d SET e = :v", attr.Item{"d": attr.S("cat")}, attr.Item{"e": attr.S("v")}},
	} {
		u, err := ParseUpdate(tc.src, nil, updValues)
		if err != nil {
			t.Fatal(err)
		}
		after, _, err := u.Apply(old)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Targets().Apply(old); !got.Equal(tc.old) {
			t.Errorf("%q UPDATED_OLD %v, want %v", tc.src, got, tc.old)
		}
		if got := u.Targets().Apply(after); !got.Equal(tc.new) {
			t.Errorf("%q UPDATED_NEW %v, want %v", tc.src, got, tc.new)
		}
	}
}

func TestUpdateString(t *testing.T) {
	for src, want := range map[string]string{
		"SET a = :v, b = c + :one REMOVE d, l[2] ADD n :one DELETE ss :ssa": "SET a = :v, b = c + :one REMOVE d, l[2] ADD n :one DELETE ss :ssa",
		"set x = if_not_exists(#a.b, :one) - :two, y = list_append(:lx, y)": "SET x = if_not_exists(a.b, :one) - :two, y = list_append(:lx, y)",
		"DELETE ss :ssa SET a = :v":                                         "DELETE ss :ssa SET a = :v",
	} {
		u, err := ParseUpdate(src, testNames, updValues)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.String(); got != want {
			t.Errorf("%q: %s", src, got)
		}
	}
	u, err := AttributeUpdates(map[string]AttributeValueUpdate{
		"a": {Value: ptr(attr.S("x"))}, "b": {Action: "DELETE"}, "c": {Action: "ADD", Value: ptr(n("1"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "SET a = {S:x} REMOVE b ADD c {N:1}" {
		t.Errorf("legacy: %s", got)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    attr.Value
		want string
	}{
		{attr.S("a"), "AttributeValue: {S:a}"},
		{n("1.50"), "AttributeValue: {N:1.5}"},
		{bin("hi"), "AttributeValue: {B:aGk=}"},
		{attr.Bool(true), "AttributeValue: {BOOL:true}"},
		{attr.Null(), "AttributeValue: {NULL:true}"},
		{attr.SS("a", "b"), "AttributeValue: {SS:[a, b]}"},
		{attr.NS(num("1"), num("2")), "AttributeValue: {NS:[1, 2]}"},
		{attr.BS([]byte("hi")), "AttributeValue: {BS:[aGk=]}"},
		{attr.L(n("1"), attr.S("x")), "AttributeValue: {L:[AttributeValue: {N:1}, AttributeValue: {S:x}]}"},
		{m("a", n("1")), "AttributeValue: {M:{...}}"},
	} {
		if got := formatValue(tc.v); got != tc.want {
			t.Errorf("formatValue(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	_, err := ParseCondition("a BETWEEN :ss AND :l", nil, Values{":ss": attr.SS("x"), ":l": attr.L()})
	want := "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; " +
		"lower bound operand: AttributeValue: {SS:[x]}, upper bound operand: AttributeValue: {L:[]}"
	if got := validation(t, err); got != want {
		t.Errorf("BETWEEN of a set and a list: %s", got)
	}
}
