package attr

import (
	"fmt"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// Bounds of DynamoDB's Number type: at most MaxDigits significant digits, and a magnitude
// from 1E-130 to 9.9999999999999999999999999999999999999E+125 (adjusted exponents -130 to
// 125), positive or negative, or zero.
const (
	MaxDigits      = 38
	MaxExponent    = 125  // largest adjusted exponent (the exponent of the first digit)
	MinExponent    = -130 // smallest adjusted exponent
	exponentOffset = -MinExponent
)

// Number is a DynamoDB number: an exact decimal of up to 38 significant digits within
// DynamoDB's range. The zero value is 0. A Number is immutable; its methods return new
// Numbers.
//
// Every Number is held normalised (no trailing zeros in the coefficient, zero without a
// sign), so numerically equal Numbers have identical representations, strings and
// encodings.
type Number struct {
	d apd.Decimal
}

// ParseNumber parses a number as DynamoDB accepts it: an optional sign, digits with an
// optional decimal point (".5" and "5." are numbers), and an optional exponent ("1e3",
// "1E+3", "1e-3"). Leading and trailing zeros are not significant. NaN, infinities, spaces
// and hexadecimal are rejected. Errors are *Error values with DynamoDB's messages.
func ParseNumber(s string) (Number, error) {
	if s == "" {
		return Number{}, Validation("%s", msgNumberEmpty)
	}
	bad := func() (Number, error) {
		return Number{}, Validation("%s: %s", msgNumberEmpty, s)
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i++
	}
	var coef []byte // mantissa digits without leading zeros
	var exp int64   // value = coef × 10^exp
	mantissa := 0   // mantissa digits seen, zeros included
	for ; i < len(s) && isDigit(s[i]); i++ {
		mantissa++
		if len(coef) > 0 || s[i] != '0' {
			coef = append(coef, s[i])
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && isDigit(s[i]); i++ {
			mantissa++
			exp--
			if len(coef) > 0 || s[i] != '0' {
				coef = append(coef, s[i])
			}
		}
	}
	if mantissa == 0 {
		return bad()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		start := i
		var e int64
		for ; i < len(s) && isDigit(s[i]); i++ {
			if e < 1e15 { // saturate: anything this large is out of range either way
				e = e*10 + int64(s[i]-'0')
			}
		}
		if i == start {
			return bad()
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return bad()
	}
	for len(coef) > 0 && coef[len(coef)-1] == '0' {
		coef = coef[:len(coef)-1]
		exp++
	}
	if len(coef) == 0 {
		return Number{}, nil
	}
	if err := checkRange(exp+int64(len(coef))-1, len(coef)); err != nil {
		return Number{}, err
	}
	var n Number
	if _, ok := n.d.Coeff.SetString(string(coef), 10); !ok {
		return bad()
	}
	n.d.Exponent = int32(exp)
	n.d.Negative = neg
	return n, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkRange reports whether a non-zero number with the given adjusted exponent and count of
// significant digits fits DynamoDB's Number, in the order DynamoDB checks.
func checkRange(adjusted int64, digits int) *Error {
	switch {
	case adjusted > MaxExponent:
		return Validation("%s", msgNumberOverflow)
	case adjusted < MinExponent:
		return Validation("%s", msgNumberUnderflow)
	case digits > MaxDigits:
		return Validation("%s", msgNumberDigits)
	}
	return nil
}

// MustNumber is ParseNumber for constants known to be valid; it panics otherwise.
func MustNumber(s string) Number {
	n, err := ParseNumber(s)
	if err != nil {
		panic(fmt.Sprintf("attr.MustNumber(%q): %v", s, err))
	}
	return n
}

// NumberFromInt64 returns i as a Number; every int64 fits.
func NumberFromInt64(i int64) Number {
	var d apd.Decimal
	d.SetInt64(i)
	n, _ := NumberFromDecimal(&d)
	return n
}

// NumberFromDecimal returns d as a Number, or the error DynamoDB reports when d is not
// finite, is out of range or has more than 38 significant digits.
func NumberFromDecimal(d *apd.Decimal) (Number, error) {
	if d.Form != apd.Finite {
		return Number{}, Validation("%s: %s", msgNumberEmpty, d.String())
	}
	var n Number
	n.d.Reduce(d)
	if n.d.Coeff.Sign() == 0 {
		return Number{}, nil
	}
	digits := n.d.NumDigits()
	if err := checkRange(int64(n.d.Exponent)+digits-1, int(digits)); err != nil {
		return Number{}, err
	}
	return n, nil
}

// Decimal returns a copy of n as an apd.Decimal, for arithmetic this package does not offer.
func (n Number) Decimal() *apd.Decimal { return new(apd.Decimal).Set(&n.d) }

// String returns the form DynamoDB returns numbers in: plain decimal notation without an
// exponent, without leading zeros or trailing fractional zeros, "-" for negatives, "0" for
// zero ("1.50" → "1.5", "0010" → "10", "1e3" → "1000", "1E-3" → "0.001", "-0" → "0").
func (n Number) String() string {
	if n.d.Coeff.Sign() == 0 {
		return "0"
	}
	digits := n.d.Coeff.String()
	exp := int(n.d.Exponent)
	var b strings.Builder
	if n.d.Negative {
		b.WriteByte('-')
	}
	switch point := len(digits) + exp; {
	case exp >= 0:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", exp))
	case point > 0:
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(digits)
	}
	return b.String()
}

// Digits returns the number of significant digits (0 for zero).
func (n Number) Digits() int {
	if n.d.Coeff.Sign() == 0 {
		return 0
	}
	return int(n.d.NumDigits())
}

// Cmp compares numerically: -1 if n < o, 0 if equal, +1 if n > o.
func (n Number) Cmp(o Number) int { return n.d.Cmp(&o.d) }

// Sign returns -1, 0 or +1.
func (n Number) Sign() int { return n.d.Sign() }

// IsZero reports whether n is 0.
func (n Number) IsZero() bool { return n.d.Coeff.Sign() == 0 }

// Neg returns -n.
func (n Number) Neg() Number {
	if n.IsZero() {
		return n
	}
	var r Number
	r.d.Neg(&n.d)
	return r
}

// Int64 returns n as an int64, or an error when n is not an integer or does not fit.
func (n Number) Int64() (int64, error) { return n.d.Int64() }

// Add returns n + o exactly, or the ValidationException DynamoDB reports when the sum needs
// more than 38 significant digits or leaves the range. DynamoDB reports a sum that cannot be
// held exactly ("1e50 + 1") as a number overflow, whatever its magnitude; so does Add.
func (n Number) Add(o Number) (Number, error) { return n.arith(o, false) }

// Sub returns n - o exactly, with Add's errors.
func (n Number) Sub(o Number) (Number, error) { return n.arith(o, true) }

func (n Number) arith(o Number, subtract bool) (Number, error) {
	ctx := apd.Context{
		Precision:   MaxDigits,
		MaxExponent: apd.MaxExponent,
		MinExponent: apd.MinExponent,
		Rounding:    apd.RoundHalfEven,
	}
	var r apd.Decimal
	var cond apd.Condition
	var err error
	if subtract {
		cond, err = ctx.Sub(&r, &n.d, &o.d)
	} else {
		cond, err = ctx.Add(&r, &n.d, &o.d)
	}
	if err != nil || cond.Inexact() {
		return Number{}, Validation("%s", msgNumberOverflow)
	}
	return NumberFromDecimal(&r)
}
