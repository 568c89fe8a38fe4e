package expr

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

func TestConditionParsed(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"s = :hello", "(s = :hello)"},
		{"#a.#b[3].c <> :n1", "(a.b[3].c <> :n1)"},
		{"n = :n1 OR n = :n2 AND NOT s = :a", "((n = :n1) OR ((n = :n2) AND (NOT (s = :a))))"},
		{"(n = :n1 OR n = :n2) AND s = :a", "(((n = :n1) OR (n = :n2)) AND (s = :a))"},
		{"n BETWEEN :n1 AND :n2", "(n BETWEEN :n1 AND :n2)"},
		{"n IN (:n1, :n2, s)", "(n IN (:n1, :n2, s))"},
		{"size(l) >= :n2 AND begins_with(s, :hell) AND contains(ss, :a)", "(((size(l) >= :n2) AND begins_with(s, :hell)) AND contains(ss, :a))"},
		{"attribute_type(s, :tS) OR attribute_exists(#m.#y) OR attribute_not_exists(q)", "((attribute_type(s, :tS) OR attribute_exists(m.y)) OR attribute_not_exists(q))"},
		{"#st = :a", "(status = :a)"},
	} {
		c, err := ParseCondition(tc.src, testNames, testValues)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := c.String(); got != tc.want {
			t.Errorf("%q: parsed as %s, want %s", tc.src, got, tc.want)
		}
	}
}

func TestConditionUsage(t *testing.T) {
	c, err := ParseCondition("#a = :n1 OR #b.x = :n2 AND size(l) > :n1 AND attribute_exists(#a)", testNames, testValues)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.UsedNames(); !slices.Equal(got, []string{"#a", "#b"}) {
		t.Errorf("UsedNames %v", got)
	}
	if got := c.UsedValues(); !slices.Equal(got, []string{":n1", ":n2"}) {
		t.Errorf("UsedValues %v", got)
	}
	if got := c.Attributes(); !slices.Equal(got, []string{"a", "b", "l"}) {
		t.Errorf("Attributes %v", got)
	}
	var nilCond *Condition
	if nilCond.UsedNames() != nil || nilCond.UsedValues() != nil {
		t.Error("nil Condition uses something")
	}
}

func TestConditionErrors(t *testing.T) {
	inValues := func(k int) string {
		var vs []string
		for range k {
			vs = append(vs, ":n1")
		}
		return "n IN (" + strings.Join(vs, ",") + ")"
	}
	long := "a = :n1" + strings.Repeat(" ", MaxExpressionSize-6)
	ands := strings.TrimSuffix(strings.Repeat("n = :n1 AND ", 151), " AND ")
	deepPath := "a" + strings.Repeat(".b", 32) + " = :n1"
	const cond = "Invalid ConditionExpression: "
	for _, tc := range []struct{ src, want string }{
		{"", cond + "The expression can not be empty;"},
		{long, cond + "Expression size has exceeded the maximum allowed size; expression size: 4097"},
		{"a = = b", cond + `Syntax error; token: "=", near: "= = b"`},
		{"((a = :n1))", cond + "The expression has redundant parentheses;"},
		{"a = ((:n1))", cond + "The expression has redundant parentheses;"},
		{"a=:n1 AND ((a=:n1 AND b=:n1)) AND c=:n1", cond + "The expression has redundant parentheses;"},
		{"(a)between(((b.c)).d)and(c)", cond + "The expression has redundant parentheses;"},
		{"foo(a)", cond + "Invalid function name; function: foo"},
		{"ATTRIBUTE_EXISTS(a)", cond + "Invalid function name; function: ATTRIBUTE_EXISTS"},
		{"dog(a) = :n1", cond + "Invalid function name; function: dog"},
		{"if_not_exists(a, b) = :n1", cond + "The function is not allowed in a condition expression; function: if_not_exists"},
		{"list_append(a, b) = :n1", cond + "The function is not allowed in a condition expression; function: list_append"},
		{"size(a)", cond + "The function is not allowed to be used this way in an expression; function: size"},
		{"attribute_exists(a) < :n1", cond + "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"size(contains(a, b)) > a", cond + "The function is not allowed to be used this way in an expression; function: contains"},
		{"a BETWEEN b AND attribute_exists(c)", cond + "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"a IN (b, attribute_exists(c))", cond + "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"status = :a", cond + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"a.Size = :a", cond + "Attribute name is a reserved keyword; reserved keyword: Size"},
		{":a < abOrT", cond + "Attribute name is a reserved keyword; reserved keyword: abOrT"},
		{"#x = :a", cond + "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"a = :nope", cond + "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"attribute_exists(a, b)", cond + "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
		{"attribute_type(a)", cond + "Incorrect number of operands for operator or function; operator or function: attribute_type, number of operands: 1"},
		{"begins_with(a, size(b), c)", cond + "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 3"},
		{"contains(a)", cond + "Incorrect number of operands for operator or function; operator or function: contains, number of operands: 1"},
		{"size(a, b) > :n1", cond + "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2"},
		{"attribute_exists(:a)", cond + "Operator or function requires a document path; operator or function: attribute_exists"},
		{"attribute_not_exists(size(:a))", cond + "Operator or function requires a document path; operator or function: attribute_not_exists"},
		{"attribute_type(a, :n1)", cond + "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"attribute_type(a, size(a)) AND b = :n1", cond + "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"attribute_type(a, b)", cond + "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"},
		{"attribute_type(a, :tDOG)", cond + "Invalid attribute type name found; type: DOG, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
		{"begins_with(a, :n1)", cond + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"begins_with(:ss, a)", cond + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: SS"},
		{"begins_with(a, size(a))", cond + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"size(:n1) > a", cond + "Incorrect operand type for operator or function; operator or function: size, operand type: N"},
		{"size(:true) > a", cond + "Incorrect operand type for operator or function; operator or function: size, operand type: BOOL"},
		{"size(size(a)) > :n1", cond + "Incorrect operand type for operator or function; operator or function: size, operand type: N"},
		{"a = a", cond + "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"#a <> a", cond + "The first operand must be distinct from the remaining operands for this operator or function; operator: <>, first operand: [a]"},
		{"contains(a.b[1].c, a.b[1].c)", cond + "The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a, b, [1], c]"},
		{"a BETWEEN :n1 AND :hello", cond + "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:hello}"},
		{"a BETWEEN :n5 AND :n1", cond + "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"},
		{inValues(100), cond + "The IN operator is provided with too many operands; number of operands: 101"},
		{ands, cond + "The expression contains too many operators; operator count: 301"},
		{deepPath, cond + "The document path has too many nesting levels; nesting levels: 33"},
		{strings.Repeat("NOT ", 301) + "a = :n1", cond + "The expression has too many nested levels; nesting levels: 301, maximum: 300"},
		// When there are several errors, DynamoDB's order decides which is reported.
		{"a=a and whatever((:x)) > a", cond + "Invalid function name; function: whatever"},
		{"a > whatever((:x), ((a)))", cond + "The expression has redundant parentheses;"},
		{"attribute_exists(views, #a)", cond + "Attribute name is a reserved keyword; reserved keyword: views"},
		{"status = :nope", cond + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"size(status)", cond + "The function is not allowed to be used this way in an expression; function: size"},
		{"a = a AND #a = b AND :nope > a", cond + "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"attribute_exists(#nope.x, :a) AND a = a", cond + "An expression attribute name used in the document path is not defined; attribute name: #nope"},
		{"begins_with(:nope, #a, #b)", cond + "An expression attribute value used in expression is not defined; attribute value: :nope"},
	} {
		_, err := ParseCondition(tc.src, testNames, testValues)
		if err == nil {
			t.Errorf("%q: no error, want %s", tc.src, tc.want)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%.60q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestConditionLimitsAccepted(t *testing.T) {
	var vs []string
	for range 99 {
		vs = append(vs, ":n1")
	}
	ok := []string{
		"n IN (" + strings.Join(vs, ",") + ")",              // 100 operands
		strings.Repeat("n = :n1 AND ", 149) + "NOT n = :n2", // 300 operators
		"a" + strings.Repeat(".b", 31) + " = :n1",           // 32 elements
		strings.Repeat("NOT ", 299) + "a = :n1",
		"a = :n1" + strings.Repeat(" ", MaxExpressionSize-7), // 4096 bytes
	}
	for _, src := range ok {
		if _, err := ParseCondition(src, testNames, testValues); err != nil {
			t.Errorf("%.40q...: %v", src, err)
		}
	}
}

func TestFilterLabel(t *testing.T) {
	_, err := ParseFilter("", nil, nil)
	if got := validation(t, err); got != "Invalid FilterExpression: The expression can not be empty;" {
		t.Errorf("empty filter: %s", got)
	}
	_, err = ParseFilter("a-b", nil, nil)
	if got := validation(t, err); got != `Invalid FilterExpression: Syntax error; token: "-", near: "a-b"` {
		t.Errorf("filter syntax error: %s", got)
	}
	f, err := ParseFilter("#a = :n1", testNames, testValues)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.Eval(attr.Item{"a": n("1")}); !ok {
		t.Error("filter does not match")
	}
}

func TestReservedWords(t *testing.T) {
	if len(reservedWords) != 573 {
		t.Errorf("%d reserved words, DynamoDB documents 573", len(reservedWords))
	}
	for _, w := range []string{"status", "STATUS", "Name", "size", "data", "ttl", "ZONE", "abort"} {
		if !IsReserved(w) {
			t.Errorf("%s is not reserved", w)
		}
	}
	for _, w := range []string{"remove", "pk", "sk", "id2", "statuses"} {
		if IsReserved(w) {
			t.Errorf("%s is reserved", w)
		}
	}
	// Every reserved word is rejected as a bare attribute name, and accepted through #name.
	for w := range reservedWords {
		lower := strings.ToLower(w)
		src := "x." + lower + " = :a"
		_, err := ParseCondition(src, nil, Values{":a": attr.S("a")})
		want := "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: " + lower
		switch lower {
		case "and", "or", "not", "between", "in": // keywords of the grammar: syntax errors
			want = fmt.Sprintf(`Invalid ConditionExpression: Syntax error; token: "%s", near: ".%s ="`, lower, lower)
		}
		if err == nil || validation(t, err) != want {
			t.Errorf("%q: %v, want %s", src, err, want)
		}
		if _, err := ParseCondition("x.#w = :a", Names{"#w": lower}, Values{":a": attr.S("a")}); err != nil {
			t.Errorf("#w for %s: %v", lower, err)
		}
	}
}

func TestConditionEval(t *testing.T) {
	item := testItem()
	for _, tc := range []struct {
		src  string
		want bool
	}{
		// Comparators on strings, numbers, binaries.
		{"s = :hello", true}, {"s <> :hello", false}, {"s < :hello", false}, {"s <= :hello", true},
		{"s > :hell", true}, {"s >= :hello", true}, {"s < :dog", false}, {":dog > s", false},
		{"n = :n5", true}, {"n < :n6", true}, {"n > :n4", true}, {"n <= :n4", false}, {"n >= :n5", true},
		{"b > :b", true}, {"b < :b", false},
		{"big = :big", true},
		// Different types: comparisons are false, <> true.
		{"n = :hello", false}, {"n <> :hello", true}, {"n < :hello", false}, {"n >= :hello", false},
		{"ss < :ss", false},
		// Missing attributes: false, <> true, even between two missing ones.
		{"q = :n5", false}, {"q <> :n5", true}, {"q < :n5", false}, {"q = z", false}, {"q <> z", true},
		{"m.q = :n5", false}, {"l[9] = :n5", false}, {"s[0] = :n5", false},
		// Equality of every type; sets in any order.
		{"ss = :ss", true}, {"ns = :ns", false}, {"l[3] = :m", true}, {"l[3].x = :n1", true},
		{"t = :true", true}, {"nul = :null", true}, {"m.y.m = :n3", true}, {"m.x = :n2", true},
		{"s = n", false}, {"s <> n", true},
		// BETWEEN.
		{"n BETWEEN :n4 AND :n6", true}, {"n BETWEEN :n5 AND :n5", true}, {"n BETWEEN :n6 AND :n8", false},
		{"s BETWEEN :n4 AND :n6", false}, {"q BETWEEN :n4 AND :n6", false}, {"n BETWEEN q AND :n6", false},
		{"s BETWEEN :dog AND :hello", true},
		// IN.
		{"n IN (:hello, :n5)", true}, {"n IN (:n4)", false}, {"q IN (:n5)", false}, {"n IN (q, :n5)", true},
		// Functions.
		{"attribute_exists(m.y.m)", true}, {"attribute_exists(m.y.z)", false}, {"attribute_exists(l[3].x)", true},
		{"attribute_exists(l[9])", false}, {"attribute_exists(s[0])", false}, {"attribute_exists(s.x)", false},
		{"attribute_not_exists(q)", true}, {"attribute_not_exists(s)", false}, {"attribute_exists(#dot)", true},
		{"attribute_exists(#a.#b)", false},
		{"attribute_type(s, :tS)", true}, {"attribute_type(n, :tN)", true}, {"attribute_type(b, :tB)", true},
		{"attribute_type(ss, :tSS)", true}, {"attribute_type(ns, :tNS)", true}, {"attribute_type(bs, :tBS)", true},
		{"attribute_type(m, :tM)", true}, {"attribute_type(l, :tL)", true}, {"attribute_type(nul, :tNULL)", true},
		{"attribute_type(t, :tBOOL)", true}, {"attribute_type(n, :tS)", false}, {"attribute_type(q, :tS)", false},
		{"attribute_type(:n1, :tN)", true},
		{"begins_with(s, :hell)", true}, {"begins_with(s, :dog)", false}, {"begins_with(s, :empty)", true},
		{"begins_with(b, :b)", true}, {"begins_with(b, :hell)", false}, {"begins_with(n, :hell)", false},
		{"begins_with(:hello, s)", true}, {"begins_with(q, :hell)", false},
		{"contains(s, :ell)", true}, {"contains(s, :dog)", false}, {"contains(b, :bhere)", true},
		{"contains(ss, :a)", true}, {"contains(ss, :x)", false}, {"contains(ns, :n2)", true}, {"contains(ns, :n1dot0)", true},
		{"contains(ns, :a)", false}, {"contains(bs, :bx)", true}, {"contains(l, :dog)", true},
		{"contains(l, :n7)", true}, {"contains(l, :n5)", false}, {"contains(l, :m)", true}, {"contains(n, :n5)", false},
		{"contains(q, :a)", false}, {"contains(s, n)", false},
		// size: UTF-16 code units for strings, bytes, members.
		{"size(s) = :n5", true}, {"size(e) = :n3", true}, {"size(b) = :n8", true}, {"size(ss) = :n2", true},
		{"size(l) = :n4", true}, {"size(m) = :n2", true}, {"size(m.y) = :n1", true}, {"size(l[3]) = :n1", true},
		{"size(n) = :n1", false}, {"size(t) = :n1", false}, {"size(nul) = :n1", false}, {"size(q) = :n0", false},
		{"size(s) > :n4", true}, {"size(s) = :hello", false}, {"size(ss) < size(s)", true}, {"size(:hello) = :n5", true},
		// Logic and precedence.
		{"n = :n4 OR n = :n5 AND s = :hello", true},
		{"(n = :n4 OR n = :n5) AND s = :dog", false},
		{"n = :n4 OR n = :n5 AND s = :dog", false},
		{"NOT n = :n4", true}, {"NOT n = :n4 AND s = :dog", false}, {"NOT (n = :n5 OR s = :dog)", false},
		{"NOT NOT n = :n5", true}, {"NOT contains(q, :a)", true},
		{"#st = :a OR #st <> :a", true},
	} {
		c, err := ParseCondition(tc.src, testNames, testValues)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got, err := c.Eval(item); err != nil || got != tc.want {
			t.Errorf("%q = %v (%v), want %v", tc.src, got, err, tc.want)
		}
	}
}

func TestConditionEvalMissingItem(t *testing.T) {
	for src, want := range map[string]bool{
		"attribute_not_exists(a)": true,
		"attribute_exists(a)":     false,
		"a = :n1":                 false,
		"a <> :n1":                true,
		"NOT begins_with(a, :a)":  true,
	} {
		c, err := ParseCondition(src, nil, testValues)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Eval(nil); got != want {
			t.Errorf("%q on no item = %v, want %v", src, got, want)
		}
	}
}

func TestConditionConcurrent(t *testing.T) {
	c, err := ParseCondition("size(l) > :n1 AND contains(ss, :a) OR n BETWEEN :n4 AND :n6", testNames, testValues)
	if err != nil {
		t.Fatal(err)
	}
	item := testItem()
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				r, _ := c.Eval(item)
				ok = ok && r
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("evaluation differed across goroutines")
		}
	}
}
