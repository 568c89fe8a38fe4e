package attr

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
)

// wantError checks that err is an *Error of the given type and message.
func wantError(t *testing.T, err error, typ, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error %s %q", err, err, typ, msg)
	}
	if e.Type != typ || e.Message != msg {
		t.Fatalf("error = %s %q\n                 want %s %q", e.Type, e.Message, typ, msg)
	}
}

var (
	digits38 = "12345678901234567890123456789012345678"
	digits39 = "123456789012345678901234567890123456789"
	maxN     = "9.9999999999999999999999999999999999999E+125"
)

func TestParseNumberAccepts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"+0", "0"},
		{"0.000", "0"},
		{"0e1000", "0"},
		{"-0.0e-999999999999999999999", "0"},
		{"+5", "5"},
		{"-5", "-5"},
		{".5", "0.5"},
		{"-.5", "-0.5"},
		{"5.", "5"},
		{"1.50", "1.5"},
		{"0010", "10"},
		{"00042", "42"},
		{"1.0", "1"},
		{"3.1400", "3.14"},
		{"1e3", "1000"},
		{"1E3", "1000"},
		{"1e+5", "100000"},
		{"1.5E2", "150"},
		{"-17.4E37", "-174" + strings.Repeat("0", 36)},
		{"1E-3", "0.001"},
		{"123.456e-2", "1.23456"},
		{"0001.23", "1.23"},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"-1E-130", "-0." + strings.Repeat("0", 129) + "1"},
		{"1e125", "1" + strings.Repeat("0", 125)},
		{maxN, strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{"-" + maxN, "-" + strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{digits38, digits38},
		{"-0." + digits38, "-0." + digits38},
		{"1.00000000000000007629769841092E+50", "100000000000000007629769841092" + strings.Repeat("0", 21)},
		// Trailing zeros are not significant: 39 digits of which 38 count.
		{digits38 + "0", digits38 + "0"},
		{"1" + strings.Repeat("0", 100), "1" + strings.Repeat("0", 100)},
		{"0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001"},
		{"10e-131", "0." + strings.Repeat("0", 129) + "1"},
	} {
		n, err := ParseNumber(tc.in)
		if err != nil {
			t.Errorf("ParseNumber(%q): %v", tc.in, err)
			continue
		}
		if got := n.String(); got != tc.want {
			t.Errorf("ParseNumber(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		// The canonical form parses back to the same number.
		if back, err := ParseNumber(n.String()); err != nil || back.Cmp(n) != 0 || back.String() != n.String() {
			t.Errorf("ParseNumber(%q) does not round-trip: %v %v", n.String(), back, err)
		}
	}
}

func TestParseNumberRejects(t *testing.T) {
	const (
		overflow  = "Number overflow. Attempting to store a number with magnitude larger than supported range"
		underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
		tooLong   = "Attempting to store more than 38 significant digits in a Number"
		notNumber = "The parameter cannot be converted to a numeric value"
	)
	for _, tc := range []struct{ in, msg string }{
		{"", notNumber},
		{"abc", notNumber + ": abc"},
		{"dog", notNumber + ": dog"},
		{"-dog", notNumber + ": -dog"},
		{"NaN", notNumber + ": NaN"},
		{"Infinity", notNumber + ": Infinity"},
		{"-Infinity", notNumber + ": -Infinity"},
		{"inf", notNumber + ": inf"},
		{" 1", notNumber + ":  1"},
		{"1 ", notNumber + ": 1 "},
		{"+", notNumber + ": +"},
		{"-", notNumber + ": -"},
		{".", notNumber + ": ."},
		{"-.", notNumber + ": -."},
		{"e5", notNumber + ": e5"},
		{".e5", notNumber + ": .e5"},
		{"1e", notNumber + ": 1e"},
		{"1e+", notNumber + ": 1e+"},
		{"1e5.5", notNumber + ": 1e5.5"},
		{"1.2.3", notNumber + ": 1.2.3"},
		{"0x10", notNumber + ": 0x10"},
		{"1_000", notNumber + ": 1_000"},
		{"++1", notNumber + ": ++1"},
		{"1,5", notNumber + ": 1,5"},
		{"١", notNumber + ": ١"}, // an Arabic-Indic digit
		{digits39, tooLong},
		{"-1.23456789012345678901234567890123456789", tooLong},
		{"1e126", overflow},
		{"1E+126", overflow},
		{"-1e126", overflow},
		{"11e125", overflow},
		{"10" + maxN[1:], overflow}, // 99.99…E+125
		{"1e999999999999999999999", overflow},
		{"1E-131", underflow},
		{"-1e-131", underflow},
		{"0.9e-130", underflow},
		{"1e-999999999999999999999", underflow},
		// Range is checked before precision, as DynamoDB does.
		{digits39 + "e200", overflow},
	} {
		_, err := ParseNumber(tc.in)
		if err == nil {
			t.Errorf("ParseNumber(%q) succeeded, want %q", tc.in, tc.msg)
			continue
		}
		wantError(t, err, TypeValidation, tc.msg)
	}
}

func TestNumberArithmetic(t *testing.T) {
	add := func(a, b string) (string, error) {
		r, err := MustNumber(a).Add(MustNumber(b))
		return r.String(), err
	}
	sub := func(a, b string) (string, error) {
		r, err := MustNumber(a).Sub(MustNumber(b))
		return r.String(), err
	}
	for _, tc := range []struct {
		op   func(a, b string) (string, error)
		name string
		a, b string
		want string
	}{
		{add, "+", "0.1", "0.2", "0.3"},
		{add, "+", "1", "10000000000000000000000", "10000000000000000000001"},
		{sub, "-", "10000000000000000000000", "1", "9999999999999999999999"},
		{add, "+", "99999999999999999999999999999999999998", "1", "99999999999999999999999999999999999999"},
		{add, "+", "99999999999999999999999999999999999999", "1", "1" + strings.Repeat("0", 38)},
		{add, "+", "0.00000000000000000000000000000000000001", "0.99999999999999999999999999999999999999", "1"},
		{add, "+", "1.5", "-1.5", "0"},
		{sub, "-", "-0.5", "-0.5", "0"},
		{add, "+", "1e125", "-1e125", "0"},
		{add, "+", "1E-130", "1E-130", "0." + strings.Repeat("0", 129) + "2"},
		{sub, "-", "3", "5", "-2"},
		{add, "+", "1" + strings.Repeat("0", 37), "0.5e0", ""}, // 39 digits: not exact
	} {
		got, err := tc.op(tc.a, tc.b)
		if tc.want == "" {
			wantError(t, err, TypeValidation, "Number overflow. Attempting to store a number with magnitude larger than supported range")
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %s %s = %q, %v; want %q", tc.a, tc.name, tc.b, got, err, tc.want)
		}
	}

	const overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range"
	for _, tc := range []struct {
		sub  bool
		a, b string
	}{
		{false, "9e125", "9e125"},
		{true, "9e125", "-9e125"},
		{false, "-9e125", "-9e125"},
		{false, maxN, "1e88"},
		{false, "1e50", "1"}, // exact result needs 51 digits; DynamoDB calls it an overflow
		{true, "1e50", "1"},
		{false, "1e125", "1e-130"},
	} {
		var err error
		if tc.sub {
			_, err = MustNumber(tc.a).Sub(MustNumber(tc.b))
		} else {
			_, err = MustNumber(tc.a).Add(MustNumber(tc.b))
		}
		wantError(t, err, TypeValidation, overflow)
	}
	_, err := MustNumber("1.1e-130").Sub(MustNumber("1e-130"))
	wantError(t, err, TypeValidation, "Number underflow. Attempting to store a number with magnitude smaller than supported range")
}

func TestNumberMethods(t *testing.T) {
	n := MustNumber("-12.5")
	if n.Sign() != -1 || n.IsZero() || n.Digits() != 3 || n.Neg().String() != "12.5" {
		t.Errorf("-12.5: sign %d zero %v digits %d neg %s", n.Sign(), n.IsZero(), n.Digits(), n.Neg())
	}
	var zero Number
	if !zero.IsZero() || zero.Sign() != 0 || zero.String() != "0" || zero.Digits() != 0 || zero.Neg().String() != "0" {
		t.Errorf("zero Number misbehaves: %s", zero)
	}
	if MustNumber("0").Cmp(zero) != 0 || MustNumber("-0").Cmp(zero) != 0 {
		t.Error("0 and -0 differ from the zero Number")
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"2", "1", 1}, {"1.0", "1", 0}, {"-1", "1", -1}, {"-2", "-1", -1},
		{"1e-130", "0", 1}, {"-1e-130", "0", -1}, {"10", "9.99", 1}, {"1e2", "100", 0},
	} {
		if got := MustNumber(tc.a).Cmp(MustNumber(tc.b)); got != tc.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if i, err := MustNumber("1.7e9").Int64(); err != nil || i != 1_700_000_000 {
		t.Errorf("Int64(1.7e9) = %d, %v", i, err)
	}
	if _, err := MustNumber("1.5").Int64(); err == nil {
		t.Error("Int64(1.5) succeeded")
	}
	if _, err := MustNumber("1e30").Int64(); err == nil {
		t.Error("Int64(1e30) succeeded")
	}
	if got := NumberFromInt64(-9223372036854775808).String(); got != "-9223372036854775808" {
		t.Errorf("NumberFromInt64(min) = %s", got)
	}
	if got := NumberFromInt64(1000).Digits(); got != 1 {
		t.Errorf("NumberFromInt64(1000).Digits() = %d, want 1 (normalised)", got)
	}
	d, _, _ := apd.NewFromString("1e126")
	_, err := NumberFromDecimal(d)
	wantError(t, err, TypeValidation, "Number overflow. Attempting to store a number with magnitude larger than supported range")
	d, _, _ = apd.NewFromString("NaN")
	if _, err := NumberFromDecimal(d); err == nil {
		t.Error("NumberFromDecimal(NaN) succeeded")
	}
	d = MustNumber("2.5").Decimal()
	d.Neg(d) // the copy is ours to change
	if MustNumber("2.5").String() != "2.5" || d.String() != "-2.5" {
		t.Errorf("Decimal() copy: %s", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNumber(\"x\") did not panic")
		}
	}()
	MustNumber("x")
}
