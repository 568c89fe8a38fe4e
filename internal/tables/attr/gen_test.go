package attr

import (
	"fmt"
	"strings"

	"pgregory.net/rapid"
)

// Generators for the property tests.

// numberString draws a valid DynamoDB number as a decimal string: up to 38 significant
// digits, any adjusted exponent from -130 to 125, either sign, written in varied notations
// (plain, with a point, with an exponent, with leading and trailing zeros), or zero.
func numberString() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		if rapid.IntRange(0, 15).Draw(t, "zero?") == 0 {
			return rapid.SampledFrom([]string{"0", "-0", "+0", "0.000", "0e7", "-0.0E-3", "000"}).Draw(t, "zero")
		}
		n := rapid.IntRange(1, MaxDigits).Draw(t, "digits")
		d := []byte{byte('1' + rapid.IntRange(0, 8).Draw(t, "first"))}
		for i := 1; i < n; i++ {
			d = append(d, byte('0'+rapid.IntRange(0, 9).Draw(t, "digit")))
		}
		// Keep the exponent near zero often, so plain notations come up.
		adj := rapid.OneOf(rapid.IntRange(-5, 5), rapid.IntRange(MinExponent, MaxExponent)).Draw(t, "adjusted")
		sign := rapid.SampledFrom([]string{"", "-", "+"}).Draw(t, "sign")
		digits := string(d)
		switch rapid.IntRange(0, 2).Draw(t, "notation") {
		case 0: // d.ddd e adj
			pad := strings.Repeat("0", rapid.IntRange(0, 2).Draw(t, "pad"))
			return sign + digits[:1] + "." + digits[1:] + pad + "e" + fmt.Sprint(adj)
		case 1: // ddd e (adj-n+1), with padding zeros
			lead := strings.Repeat("0", rapid.IntRange(0, 3).Draw(t, "lead"))
			trail := rapid.IntRange(0, 3).Draw(t, "trail")
			return sign + lead + digits + strings.Repeat("0", trail) + "E" + fmt.Sprint(adj-n+1-trail)
		default: // the canonical plain form
			return sign + MustNumber(digits+"e"+fmt.Sprint(adj-n+1)).String()
		}
	})
}

func number() *rapid.Generator[Number] {
	return rapid.Custom(func(t *rapid.T) Number {
		return MustNumber(numberString().Draw(t, "number"))
	})
}

// nearNumber draws a number close to n, so that orderings are tested where encodings share
// long prefixes: one more digit, a changed last digit, the exponent moved by one, the sign
// flipped, or a tiny step.
func nearNumber(t *rapid.T, n Number) Number {
	s := n.d.Coeff.String()
	exp := int(n.d.Exponent)
	sign := ""
	if n.d.Negative {
		sign = "-"
	}
	var cand string
	switch rapid.IntRange(0, 4).Draw(t, "near") {
	case 0:
		if len(s) < MaxDigits {
			cand = sign + s + fmt.Sprint(rapid.IntRange(1, 9).Draw(t, "extra")) + "e" + fmt.Sprint(exp-1)
		}
	case 1:
		last := rapid.IntRange(0, 9).Draw(t, "last")
		cand = sign + s[:len(s)-1] + fmt.Sprint(last) + "e" + fmt.Sprint(exp)
	case 2:
		cand = sign + s + "e" + fmt.Sprint(exp+rapid.SampledFrom([]int{-1, 1}).Draw(t, "step"))
	case 3:
		return n.Neg()
	default:
		step := MustNumber("1e" + fmt.Sprint(rapid.IntRange(MinExponent, MaxExponent).Draw(t, "tiny")))
		if r, err := n.Add(step); err == nil {
			return r
		}
	}
	if m, err := ParseNumber(cand); err == nil {
		return m
	}
	return n
}

// keyBytes draws byte strings rich in the bytes the escaping treats specially.
func keyBytes() *rapid.Generator[[]byte] {
	return rapid.OneOf(
		rapid.SliceOf(rapid.Byte()),
		rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x01, 0x02, 0xFE, 0xFF, 'a'}), 0, 8),
	)
}

func keyValue(kind Kind) *rapid.Generator[Value] {
	switch kind {
	case KindS:
		return rapid.Custom(func(t *rapid.T) Value {
			return S(rapid.OneOf(rapid.String(), rapid.Map(keyBytes(), func(b []byte) string { return string(b) })).Draw(t, "s"))
		})
	case KindN:
		return rapid.Map(number(), Num)
	}
	return rapid.Map(keyBytes(), B)
}

// value draws any valid attribute value, nesting at most depth levels.
func value(depth int) *rapid.Generator[Value] {
	return rapid.Custom(func(t *rapid.T) Value {
		kinds := []Kind{KindS, KindN, KindB, KindSS, KindNS, KindBS, KindNULL, KindBOOL}
		if depth > 1 {
			kinds = append(kinds, KindM, KindL)
		}
		switch k := rapid.SampledFrom(kinds).Draw(t, "kind"); k {
		case KindS:
			return S(rapid.String().Draw(t, "s"))
		case KindN:
			return Num(number().Draw(t, "n"))
		case KindB:
			return B(rapid.SliceOf(rapid.Byte()).Draw(t, "b"))
		case KindSS:
			return SS(rapid.SliceOfNDistinct(rapid.String(), 1, 5, rapid.ID).Draw(t, "ss")...)
		case KindNS:
			return NS(rapid.SliceOfNDistinct(number(), 1, 5, Number.String).Draw(t, "ns")...)
		case KindBS:
			return BS(rapid.SliceOfNDistinct(rapid.SliceOf(rapid.Byte()), 1, 5, func(b []byte) string { return string(b) }).Draw(t, "bs")...)
		case KindNULL:
			return Null()
		case KindBOOL:
			return Bool(rapid.Bool().Draw(t, "bool"))
		case KindM:
			return M(rapid.MapOfN(rapid.String(), value(depth-1), 0, 4).Draw(t, "m"))
		default:
			return L(rapid.SliceOfN(value(depth-1), 0, 4).Draw(t, "l")...)
		}
	})
}

func item() *rapid.Generator[Item] {
	return rapid.Map(rapid.MapOfN(rapid.String(), value(4), 0, 6), func(m map[string]Value) Item { return Item(m) })
}
