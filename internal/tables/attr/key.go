package attr

import "fmt"

// The key encoding. Each value starts with its Kind as one byte, so values of different
// kinds never collide (they sort S < N < B). Then:
//
//   - S and B: the bytes, each 0x00 written as 0x00 0xFF, then the terminator 0x00 0x01.
//     A value sorts before every longer value it is a prefix of, because the terminator is
//     smaller than any byte that can follow a prefix (a byte ≥ 0x01, or 0x00 0xFF).
//   - N: a class byte, 0x01 negative, 0x02 zero, 0x03 positive. Zero ends there. Otherwise
//     one byte for the adjusted exponent plus 130 (0..255 covers DynamoDB's whole range),
//     then the significant digits in pairs, base 100, each pair p written as p+1 (a last
//     lone digit d counts as the pair d0), then the terminator 0x00. For a negative number
//     the exponent, the pairs and the terminator are complemented (x → 0xFF-x), so that a
//     larger magnitude sorts first.
//
// bytes.Compare of two encodings of the same kind therefore agrees with Compare of the
// values, and a composite key is the partition key's encoding followed by the sort key's.

const (
	escByte    = 0x00
	escEscaped = 0xFF // 0x00 in the value is 0x00 0xFF
	escEnd     = 0x01 // 0x00 0x01 ends the value

	numNegative = 0x01
	numZero     = 0x02
	numPositive = 0x03
)

// EncodeKey appends the order-preserving encoding of v, which must be an S, N or B value,
// to dst. Any other kind wraps ErrNotKey.
func EncodeKey(dst []byte, v Value) ([]byte, error) {
	switch v.Kind {
	case KindS:
		return appendEscaped(append(dst, byte(KindS)), v.S), nil
	case KindN:
		return appendNumber(append(dst, byte(KindN)), v.N), nil
	case KindB:
		return appendEscaped(append(dst, byte(KindB)), v.B), nil
	}
	return nil, fmt.Errorf("%w: %v", ErrNotKey, v.Kind)
}

// DecodeKey decodes the key value at the start of b and returns it with the bytes that
// follow it, so that a composite key can be split. Malformed input wraps ErrCorrupt. The
// decoded value does not share memory with b.
func DecodeKey(b []byte) (v Value, rest []byte, err error) {
	if len(b) == 0 {
		return Value{}, nil, corrupt("empty key")
	}
	switch Kind(b[0]) {
	case KindS:
		raw, rest, err := readEscaped(b[1:])
		if err != nil {
			return Value{}, nil, err
		}
		return S(string(raw)), rest, nil
	case KindN:
		n, rest, err := readNumber(b[1:])
		if err != nil {
			return Value{}, nil, err
		}
		return Num(n), rest, nil
	case KindB:
		raw, rest, err := readEscaped(b[1:])
		if err != nil {
			return Value{}, nil, err
		}
		return B(raw), rest, nil
	}
	return Value{}, nil, corrupt("key type byte %#x", b[0])
}

func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escByte {
			dst = append(dst, escByte, escEscaped)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, escByte, escEnd)
}

func readEscaped(b []byte) (raw, rest []byte, err error) {
	raw = []byte{}
	for i := 0; i < len(b); i++ {
		if b[i] != escByte {
			raw = append(raw, b[i])
			continue
		}
		if i+1 == len(b) {
			break
		}
		switch b[i+1] {
		case escEscaped:
			raw = append(raw, escByte)
			i++
		case escEnd:
			return raw, b[i+2:], nil
		default:
			return nil, nil, corrupt("escape 0x00 %#x", b[i+1])
		}
	}
	return nil, nil, corrupt("unterminated string or binary")
}

func appendNumber(dst []byte, n Number) []byte {
	if n.IsZero() {
		return append(dst, numZero)
	}
	digits := n.d.Coeff.String()
	adjusted := int(n.d.Exponent) + len(digits) - 1
	var flip byte // 0xFF complements every byte after the class of a negative number
	if n.d.Negative {
		dst = append(dst, numNegative)
		flip = 0xFF
	} else {
		dst = append(dst, numPositive)
	}
	dst = append(dst, byte(adjusted+exponentOffset)^flip)
	for i := 0; i < len(digits); i += 2 {
		p := (digits[i] - '0') * 10
		if i+1 < len(digits) {
			p += digits[i+1] - '0'
		}
		dst = append(dst, (p+1)^flip)
	}
	return append(dst, 0^flip)
}

func readNumber(b []byte) (Number, []byte, error) {
	if len(b) == 0 {
		return Number{}, nil, corrupt("empty number")
	}
	var flip byte
	switch b[0] {
	case numZero:
		return Number{}, b[1:], nil
	case numNegative:
		flip = 0xFF
	case numPositive:
	default:
		return Number{}, nil, corrupt("number class %#x", b[0])
	}
	if len(b) < 2 {
		return Number{}, nil, corrupt("number without exponent")
	}
	adjusted := int(b[1]^flip) - exponentOffset
	digits := make([]byte, 0, MaxDigits+1)
	for i := 2; i < len(b); i++ {
		p := b[i] ^ flip
		if p == 0 {
			if len(digits) == 0 || digits[0] == '0' || digits[len(digits)-1] == '0' && digits[len(digits)-2] == '0' {
				return Number{}, nil, corrupt("number digits not normalised")
			}
			if digits[len(digits)-1] == '0' {
				digits = digits[:len(digits)-1]
			}
			var n Number
			n.d.Coeff.SetString(string(digits), 10)
			n.d.Exponent = int32(adjusted - len(digits) + 1)
			n.d.Negative = flip != 0
			return n, b[i+1:], nil
		}
		if p > 100 || len(digits) >= MaxDigits {
			return Number{}, nil, corrupt("number digit pair %#x", b[i])
		}
		p--
		digits = append(digits, '0'+p/10, '0'+p%10)
	}
	return Number{}, nil, corrupt("unterminated number")
}
