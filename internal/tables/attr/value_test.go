package attr

import (
	"errors"
	"strings"
	"testing"
)

func TestKindString(t *testing.T) {
	want := []string{"", "S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
	for k := KindS; k <= KindBOOL; k++ {
		if k.String() != want[k] {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k, want[k])
		}
		if back, ok := KindFromString(want[k]); !ok || back != k {
			t.Errorf("KindFromString(%q) = %v, %v", want[k], back, ok)
		}
	}
	if Kind(0).String() != "Kind(0)" || Kind(42).String() != "Kind(42)" {
		t.Errorf("invalid kinds print as %q, %q", Kind(0), Kind(42))
	}
	if _, ok := KindFromString("s"); ok {
		t.Error(`KindFromString("s") succeeded; type names are case-sensitive`)
	}
	for k := Kind(0); k <= KindBOOL+1; k++ {
		if k.IsKey() != (k == KindS || k == KindN || k == KindB) || k.IsSet() != (k == KindSS || k == KindNS || k == KindBS) {
			t.Errorf("%v: IsKey %v IsSet %v", k, k.IsKey(), k.IsSet())
		}
	}
}

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		kind Kind
	}{
		{S("x"), KindS}, {MustN("1"), KindN}, {B([]byte("x")), KindB}, {Bool(true), KindBOOL},
		{Null(), KindNULL}, {L(), KindL}, {M(nil), KindM}, {SS("a"), KindSS},
		{NS(MustNumber("1")), KindNS}, {BS([]byte("a")), KindBS}, {Num(MustNumber("2")), KindN},
	} {
		if tc.v.Kind != tc.kind {
			t.Errorf("constructor for %v made %v", tc.kind, tc.v.Kind)
		}
	}
	if L().L == nil || M(nil).M == nil {
		t.Error("L() and M(nil) must be empty, not nil, so they marshal as [] and {}")
	}
	if _, err := N("x"); err == nil {
		t.Error(`N("x") succeeded`)
	}
	if v, err := N("1.50"); err != nil || v.N.String() != "1.5" {
		t.Errorf(`N("1.50") = %v, %v`, v, err)
	}
}

func TestEqual(t *testing.T) {
	n := MustNumber
	for _, tc := range []struct {
		a, b Value
		want bool
	}{
		{S("a"), S("a"), true},
		{S("a"), S("b"), false},
		{S("1"), MustN("1"), false},
		{MustN("1.0"), MustN("1"), true},
		{MustN("-0"), MustN("0"), true},
		{B([]byte{1}), B([]byte{1}), true},
		{B(nil), B([]byte{}), true},
		{B([]byte{1}), BS([]byte{1}), false},
		{SS("a", "b", "c"), SS("c", "a", "b"), true},
		{SS("a", "b"), SS("a", "b", "c"), false},
		{SS("a", "b"), SS("a", "c"), false},
		{SS("a", "a", "b"), SS("a", "b", "b"), false},
		{NS(n("1"), n("2.50")), NS(n("2.5"), n("1.0")), true},
		{NS(n("1"), n("2")), NS(n("1"), n("3")), false},
		{BS([]byte("x"), []byte("y")), BS([]byte("y"), []byte("x")), true},
		{BS([]byte("x")), BS([]byte("X")), false},
		{L(S("a"), S("b")), L(S("a"), S("b")), true},
		{L(S("a"), S("b")), L(S("b"), S("a")), false},
		{L(), L(), true},
		{L(), M(nil), false},
		{M(map[string]Value{"a": MustN("1"), "b": L(Null())}), M(map[string]Value{"b": L(Null()), "a": MustN("1.0")}), true},
		{M(map[string]Value{"a": S("x")}), M(map[string]Value{"b": S("x")}), false},
		{M(map[string]Value{"a": S("x")}), M(map[string]Value{"a": S("x"), "b": S("x")}), false},
		{Null(), Null(), true},
		{Bool(true), Bool(true), true},
		{Bool(true), Bool(false), false},
		{Bool(false), Null(), false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", js(tc.a), js(tc.b), got, tc.want)
		}
		if got := Equal(tc.b, tc.a); got != tc.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", js(tc.b), js(tc.a), got, tc.want)
		}
	}
	a := Item{"k": S("v"), "n": MustN("1")}
	if !a.Equal(Item{"n": MustN("1.0"), "k": S("v")}) || a.Equal(Item{"k": S("v")}) || !Item(nil).Equal(Item{}) {
		t.Error("Item.Equal")
	}
}

// js renders a value for test messages.
func js(v Value) string {
	b, err := v.MarshalJSON()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b Value
		want int
		ok   bool
	}{
		{S("a"), S("b"), -1, true},
		{S("b"), S("a"), 1, true},
		{S("a"), S("a"), 0, true},
		{S("a"), S("ab"), -1, true},
		{S(""), S("a"), -1, true},
		{S("Z"), S("a"), -1, true},         // bytes, not collation
		{S("é"), S("z"), 1, true},          // UTF-8 bytes: 0xC3 > 'z'
		{S("\uffff"), S("😀"), -1, true},    // UTF-8 order, not UTF-16 order
		{MustN("10"), MustN("9"), 1, true}, // numerically, not as strings
		{MustN("-10"), MustN("-9"), -1, true},
		{MustN("1.0"), MustN("1"), 0, true},
		{MustN("1e-130"), MustN("-1e125"), 1, true},
		{B([]byte{0x00}), B([]byte{0xff}), -1, true},
		{B([]byte{0x01}), B([]byte{0x01, 0x00}), -1, true},
		{B([]byte{0x80}), B([]byte{0x7f}), 1, true}, // unsigned bytes
		{S("1"), MustN("1"), 0, false},
		{S("a"), B([]byte("a")), 0, false},
		{Bool(false), Bool(true), 0, false},
		{SS("a"), SS("b"), 0, false},
		{Null(), Null(), 0, false},
		{L(), L(), 0, false},
	} {
		got, ok := Compare(tc.a, tc.b)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Compare(%s, %s) = %d, %v; want %d, %v", js(tc.a), js(tc.b), got, ok, tc.want, tc.ok)
		}
	}
}

func TestClone(t *testing.T) {
	orig := M(map[string]Value{
		"b":  B([]byte("bin")),
		"ss": SS("a", "b"),
		"ns": NS(MustNumber("1")),
		"bs": BS([]byte("x")),
		"l":  L(M(map[string]Value{"deep": B([]byte("d"))})),
	})
	c := orig.Clone()
	if !Equal(orig, c) {
		t.Fatal("clone differs")
	}
	c.M["b"].B[0] = 'X'
	c.M["ss"].SS[0] = "z"
	c.M["ns"].NS[0] = MustNumber("9")
	c.M["bs"].BS[0][0] = 'Y'
	c.M["l"].L[0].M["deep"].B[0] = 'D'
	c.M["new"] = Null()
	if got := js(orig); got != `{"M":{"b":{"B":"Ymlu"},"bs":{"BS":["eA=="]},"l":{"L":[{"M":{"deep":{"B":"ZA=="}}}]},"ns":{"NS":["1"]},"ss":{"SS":["a","b"]}}}` {
		t.Errorf("changing the clone changed the original: %s", got)
	}
	it := Item{"a": L(S("x"))}
	ic := it.Clone()
	ic["a"].L[0] = S("y")
	if it["a"].L[0].S != "x" || Item(nil).Clone() != nil {
		t.Error("Item.Clone")
	}
}

func TestSize(t *testing.T) {
	// The rules of "Item sizes and formats" (DynamoDB developer guide), applied to examples.
	for _, tc := range []struct {
		v    Value
		want int
	}{
		{S(""), 0},
		{S("abc"), 3},
		{S("é"), 2}, // UTF-8 bytes
		{S("😀"), 4}, // UTF-8 bytes
		{B([]byte{1, 2, 3}), 3},
		{MustN("0"), 1},
		{MustN("7"), 2},
		{MustN("12"), 2},
		{MustN("123"), 3},
		{MustN("12345"), 4},
		{MustN("-12345"), 4},
		{MustN("100"), 2},   // trailing zeros trimmed: 1 significant digit
		{MustN("0.001"), 2}, // leading zeros trimmed
		{MustN("1.5"), 2},
		{MustN(digits38), 20},
		{Null(), 1},
		{Bool(false), 1},
		{SS("a", "bc"), 3},
		{NS(MustNumber("1"), MustNumber("12345")), 2 + 4},
		{BS([]byte{1}, []byte{1, 2}), 3},
		{L(), 3},
		{M(nil), 3},
		{L(S("a"), S("bc")), 3 + (1 + 1) + (2 + 1)},
		{M(map[string]Value{"ab": S("c")}), 3 + (2 + 1 + 1)},
		{L(L(Null())), 3 + (3 + (1 + 1) + 1)},
		{Value{}, 0},
	} {
		if got := tc.v.Size(); got != tc.want {
			t.Errorf("Size(%s) = %d, want %d", js(tc.v), got, tc.want)
		}
	}
	it := Item{
		"id":     S("user-1"),  // 2 + 6
		"age":    MustN("42"),  // 3 + 2
		"active": Bool(true),   // 6 + 1
		"tags":   SS("a", "b"), // 4 + 2
		"addr": M(map[string]Value{ // 4 + 3 + (4 + 5 + 1)
			"city": S("Paris"),
		}),
	}
	if got, want := it.Size(), 8+5+7+6+17; got != want {
		t.Errorf("item size = %d, want %d", got, want)
	}
}

func TestItemSizeLimit(t *testing.T) {
	// A name of 1 byte and a string of ItemSizeLimit-1 bytes is exactly at the limit.
	at := Item{"a": S(strings.Repeat("x", ItemSizeLimit-1))}
	if at.Size() != ItemSizeLimit {
		t.Fatalf("size = %d", at.Size())
	}
	if err := at.CheckSize(); err != nil {
		t.Errorf("item of exactly %d bytes refused: %v", ItemSizeLimit, err)
	}
	over := Item{"ab": S(strings.Repeat("x", ItemSizeLimit-1))}
	wantError(t, over.CheckSize(), TypeValidation, "Item size has exceeded the maximum allowed size")
}

func TestCheckKey(t *testing.T) {
	ok := []struct {
		v    Value
		kind Kind
		sort bool
	}{
		{S("a"), KindS, false},
		{S(strings.Repeat("x", 2048)), KindS, false},
		{S(strings.Repeat("x", 1024)), KindS, true},
		{B(make([]byte, 2048)), KindB, false},
		{B(make([]byte, 1024)), KindB, true},
		{MustN("0"), KindN, false},
		{MustN("-" + maxN), KindN, true},
	}
	for _, tc := range ok {
		if err := CheckKey("pk", tc.kind, tc.v, tc.sort); err != nil {
			t.Errorf("CheckKey(%v, sort=%v) = %v", tc.kind, tc.sort, err)
		}
	}
	for _, tc := range []struct {
		v    Value
		kind Kind
		sort bool
		msg  string
	}{
		{MustN("1"), KindS, false, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"},
		{M(nil), KindS, true, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: M"},
		{S(""), KindS, false, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{B(nil), KindB, true, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: pk"},
		{S(strings.Repeat("x", 2049)), KindS, false, "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{B(make([]byte, 2049)), KindB, false, "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{S(strings.Repeat("é", 513)), KindS, true, "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"},
	} {
		wantError(t, CheckKey("pk", tc.kind, tc.v, tc.sort), TypeValidation, tc.msg)
	}
}

func TestValidate(t *testing.T) {
	deep := S("leaf")
	for range MaxDepth - 1 {
		deep = L(deep)
	}
	if err := deep.Validate(); err != nil {
		t.Errorf("leaf at level %d refused: %v", MaxDepth, err)
	}
	good := []Value{
		S(""), MustN("1"), B(nil), SS(""), SS("a", "b"), NS(MustNumber("1"), MustNumber("2")),
		BS([]byte{}, []byte{0}), Null(), Bool(false), L(), M(nil), deep,
	}
	for _, v := range good {
		if err := v.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", js(v), err)
		}
	}
	for _, tc := range []struct {
		v   Value
		msg string
	}{
		{Value{}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{SS(), "One or more parameter values were invalid: An string set  may not be empty"},
		{NS(), "One or more parameter values were invalid: An number set  may not be empty"},
		{BS(), "One or more parameter values were invalid: Binary sets should not be empty"},
		{SS("a", "a"), "One or more parameter values were invalid: Input collection [a, a] contains duplicates."},
		{NS(MustNumber("1"), MustNumber("1.0")), "Input collection contains duplicates"},
		{BS([]byte("b"), []byte("b")), "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates."},
		{L(deep), "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"},
		{M(map[string]Value{"a": L(SS())}), "One or more parameter values were invalid: An string set  may not be empty"},
	} {
		wantError(t, tc.v.Validate(), TypeValidation, tc.msg)
	}
	wantError(t, Item{"a": S("x"), "b": SS()}.Validate(), TypeValidation, "One or more parameter values were invalid: An string set  may not be empty")
	if err := (Item{"a": deep}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestErrorType(t *testing.T) {
	err := Validation("bad %s", "thing")
	if err.Error() != "ValidationException: bad thing" {
		t.Errorf("Error() = %q", err.Error())
	}
	var e *Error
	if !errors.As(error(err), &e) || e.Type != TypeValidation || e.Message != "bad thing" {
		t.Errorf("%+v", e)
	}
}
