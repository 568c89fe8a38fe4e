package attr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MarshalJSON writes v in DynamoDB JSON: {"S":"x"}, {"N":"1.5"}, {"B":"<base64>"},
// {"SS":[...]}, {"NS":[...]}, {"BS":[...]}, {"M":{...}}, {"L":[...]}, {"NULL":true},
// {"BOOL":false}. Numbers are written in their canonical form, map keys in byte order.
// Only a Value without a Kind fails.
func (v Value) MarshalJSON() ([]byte, error) { return v.appendJSON(nil) }

// MarshalJSON writes the item as a JSON object of attribute names to DynamoDB JSON values,
// names in byte order. A nil item is written as {}.
func (it Item) MarshalJSON() ([]byte, error) {
	return appendJSONMap(make([]byte, 0, jsonSizeGuess(it)), it)
}

// jsonSizeGuess is a capacity for an item's JSON: its size plus, per attribute, room for
// the quotes, the type member and the braces.
func jsonSizeGuess(it Item) int { return it.Size() + 16*len(it) + 2 }

func appendJSONMap(b []byte, m map[string]Value) ([]byte, error) {
	b = append(b, '{')
	var buf [32]string
	for i, k := range appendSortedKeys(buf[:0], m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = m[k].appendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func (v Value) appendJSON(b []byte) ([]byte, error) {
	if v.Kind < KindS || v.Kind > KindBOOL {
		return nil, fmt.Errorf("attr: cannot marshal a value of %v", v.Kind)
	}
	b = append(b, '{')
	b = appendJSONString(b, v.Kind.String())
	b = append(b, ':')
	switch v.Kind {
	case KindS:
		b = appendJSONString(b, v.S)
	case KindN:
		b = appendJSONString(b, v.N.String())
	case KindB:
		b = appendBase64(b, v.B)
	case KindSS:
		b = append(b, '[')
		for i, s := range v.SS {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	case KindNS:
		b = append(b, '[')
		for i, n := range v.NS {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n.String())
		}
		b = append(b, ']')
	case KindBS:
		b = append(b, '[')
		for i, x := range v.BS {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBase64(b, x)
		}
		b = append(b, ']')
	case KindM:
		var err error
		if b, err = appendJSONMap(b, v.M); err != nil {
			return nil, err
		}
	case KindL:
		b = append(b, '[')
		for i, x := range v.L {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = x.appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	case KindNULL:
		b = append(b, "true"...)
	case KindBOOL:
		b = strconv.AppendBool(b, v.Bool)
	}
	return append(b, '}'), nil
}

func appendBase64(b []byte, x []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, x)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// plainJSON tells the bytes a JSON string holds as they are: printable ASCII but '"' and '\\'.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		// Copy the run of bytes that need no escaping at once.
		j := i
		for j < len(s) && plainJSON[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// UnmarshalJSON reads one DynamoDB JSON attribute value and checks it as DynamoDB does:
// exactly one type member (members that are null, or not one of the ten types, are
// ignored), sets neither empty nor with equal members, NULL only true, numbers valid,
// binaries strict base64, at most MaxDepth levels of nesting. Errors are *Error values:
// ValidationException with DynamoDB's messages, or SerializationException when a member
// has the wrong JSON type or a binary is not base64. JSON null is refused as an empty
// attribute value.
func (v *Value) UnmarshalJSON(b []byte) error {
	x, ok := fastValue(b)
	if !ok {
		var err error
		if x, err = decodeValue(b); err != nil {
			return err
		}
	}
	*v = x
	return nil
}

// decodeValue is Value.UnmarshalJSON without the fast path.
func decodeValue(b []byte) (Value, error) {
	dec := newDecoder(b)
	x, err := dec.value(1)
	if err != nil {
		return Value{}, err
	}
	if err := dec.end(); err != nil {
		return Value{}, err
	}
	return x, nil
}

// UnmarshalJSON reads a JSON object of attribute names to DynamoDB JSON values, each
// checked as Value.UnmarshalJSON checks it. JSON null leaves the item unchanged. If a name
// appears twice, the last value wins.
func (it *Item) UnmarshalJSON(b []byte) error {
	if m, ok := fastItem(b); ok {
		*it = m
		return nil
	}
	m, null, err := decodeItem(b)
	if err != nil || null {
		return err
	}
	*it = m
	return nil
}

// decodeItem is Item.UnmarshalJSON without the fast path; null reports JSON null.
func decodeItem(b []byte) (m Item, null bool, err error) {
	dec := newDecoder(b)
	tok, err := dec.token()
	if err != nil {
		return nil, false, err
	}
	if tok == nil {
		return nil, true, dec.end()
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, false, wrongType(tok, "map")
	}
	if m, err = dec.members(1); err != nil {
		return nil, false, err
	}
	if err := dec.end(); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

type decoder struct{ d *json.Decoder }

func newDecoder(b []byte) *decoder {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return &decoder{d}
}

func (dec *decoder) token() (json.Token, error) {
	tok, err := dec.d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, serialization("Malformed JSON: %v", err)
	}
	return tok, nil
}

// end makes sure nothing follows the value.
func (dec *decoder) end() error {
	if _, err := dec.d.Token(); !errors.Is(err, io.EOF) {
		return serialization("Malformed JSON: data after the value")
	}
	return nil
}

// members reads the members of a map whose '{' has been read; its values are at depth.
func (dec *decoder) members(depth int) (map[string]Value, error) {
	m := map[string]Value{}
	for dec.d.More() {
		tok, err := dec.token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string) // object keys are always strings
		v, err := dec.value(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
	if _, err := dec.token(); err != nil { // '}'
		return nil, err
	}
	return m, nil
}

// value reads one attribute value at the given nesting level.
func (dec *decoder) value(depth int) (Value, error) {
	tok, err := dec.token()
	if err != nil {
		return Value{}, err
	}
	if tok == nil {
		return Value{}, Validation("%s", msgEmptyValue)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Value{}, wrongType(tok, "structure")
	}
	if depth > MaxDepth {
		return Value{}, Validation("%s", msgNesting)
	}
	var v Value
	types := 0
	for dec.d.More() {
		tok, err := dec.token()
		if err != nil {
			return Value{}, err
		}
		name, _ := tok.(string)
		k, known := KindFromString(name)
		if !known {
			if err := dec.skip(); err != nil {
				return Value{}, err
			}
			continue
		}
		present, err := dec.member(&v, k, depth)
		if err != nil {
			return Value{}, err
		}
		if present {
			v.Kind = k
			types++
		}
	}
	if _, err := dec.token(); err != nil { // '}'
		return Value{}, err
	}
	switch types {
	case 0:
		return Value{}, Validation("%s", msgEmptyValue)
	case 1:
		return v, nil
	}
	return Value{}, Validation("%s", msgMultipleType)
}

func (dec *decoder) skip() error {
	var raw json.RawMessage
	if err := dec.d.Decode(&raw); err != nil {
		return serialization("Malformed JSON: %v", err)
	}
	return nil
}

// member reads the value of the type member k into v. present is false when it is null.
func (dec *decoder) member(v *Value, k Kind, depth int) (present bool, err error) {
	tok, err := dec.token()
	if err != nil || tok == nil {
		return false, err
	}
	switch k {
	case KindS, KindN, KindB:
		s, ok := tok.(string)
		if !ok {
			return false, wrongType(tok, scalarName(k))
		}
		return true, setScalar(v, k, s)
	case KindNULL, KindBOOL:
		b, ok := tok.(bool)
		if !ok {
			return false, wrongType(tok, "Boolean")
		}
		if k == KindNULL && !b {
			return false, Validation("%s", msgNullFalse)
		}
		v.Bool = b && k == KindBOOL
		return true, nil
	case KindM:
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return false, wrongType(tok, "map")
		}
		v.M, err = dec.members(depth + 1)
		return err == nil, err
	case KindL:
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return false, wrongType(tok, "list")
		}
		v.L = []Value{}
		for dec.d.More() {
			x, err := dec.value(depth + 1)
			if err != nil {
				return false, err
			}
			v.L = append(v.L, x)
		}
		_, err = dec.token() // ']'
		return err == nil, err
	}
	// A set.
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return false, wrongType(tok, "list")
	}
	var members []string
	for dec.d.More() {
		tok, err := dec.token()
		if err != nil {
			return false, err
		}
		s, ok := tok.(string)
		switch {
		case tok == nil && k == KindSS:
			return false, Validation("%s", msgNullSS)
		case tok == nil && k == KindNS:
			return false, Validation("%s", msgNumberEmpty)
		case tok == nil:
			return false, Validation("%s", msgNullBS)
		case !ok:
			return false, wrongType(tok, scalarName(k-KindSS+KindS))
		}
		members = append(members, s)
	}
	if _, err := dec.token(); err != nil { // ']'
		return false, err
	}
	return true, setSet(v, k, members)
}

func scalarName(k Kind) string {
	if k == KindB {
		return "Blob"
	}
	return "String"
}

func setScalar(v *Value, k Kind, s string) error {
	switch k {
	case KindS:
		v.S = s
	case KindN:
		n, err := ParseNumber(s)
		if err != nil {
			return err
		}
		v.N = n
	case KindB:
		b, err := decodeBase64(s)
		if err != nil {
			return err
		}
		v.B = b
	}
	return nil
}

func setSet(v *Value, k Kind, members []string) error {
	switch k {
	case KindSS:
		if len(members) == 0 {
			return Validation("%s", msgEmptySS)
		}
		if err := checkDistinct(members, func(s string) string { return s }, func() *Error { return dupSS(members) }); err != nil {
			return err
		}
		v.SS = members
	case KindNS:
		if len(members) == 0 {
			return Validation("%s", msgEmptyNS)
		}
		ns := make([]Number, len(members))
		for i, s := range members {
			n, err := ParseNumber(s)
			if err != nil {
				return err
			}
			ns[i] = n
		}
		if err := checkDistinct(ns, Number.String, func() *Error { return Validation("%s", msgDupNS) }); err != nil {
			return err
		}
		v.NS = ns
	case KindBS:
		if len(members) == 0 {
			return Validation("%s", msgEmptyBS)
		}
		bs := make([][]byte, len(members))
		for i, s := range members {
			b, err := decodeBase64(s)
			if err != nil {
				return err
			}
			bs[i] = b
		}
		if err := checkDistinct(bs, func(b []byte) string { return string(b) }, func() *Error { return dupBS(members) }); err != nil {
			return err
		}
		v.BS = bs
	}
	return nil
}

// decodeBase64 decodes standard, padded base64 strictly, with the messages DynamoDB
// gives for a value that is not a Blob (its "dectected" included).
func decodeBase64(s string) ([]byte, error) {
	if len(s)%4 != 0 {
		return nil, serialization("'%s' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: %d", s, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
		if !alpha && c != '=' || c == '=' && i+1 < len(s) && s[i+1] != '=' {
			if c == '=' {
				i++
			}
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, serialization("'%s' can not be converted to a Blob: Invalid Base64 character: '%c'", s, r)
		}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, serialization("'%s' can not be converted to a Blob: Invalid last non-pad Base64 character dectected", s)
	}
	return b, nil
}

// wrongType is the SerializationException for a JSON value of the wrong type where want (a
// structure, map, list, String, Blob or Boolean) belongs, worded as DynamoDB words it.
func wrongType(tok json.Token, want string) *Error {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return serialization("Start of list found where not expected")
		}
		return serialization("Start of structure or map found where not expected.")
	}
	switch want {
	case "structure":
		return serialization("Expected null")
	case "map":
		return serialization("Expected map or null")
	case "list":
		return serialization("Expected list or null")
	}
	article := "an"
	if want == "Blob" {
		article = "a"
	}
	switch t := tok.(type) {
	case bool:
		return serialization("class java.lang.Boolean can not be converted to %s %s", article, want)
	case json.Number:
		return serialization("class %s can not be converted to %s %s", javaNumberClass(t), article, want)
	case string:
		return serialization("'%s' can not be converted to %s %s", strings.ToUpper(t), article, want)
	}
	return serialization("Unexpected value type in payload")
}

// javaNumberClass names the class DynamoDB's Java JSON reader gives a JSON number.
func javaNumberClass(n json.Number) string {
	if strings.ContainsAny(string(n), ".eE") {
		return "java.lang.Double"
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	switch {
	case err != nil:
		return "java.math.BigInteger"
	case int64(int16(i)) == i:
		return "java.lang.Short"
	case int64(int32(i)) == i:
		return "java.lang.Integer"
	}
	return "java.lang.Long"
}
