package expr

import (
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	toks := lex(" a_1 #n1 :v_2 12 ( ) [ ] , . = <> < <= > >= + - ü _ # : ")
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := "a_1|#n1|:v_2|12|(|)|[|]|,|.|=|<>|<|<=|>|>=|+|-|ü|_|#|:|<EOF>"
	if strings.Join(got, "|") != want {
		t.Fatalf("tokens %q, want %q", strings.Join(got, "|"), want)
	}
	kinds := []tokKind{tIdent, tName, tValue, tNumber, tLParen, tRParen, tLBracket, tRBracket, tComma, tDot,
		tEq, tNe, tLt, tLe, tGt, tGe, tPlus, tMinus, tOther, tOther, tOther, tOther, tEOF}
	for i, k := range kinds {
		if toks[i].kind != k {
			t.Errorf("token %d %q: kind %d, want %d", i, toks[i].text, toks[i].kind, k)
		}
	}
	// Identifiers start with a letter; digits then letters are two tokens.
	toks = lex("123abc")
	if toks[0].kind != tNumber || toks[1].kind != tIdent || toks[1].text != "abc" {
		t.Errorf("123abc lexed as %+v", toks)
	}
}

func TestNear(t *testing.T) {
	for _, tc := range []struct {
		src  string
		tok  int
		want string
	}{
		{"a-b", 1, "a-b"},
		{"foo", 1, "foo"},
		{"SET _123 = :v", 1, "SET _123"},
		{"SET MyStr = my Num", 4, "my Num"},
		{"ADD hits : incr", 2, "hits : incr"},
		{"a = = b", 2, "= = b"},
		{"x", 0, "x"},
	} {
		if got := near(tc.src, lex(tc.src), tc.tok); got != tc.want {
			t.Errorf("near(%q, %d) = %q, want %q", tc.src, tc.tok, got, tc.want)
		}
	}
}

// parseCond parses a condition into its syntax tree, returning the tree's rendering or the
// syntax error's message.
func parseCond(src string) string {
	p := newParser(src, "ConditionExpression", modeCondition)
	var tree *pnode
	if err := p.run(func() { tree = p.parseConditionTree() }); err != nil {
		return err.Message
	}
	return tree.String()
}

func TestConditionGrammar(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// Every comparator.
		{"a = :v", "(a = :v)"},
		{"a <> :v", "(a <> :v)"},
		{"a < :v", "(a < :v)"},
		{"a <= :v", "(a <= :v)"},
		{"a > :v", "(a > :v)"},
		{"a >= :v", "(a >= :v)"},
		{"a=:v", "(a = :v)"},
		{":v = a", "(:v = a)"},
		{"a = b", "(a = b)"},
		// Precedence: NOT > AND > OR; AND and OR associate to the left.
		{"a = :v OR b = :v AND c = :v", "((a = :v) OR ((b = :v) AND (c = :v)))"},
		{"a = :v AND b = :v OR c = :v", "(((a = :v) AND (b = :v)) OR (c = :v))"},
		{"NOT a = :v AND b = :v", "((NOT (a = :v)) AND (b = :v))"},
		{"NOT a = :v OR NOT b = :v", "((NOT (a = :v)) OR (NOT (b = :v)))"},
		{"NOT NOT NOT NOT a < b", "(NOT (NOT (NOT (NOT (a < b)))))"},
		{"a = :v AND b = :v AND c = :v", "(((a = :v) AND (b = :v)) AND (c = :v))"},
		{"a = :v OR b = :v OR c = :v", "(((a = :v) OR (b = :v)) OR (c = :v))"},
		// Parentheses.
		{"(a = :v OR b = :v) AND c = :v", "(((a = :v) OR (b = :v)) AND (c = :v))"},
		{"NOT (a = :v OR b = :v)", "(NOT ((a = :v) OR (b = :v)))"},
		{"(a < b OR b < a) AND (b < c AND (a < b OR b < c))", "(((a < b) OR (b < a)) AND ((b < c) AND ((a < b) OR (b < c))))"},
		{"(a) = (:v)", "(a = :v)"},
		{"(a)between(b.c[45].#d)and(:a)", "(a BETWEEN b.c[45].#d AND :a)"},
		{"(a.b).c[1] = :v", "(a.b.c[1] = :v)"},
		// Keywords in any case.
		{"a = :v and b = :v Or not c = :v", "(((a = :v) AND (b = :v)) OR (NOT (c = :v)))"},
		// BETWEEN and IN.
		{"a BETWEEN :lo AND :hi", "(a BETWEEN :lo AND :hi)"},
		{"b BETWEEN a AND c AND a < b", "((b BETWEEN a AND c) AND (a < b))"},
		{"a IN (:x)", "(a IN (:x))"},
		{"a in (:x, :y, b, size(c))", "(a IN (:x, :y, b, size(c)))"},
		// Functions.
		{"attribute_exists(a)", "attribute_exists(a)"},
		{"attribute_exists (a)", "attribute_exists(a)"},
		{"attribute_not_exists(#n.b)", "attribute_not_exists(#n.b)"},
		{"attribute_type(a, :t)", "attribute_type(a, :t)"},
		{"begins_with(a, :s)", "begins_with(a, :s)"},
		{"contains(a, b)", "contains(a, b)"},
		{"size(a) > :n", "(size(a) > :n)"},
		{":n < size(a.b[2])", "(:n < size(a.b[2]))"},
		{"size(a)", "size(a)"},               // rejected later: size is not a condition
		{"whatever(a, b)", "whatever(a, b)"}, // rejected later: no such function
		{"NOT contains(a, :v)", "(NOT contains(a, :v))"},
		// Paths.
		{"a.b[3].c = :v", "(a.b[3].c = :v)"},
		{"#a.#b[0][1].c = :v", "(#a.#b[0][1].c = :v)"},
		{"a [ 1 ] . b = :v", "(a[1].b = :v)"},
		{"#1 = :_", "(#1 = :_)"},
		// Syntax errors, with DynamoDB's token and near text.
		{"a = = b", `Invalid ConditionExpression: Syntax error; token: "=", near: "= = b"`},
		{"foo", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "foo"`},
		{"a-b", `Invalid ConditionExpression: Syntax error; token: "-", near: "a-b"`},
		{"a = :v b", `Invalid ConditionExpression: Syntax error; token: "b", near: ":v b"`},
		{"a > 4", `Invalid ConditionExpression: Syntax error; token: "4", near: "> 4"`},
		{"a IN ()", `Invalid ConditionExpression: Syntax error; token: ")", near: "()"`},
		{"a AND b = c", `Invalid ConditionExpression: Syntax error; token: "AND", near: "a AND b"`},
		{"(a = b) = c", `Invalid ConditionExpression: Syntax error; token: "=", near: ") = c"`},
		{"a = (b = c)", `Invalid ConditionExpression: Syntax error; token: "=", near: "b = c"`},
		{"a = b = c", `Invalid ConditionExpression: Syntax error; token: "=", near: "b = c"`},
		{"a BETWEEN :a :b", `Invalid ConditionExpression: Syntax error; token: ":b", near: ":a :b"`},
		{"b[:a] > a", `Invalid ConditionExpression: Syntax error; token: ":a", near: "[:a]"`},
		{"b[#_] > a", `Invalid ConditionExpression: Syntax error; token: "#_", near: "[#_]"`},
		{"ü > a", `Invalid ConditionExpression: Syntax error; token: "ü", near: "ü >"`},
		{"size(a).b > a", `Invalid ConditionExpression: Syntax error; token: ".", near: ").b"`},
		{"(size(a))[0] > a", `Invalid ConditionExpression: Syntax error; token: "[", near: ")[0"`},
		{"a > :things.stuff", `Invalid ConditionExpression: Syntax error; token: ".", near: ":things.stuff"`},
		{"#$.b > a", `Invalid ConditionExpression: Syntax error; token: "#", near: "#$"`},
		{"a = and", `Invalid ConditionExpression: Syntax error; token: "and", near: "= and"`},
		{"a.in = :v", `Invalid ConditionExpression: Syntax error; token: "in", near: ".in ="`},
		{"NOT a", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "a"`},
		{"(a)", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ")"`},
		{"a = :v,", `Invalid ConditionExpression: Syntax error; token: ",", near: ":v,"`},
		{"_a = :v", `Invalid ConditionExpression: Syntax error; token: "_", near: "_a"`},
		{"a[99999999999999999999] = :v", `Invalid ConditionExpression: Syntax error; token: "99999999999999999999", near: "[99999999999999999999]"`},
		{"  ", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ""`},
	} {
		if got := parseCond(tc.src); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestNestingBounded(t *testing.T) {
	deep := strings.Repeat("(", 2000) + "a = :v" + strings.Repeat(")", 2000)
	got := parseCond(deep)
	if !strings.Contains(got, "too many nested levels") {
		t.Errorf("deep parentheses: %s", got)
	}
	nots := strings.Repeat("NOT ", 1000) + "a = :v"
	if got := parseCond(nots); !strings.Contains(got, "too many nested levels") {
		t.Errorf("deep NOT: %s", got)
	}
	calls := strings.Repeat("size(", 1000) + "a" + strings.Repeat(")", 1000) + " > :v"
	if got := parseCond(calls); !strings.Contains(got, "too many nested levels") {
		t.Errorf("deep calls: %s", got)
	}
}

// parseUpd parses an update expression into its clauses, rendered, or its syntax error.
func parseUpd(src string) string {
	p := newParser(src, "UpdateExpression", modeUpdate)
	var clauses []pclause
	if err := p.run(func() { clauses = p.parseUpdateTree() }); err != nil {
		return err.Message
	}
	var parts []string
	for _, c := range clauses {
		var actions []string
		for _, a := range c.actions {
			s := a.path.String()
			switch c.keyword {
			case "SET":
				s += " = " + a.value.String()
			case "ADD", "DELETE":
				s += " " + a.value.String()
			}
			actions = append(actions, s)
		}
		parts = append(parts, c.keyword+" "+strings.Join(actions, ", "))
	}
	return strings.Join(parts, " ")
}

func TestUpdateGrammar(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"SET a = :v", "SET a = :v"},
		{"set a=:v, b.c[1] = :w", "SET a = :v, b.c[1] = :w"},
		{"SET a = b + :n, c = :n - d", "SET a = (b + :n), c = (:n - d)"},
		{"SET a = if_not_exists(a, :z) + :one", "SET a = (if_not_exists(a, :z) + :one)"},
		{"SET l = list_append(l, :x)", "SET l = list_append(l, :x)"},
		{"SET a = (b + :c)", "SET a = (b + :c)"},
		{"SET a = (b) + (:c)", "SET a = (b + :c)"},
		{"REMOVE a, l[2], m.k", "REMOVE a, l[2], m.k"},
		{"ADD n :num, s :set", "ADD n :num, s :set"},
		{"DELETE s :sub", "DELETE s :sub"},
		{"SET a = :v REMOVE b ADD c :n DELETE d :s", "SET a = :v REMOVE b ADD c :n DELETE d :s"},
		{"REMOVE a SET b = a", "REMOVE a SET b = a"},
		{"SET a = :v SET b = :w", "SET a = :v SET b = :w"}, // rejected later: SET twice
		{"SET and = :v", "SET and = :v"},                   // rejected later: reserved word
		// Syntax errors.
		{"SET a = :v1 + :v2 + :v3", `Invalid UpdateExpression: Syntax error; token: "+", near: ":v2 + :v3"`},
		{"SET c = if_not_exists(c, :v1+:v2)", `Invalid UpdateExpression: Syntax error; token: "+", near: ":v1+:v2"`},
		{"SET _123 = :v", `Invalid UpdateExpression: Syntax error; token: "_", near: "SET _123"`},
		{"SET MyStr = my Num", `Invalid UpdateExpression: Syntax error; token: "Num", near: "my Num"`},
		{"ADD hits : incr", `Invalid UpdateExpression: Syntax error; token: ":", near: "hits : incr"`},
		{"ADD a b", `Invalid UpdateExpression: Syntax error; token: "b", near: "a b"`},
		{"HELLO b = :v", `Invalid UpdateExpression: Syntax error; token: "HELLO", near: "HELLO b"`},
		{"SET :a = :b", `Invalid UpdateExpression: Syntax error; token: ":a", near: "SET :a ="`},
		{"SET a[:x] = :v", `Invalid UpdateExpression: Syntax error; token: ":x", near: "[:x]"`},
		{"SET a = :v, REMOVE b", `Invalid UpdateExpression: Syntax error; token: "REMOVE", near: ", REMOVE b"`},
		{"SET a = :v b = :w", `Invalid UpdateExpression: Syntax error; token: "b", near: ":v b ="`},
		{"SET a = _f(b)", `Invalid UpdateExpression: Syntax error; token: "_", near: "= _f"`},
		{"REMOVE", `Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "REMOVE"`},
		{"SET a", `Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "a"`},
		{"SET a = b AND c", `Invalid UpdateExpression: Syntax error; token: "AND", near: "b AND c"`},
	} {
		if got := parseUpd(tc.src); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestProjectionGrammar(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a", "a"},
		{" a  ,   b  ", "a|b"},
		{"a.b[0], #n.c, d[1][2]", "a.b[0]|#n.c|d[1][2]"},
		{"and", "and"}, // rejected later: reserved word
		{"a,", `Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ","`},
		{",a", `Invalid ProjectionExpression: Syntax error; token: ",", near: ",a"`},
		{"a,,b", `Invalid ProjectionExpression: Syntax error; token: ",", near: ",,b"`},
		{"(a1)", `Invalid ProjectionExpression: Syntax error; token: "(", near: "(a1"`},
		{"a b", `Invalid ProjectionExpression: Syntax error; token: "b", near: "a b"`},
	} {
		p := newParser(tc.src, "ProjectionExpression", modeProjection)
		var paths []*pnode
		got := ""
		if err := p.run(func() { paths = p.parseProjectionTree() }); err != nil {
			got = err.Message
		} else {
			var parts []string
			for _, n := range paths {
				parts = append(parts, n.String())
			}
			got = strings.Join(parts, "|")
		}
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}
