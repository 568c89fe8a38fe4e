package attr

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
)

// Kind is the type of an attribute value, one of DynamoDB's ten.
type Kind uint8

// The attribute types. The zero Kind is no type: a Value holding it is invalid.
const (
	KindS    Kind = iota + 1 // string
	KindN                    // number
	KindB                    // binary
	KindSS                   // string set
	KindNS                   // number set
	KindBS                   // binary set
	KindM                    // map
	KindL                    // list
	KindNULL                 // null
	KindBOOL                 // boolean
)

var kindNames = [...]string{
	KindS: "S", KindN: "N", KindB: "B", KindSS: "SS", KindNS: "NS", KindBS: "BS",
	KindM: "M", KindL: "L", KindNULL: "NULL", KindBOOL: "BOOL",
}

// String returns the type's name as DynamoDB writes it ("S", "NS", "BOOL", ...).
func (k Kind) String() string {
	if k >= KindS && k <= KindBOOL {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindFromString returns the Kind DynamoDB names s ("S", "N", ..., "BOOL").
func KindFromString(s string) (Kind, bool) {
	for k := KindS; k <= KindBOOL; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// IsKey reports whether a key attribute may have this type (S, N or B).
func (k Kind) IsKey() bool { return k == KindS || k == KindN || k == KindB }

// IsSet reports whether k is SS, NS or BS.
func (k Kind) IsSet() bool { return k == KindSS || k == KindNS || k == KindBS }

// Value is one attribute value. Kind says which of the other fields holds it; the rest are
// zero. Treat a Value as immutable: it may share slices and maps with other Values (use
// Clone before changing one). Set members are distinct and in no particular order.
type Value struct {
	Kind Kind
	S    string
	N    Number
	B    []byte
	SS   []string
	NS   []Number
	BS   [][]byte
	M    map[string]Value
	L    []Value
	Bool bool
}

// Item is a whole item: attribute names to values.
type Item map[string]Value

// S returns a string value.
func S(s string) Value { return Value{Kind: KindS, S: s} }

// N parses s as a number value (see ParseNumber).
func N(s string) (Value, error) {
	n, err := ParseNumber(s)
	if err != nil {
		return Value{}, err
	}
	return Num(n), nil
}

// MustN is N for constants known to be valid; it panics otherwise.
func MustN(s string) Value { return Num(MustNumber(s)) }

// Num returns a number value.
func Num(n Number) Value { return Value{Kind: KindN, N: n} }

// B returns a binary value holding b (not copied).
func B(b []byte) Value { return Value{Kind: KindB, B: b} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{Kind: KindBOOL, Bool: b} }

// Null returns the null value.
func Null() Value { return Value{Kind: KindNULL} }

// L returns a list of vs (not copied); L() is the empty list.
func L(vs ...Value) Value {
	if vs == nil {
		vs = []Value{}
	}
	return Value{Kind: KindL, L: vs}
}

// M returns a map value holding m (not copied); M(nil) is the empty map.
func M(m map[string]Value) Value {
	if m == nil {
		m = map[string]Value{}
	}
	return Value{Kind: KindM, M: m}
}

// SS returns a string set. Members must be distinct and there must be at least one for the
// value to be valid (see Validate).
func SS(ss ...string) Value { return Value{Kind: KindSS, SS: ss} }

// NS returns a number set, with SS's conditions.
func NS(ns ...Number) Value { return Value{Kind: KindNS, NS: ns} }

// BS returns a binary set, with SS's conditions.
func BS(bs ...[]byte) Value { return Value{Kind: KindBS, BS: bs} }

// Equal reports whether a and b are the same value: same kind and, recursively, the same
// contents. Numbers compare numerically, sets as sets (order does not matter), lists in
// order, maps by key.
func Equal(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindS:
		return a.S == b.S
	case KindN:
		return a.N.Cmp(b.N) == 0
	case KindB:
		return bytes.Equal(a.B, b.B)
	case KindSS:
		return sameMembers(a.SS, b.SS, func(s string) string { return s })
	case KindNS:
		return sameMembers(a.NS, b.NS, Number.String)
	case KindBS:
		return sameMembers(a.BS, b.BS, func(b []byte) string { return string(b) })
	case KindM:
		if len(a.M) != len(b.M) {
			return false
		}
		for k, av := range a.M {
			bv, ok := b.M[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case KindL:
		return slices.EqualFunc(a.L, b.L, Equal)
	case KindBOOL:
		return a.Bool == b.Bool
	}
	return true // NULL, or two invalid values
}

// sameMembers compares two sets as multisets of their keys.
func sameMembers[T any](a, b []T, key func(T) string) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[string]int, len(a))
	for _, x := range a {
		count[key(x)]++
	}
	for _, x := range b {
		k := key(x)
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}

// Equal reports whether two items have the same attributes with Equal values.
func (it Item) Equal(o Item) bool {
	return len(it) == len(o) && Equal(M(it), M(o))
}

// Compare orders two values as DynamoDB's comparison operators and sort keys do: strings
// by their UTF-8 bytes, numbers numerically, binaries bytewise. ok is false when the values
// are of different kinds or of a kind that has no order; DynamoDB then treats the comparison
// as false.
func Compare(a, b Value) (c int, ok bool) {
	if a.Kind != b.Kind {
		return 0, false
	}
	switch a.Kind {
	case KindS:
		return cmpStrings(a.S, b.S), true
	case KindN:
		return a.N.Cmp(b.N), true
	case KindB:
		return bytes.Compare(a.B, b.B), true
	}
	return 0, false
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Clone returns a deep copy of v that shares nothing mutable with it.
func (v Value) Clone() Value {
	c := v
	switch v.Kind {
	case KindB:
		c.B = bytes.Clone(v.B)
	case KindSS:
		c.SS = slices.Clone(v.SS)
	case KindNS:
		c.NS = slices.Clone(v.NS)
	case KindBS:
		c.BS = make([][]byte, len(v.BS))
		for i, b := range v.BS {
			c.BS[i] = bytes.Clone(b)
		}
	case KindM:
		c.M = make(map[string]Value, len(v.M))
		for k, x := range v.M {
			c.M[k] = x.Clone()
		}
	case KindL:
		c.L = make([]Value, len(v.L))
		for i, x := range v.L {
			c.L[i] = x.Clone()
		}
	}
	return c
}

// Clone returns a deep copy of the item.
func (it Item) Clone() Item {
	if it == nil {
		return nil
	}
	c := make(Item, len(it))
	for k, v := range it {
		c[k] = v.Clone()
	}
	return c
}

// sortedKeys returns m's keys in byte order, so that encodings are deterministic.
func sortedKeys(m map[string]Value) []string {
	return slices.Sorted(maps.Keys(m))
}

// appendSortedKeys appends m's keys to keys and sorts them; with a keys of enough capacity
// (from the caller's stack) it does not allocate.
func appendSortedKeys(keys []string, m map[string]Value) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
