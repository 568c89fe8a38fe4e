package expr

import (
	"fmt"
	"slices"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// describe renders a key condition for comparison.
func describe(k *KeyCondition) string {
	s := fmt.Sprintf("%s=%s", k.PartitionKey, valueText(k.Partition))
	if k.Sort != nil {
		var vs []string
		for _, v := range k.Sort.Values {
			vs = append(vs, valueText(v))
		}
		s += fmt.Sprintf(" %s %s %v", k.Sort.Key, k.Sort.Operator, vs)
	}
	return s
}

func TestParseKeyCondition(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"pk = :a", "pk=a"},
		{":a = pk", "pk=a"},
		{"pk = :a AND sk = :x", "pk=a sk EQ [x]"},
		{"pk = :a AND sk < :x", "pk=a sk LT [x]"},
		{"pk = :a AND sk <= :x", "pk=a sk LE [x]"},
		{"pk = :a AND sk > :x", "pk=a sk GT [x]"},
		{"pk = :a AND sk >= :x", "pk=a sk GE [x]"},
		{"pk = :a AND :x < sk", "pk=a sk GT [x]"},
		{"pk = :a AND :x >= sk", "pk=a sk LE [x]"},
		{"pk = :a AND sk BETWEEN :a AND :x", "pk=a sk BETWEEN [a x]"},
		{"pk = :a AND begins_with(sk, :hell)", "pk=a sk BEGINS_WITH [hell]"},
		{"sk > :x AND pk = :a", "pk=a sk GT [x]"},
		{"(pk = :a) AND (sk > :x)", "pk=a sk GT [x]"},
		{"#p = :a and #s = :x", "pk=a sk EQ [x]"},
	} {
		var names Names
		if tc.src[0] == '#' {
			names = Names{"#p": "pk", "#s": "sk"}
		}
		k, err := ParseKeyCondition(tc.src, names, testValues, "pk", "sk")
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := describe(k); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.src, got, tc.want)
		}
	}
}

func TestKeyConditionErrors(t *testing.T) {
	for _, tc := range []struct{ src, sk, want string }{
		{"", "sk", "Invalid KeyConditionExpression: The expression can not be empty;"},
		{"pk = ", "sk", `Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "= "`},
		{"pk = :a b", "sk", `Invalid KeyConditionExpression: Syntax error; token: "b", near: ":a b"`},
		{"pk = :nope", "sk", "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"attribute_type(pk, :n1)", "sk", "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"pk = :a AND sk BETWEEN :x AND :a", "sk", "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:x}, upper bound operand: AttributeValue: {S:a}"},
		{"pk = :a AND begins_with(sk, :n1)", "sk", "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"pk = :a OR sk = :x", "sk", "Invalid operator used in KeyConditionExpression: OR"},
		{"a > b and size(b) > c or a > c", "sk", "Invalid operator used in KeyConditionExpression: OR"},
		{"pk IN (:a, :x)", "sk", "Invalid operator used in KeyConditionExpression: IN"},
		{"attribute_exists(pk)", "sk", "Invalid operator used in KeyConditionExpression: attribute_exists"},
		{"attribute_not_exists(pk)", "sk", "Invalid operator used in KeyConditionExpression: attribute_not_exists"},
		{"attribute_type(pk, :tS)", "sk", "Invalid operator used in KeyConditionExpression: attribute_type"},
		{"contains(a.d, b)", "sk", "Invalid operator used in KeyConditionExpression: contains"},
		{"NOT pk = :a", "sk", "Invalid operator used in KeyConditionExpression: NOT"},
		{"pk <> :a", "sk", "Invalid operator used in KeyConditionExpression: <>"},
		{":a BETWEEN size(b) AND size(a) AND b > :x", "sk", "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"},
		{"begins_with(:a, b) AND a > :x", "sk", "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"},
		{"size(b) > a AND a.b > b AND b > c", "sk", "KeyConditionExpressions cannot contain nested operations"},
		{"a > size(b.d)", "sk", "KeyConditionExpressions cannot contain nested operations"},
		{"a BETWEEN size(b) AND size(a)", "sk", "KeyConditionExpressions cannot contain nested operations"},
		{"b > a.b", "sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{"b BETWEEN c[1] AND d", "sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{"begins_with(a, b)", "sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{"b.d > :a AND c.d > e.f", "sk", "KeyConditionExpressions cannot have conditions on nested attributes"},
		{"b[0] > :a", "sk", "KeyConditionExpressions cannot have conditions on nested attributes"},
		{":x > :a AND pk < :x", "sk", "Invalid condition in KeyConditionExpression: No key attribute specified"},
		{"sk > :a AND sk < :x AND pk = :a", "sk", "KeyConditionExpressions must only contain one condition per key"},
		{"(pk = :a AND sk > :a) AND (sk > :a)", "sk", "KeyConditionExpressions must only contain one condition per key"},
		{"pk = :a AND sk = :a AND c = :a", "sk", "Conditions can be of length 1 or 2 only"},
		{"sk = :a", "sk", "Query condition missed key schema element: pk"},
		{"pk = :a AND foo = :x", "sk", "Query condition missed key schema element: sk"},
		{"pk = :a AND sk = :x", "", "Query key condition not supported"},
		{"pk > :a", "sk", "Query key condition not supported"},
		{"begins_with(pk, :a)", "sk", "Query key condition not supported"},
		{"pk BETWEEN :a AND :x", "", "Query key condition not supported"},
	} {
		_, err := ParseKeyCondition(tc.src, nil, testValues, "pk", tc.sk)
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.src, tc.want)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestKeyConditionUsage(t *testing.T) {
	k, err := ParseKeyCondition("#p = :a AND begins_with(#s, :hell)", Names{"#p": "pk", "#s": "sk"}, testValues, "pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(k.UsedNames(), []string{"#p", "#s"}) || !slices.Equal(k.UsedValues(), []string{":a", ":hell"}) {
		t.Errorf("used %v %v", k.UsedNames(), k.UsedValues())
	}
	var nilKey *KeyCondition
	if nilKey.UsedNames() != nil || nilKey.UsedValues() != nil {
		t.Error("nil KeyCondition uses something")
	}
}

func TestKeyConditionMatchAndRange(t *testing.T) {
	sk := func(v attr.Value) attr.Item { return attr.Item{"pk": attr.S("a"), "sk": v} }
	for _, tc := range []struct {
		src        string
		start, end string // "" unbounded; "[x" inclusive, "(x" exclusive
		match      []attr.Value
		miss       []attr.Value
	}{
		{"pk = :a", "", "", []attr.Value{attr.S("x"), n("1")}, nil},
		{"pk = :a AND sk = :x", "[x", "[x", []attr.Value{attr.S("x")}, []attr.Value{attr.S("y"), n("1")}},
		{"pk = :a AND sk < :x", "", "(x", []attr.Value{attr.S("a")}, []attr.Value{attr.S("x"), attr.S("y")}},
		{"pk = :a AND sk <= :x", "", "[x", []attr.Value{attr.S("x")}, []attr.Value{attr.S("y")}},
		{"pk = :a AND sk > :x", "(x", "", []attr.Value{attr.S("y")}, []attr.Value{attr.S("x")}},
		{"pk = :a AND sk >= :x", "[x", "", []attr.Value{attr.S("x")}, []attr.Value{attr.S("w")}},
		{"pk = :a AND sk BETWEEN :a AND :x", "[a", "[x", []attr.Value{attr.S("a"), attr.S("m"), attr.S("x")}, []attr.Value{attr.S("y")}},
		{"pk = :a AND begins_with(sk, :hell)", "[hell", "(helm", []attr.Value{attr.S("hell"), attr.S("hello")}, []attr.Value{attr.S("help"), attr.S("hel"), bin("hell")}},
		{"pk = :a AND begins_with(sk, :b)", "[hi", "(hj", []attr.Value{bin("hi"), bin("hip")}, []attr.Value{attr.S("hi"), bin("h")}},
	} {
		k, err := ParseKeyCondition(tc.src, nil, testValues, "pk", "sk")
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		r := k.SortRange()
		bound := func(b *Bound, open string) string {
			if b == nil {
				return ""
			}
			if b.Inclusive {
				open = "["
			}
			return open + valueText(b.Value)
		}
		if tc.src == "pk = :a AND begins_with(sk, :b)" { // binary bounds render as base64
			if r.Start == nil || string(r.Start.Value.B) != "hi" || r.End == nil || string(r.End.Value.B) != "hj" || r.End.Inclusive {
				t.Errorf("%q: range %+v", tc.src, r)
			}
		} else if got := bound(r.Start, "("); got != tc.start {
			t.Errorf("%q: start %q, want %q", tc.src, got, tc.start)
		} else if got := bound(r.End, "("); got != tc.end {
			t.Errorf("%q: end %q, want %q", tc.src, got, tc.end)
		}
		for _, v := range tc.match {
			if !k.Match(sk(v)) {
				t.Errorf("%q does not match sk %v", tc.src, v)
			}
		}
		for _, v := range tc.miss {
			if k.Match(sk(v)) {
				t.Errorf("%q matches sk %v", tc.src, v)
			}
		}
		if k.Match(attr.Item{"pk": attr.S("b"), "sk": attr.S("x")}) || k.Match(attr.Item{}) {
			t.Errorf("%q matches another partition", tc.src)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a", "b", true}, {"ab", "ac", true}, {"a\xff", "b", true}, {"a\xff\xff", "b", true},
		{"\xff", "", false}, {"", "", false},
	} {
		got, ok := prefixEnd([]byte(tc.in))
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("prefixEnd(%q) = %q, %v", tc.in, got, ok)
		}
	}
}

func TestKeyConditionCheckTypes(t *testing.T) {
	k, err := ParseKeyCondition("pk = :a AND sk BETWEEN :n1 AND :n2", nil, testValues, "pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.CheckTypes(attr.KindS, attr.KindN); err != nil {
		t.Errorf("matching types: %v", err)
	}
	for _, types := range [][2]attr.Kind{{attr.KindN, attr.KindN}, {attr.KindS, attr.KindS}} {
		err := k.CheckTypes(types[0], types[1])
		if got := validation(t, err); got != "One or more parameter values were invalid: Condition parameter type does not match schema type" {
			t.Errorf("%v: %s", types, got)
		}
	}
}
