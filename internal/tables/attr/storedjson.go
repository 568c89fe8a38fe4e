package attr

import (
	"bytes"
	"encoding/base64"
	"slices"
	"unsafe"
)

// Reading stored items without building them: a read that returns items whole (GetItem
// without a projection, a Query or Scan page without a filter or projection) needs their
// JSON and their size, not a map of Values. DecodeItem followed by Marshal makes a map, a
// string per attribute and a Number per number, all garbage the moment the JSON is written.

// RawJSON is JSON already encoded, such as AppendStoredJSON's output. Marshal writes it as it
// is; it must be valid JSON.
type RawJSON []byte

// MarshalJSON returns r, so that encoding/json writes it as Marshal does (after compacting
// it, as encoding/json does with every MarshalJSON's output).
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	return r, nil
}

// AppendStoredJSON appends the DynamoDB JSON of the item whose storage encoding is stored
// (EncodeItem's output) to dst, without decoding it into an Item: the same bytes that
// Marshal(DecodeItem(stored)) gives, and the same error when there is one.
//
// Encodings EncodeItem does not write (names out of order or repeated, a value without a
// kind, anything corrupt) take the way through DecodeItem, so that they give exactly what
// it gives.
func AppendStoredJSON(dst, stored []byte) ([]byte, error) {
	w := storedWalk{emit: true}
	if out, ok := w.item(dst, stored); ok {
		return out, nil
	}
	it, err := DecodeItem(stored)
	if err != nil {
		return dst, err
	}
	out, err := appendJSONMap(dst, it)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// StoredSize returns the Size of the item whose storage encoding is stored, as
// DecodeItem(stored).Size() does, without decoding it; an encoding DecodeItem refuses gives
// its error.
func StoredSize(stored []byte) (int, error) {
	var w storedWalk
	if _, ok := w.item(nil, stored); ok {
		return w.size, nil
	}
	it, err := DecodeItem(stored)
	if err != nil {
		return 0, err
	}
	return it.Size(), nil
}

// StoredAttributes returns the attributes named in names (those present) of the item whose
// storage encoding is stored, as DecodeItem(stored) holds them, decoding only those: for
// reading a key, or what a key condition looks at, out of a whole stored item. They are
// put in dst, emptied first, when it is not nil (to use one map for many items).
func StoredAttributes(dst Item, stored []byte, names ...string) (Item, error) {
	if dst == nil {
		dst = make(Item, len(names))
	}
	clear(dst)
	if storedAttributes(dst, stored, names) {
		return dst, nil
	}
	clear(dst)
	it, err := DecodeItem(stored)
	if err != nil {
		return nil, err
	}
	out := dst
	for _, n := range names {
		if v, ok := it[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

func storedAttributes(out Item, stored []byte, names []string) bool {
	if len(stored) == 0 || stored[0] != storageVersion {
		return false
	}
	r := reader{b: stored[1:]}
	n, err := r.count()
	if err != nil {
		return false
	}
	var prev []byte
	for i := range n {
		name, ok := r.raw()
		if !ok || i > 0 && bytes.Compare(prev, name) >= 0 {
			return false
		}
		prev = name
		wanted := false
		for _, x := range names {
			if x == string(name) {
				wanted = true
				break
			}
		}
		if !wanted {
			w := storedWalk{b: r.b}
			if _, _, ok := w.value(nil, 1); !ok {
				return false
			}
			r.b = w.b
			continue
		}
		v, err := r.value(1)
		if err != nil || v.Kind == 0 {
			return false
		}
		out[string(name)] = v
	}
	return len(r.b) == 0
}

// raw reads a length-prefixed byte string without copying it.
func (r *reader) raw() ([]byte, bool) {
	n, err := r.count()
	if err != nil {
		return nil, false
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s, true
}

// storedWalk reads a storage encoding, adding up the Size of what it reads and, when emit
// is set, writing its JSON. ok false means the encoding is one to hand to DecodeItem.
type storedWalk struct {
	b    []byte // what is left to read
	size int    // the Size of the values read at the top level, names included
	emit bool
}

func (w *storedWalk) item(dst, stored []byte) ([]byte, bool) {
	if len(stored) == 0 || stored[0] != storageVersion {
		return dst, false
	}
	w.b = stored[1:]
	out, size, _, ok := w.members(dst, 1)
	if !ok || len(w.b) != 0 {
		return dst, false
	}
	w.size = size
	return out, true
}

func (w *storedWalk) raw() ([]byte, bool) {
	r := reader{b: w.b}
	s, ok := r.raw()
	w.b = r.b
	return s, ok
}

func (w *storedWalk) count() (int, bool) {
	r := reader{b: w.b}
	n, err := r.count()
	w.b = r.b
	return n, err == nil
}

// members reads a map's members (names in strictly increasing byte order, or ok is false)
// and returns their Size as an item's (its names and its values' sizes) and their count.
func (w *storedWalk) members(b []byte, depth int) (_ []byte, size, n int, ok bool) {
	if n, ok = w.count(); !ok {
		return b, 0, 0, false
	}
	if w.emit {
		b = append(b, '{')
	}
	var prev []byte
	for i := range n {
		name, ok := w.raw()
		if !ok || i > 0 && bytes.Compare(prev, name) >= 0 {
			return b, 0, 0, false
		}
		prev = name
		if w.emit {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, unsafeString(name))
			b = append(b, ':')
		}
		var vs int
		if b, vs, ok = w.value(b, depth); !ok {
			return b, 0, 0, false
		}
		size += len(name) + vs
	}
	if w.emit {
		b = append(b, '}')
	}
	return b, size, n, true
}

// valuePrefixes are the JSON a value of each kind starts with.
var valuePrefixes = func() (p [KindBOOL + 1]string) {
	for k := KindS; k <= KindBOOL; k++ {
		p[k] = `{"` + k.String() + `":`
	}
	return p
}()

// value reads one value at the given nesting level and returns its Size.
func (w *storedWalk) value(b []byte, depth int) ([]byte, int, bool) {
	if depth > maxStoredDepth || len(w.b) == 0 {
		return b, 0, false
	}
	k := Kind(w.b[0])
	if k < KindS || k > KindBOOL {
		return b, 0, false // a value without a kind does not marshal; DecodeItem says how
	}
	w.b = w.b[1:]
	if w.emit {
		b = append(b, valuePrefixes[k]...)
	}
	size := 0
	ok := true
	switch k {
	case KindS, KindB:
		var s []byte
		if s, ok = w.raw(); ok {
			size = len(s)
			b = w.scalar(b, k, s)
		}
	case KindN:
		b, size, ok = w.number(b)
	case KindSS, KindNS, KindBS:
		var n int
		if n, ok = w.count(); !ok {
			break
		}
		if w.emit {
			b = append(b, '[')
		}
		for i := 0; i < n && ok; i++ {
			if w.emit && i > 0 {
				b = append(b, ',')
			}
			var ms int
			if k == KindNS {
				b, ms, ok = w.number(b)
			} else {
				var s []byte
				if s, ok = w.raw(); ok {
					ms = len(s)
					b = w.scalar(b, k-KindSS+KindS, s)
				}
			}
			size += ms
		}
		if w.emit {
			b = append(b, ']')
		}
	case KindM:
		var n int
		b, size, n, ok = w.members(b, depth+1)
		size += 3 + n // a map value adds 3, and 1 per member
	case KindL:
		var n int
		if n, ok = w.count(); !ok {
			break
		}
		size = 3
		if w.emit {
			b = append(b, '[')
		}
		for i := 0; i < n && ok; i++ {
			if w.emit && i > 0 {
				b = append(b, ',')
			}
			var es int
			b, es, ok = w.value(b, depth+1)
			size += es + 1
		}
		if w.emit {
			b = append(b, ']')
		}
	case KindNULL:
		size = 1
		if w.emit {
			b = append(b, "true"...)
		}
	case KindBOOL:
		if len(w.b) == 0 || w.b[0] > 1 {
			return b, 0, false
		}
		size = 1
		if w.emit {
			if w.b[0] == 1 {
				b = append(b, "true"...)
			} else {
				b = append(b, "false"...)
			}
		}
		w.b = w.b[1:]
	}
	if !ok {
		return b, 0, false
	}
	if w.emit {
		b = append(b, '}')
	}
	return b, size, true
}

// scalar writes a string (KindS) or binary (KindB) as JSON, when emitting.
func (w *storedWalk) scalar(b []byte, k Kind, s []byte) []byte {
	switch {
	case !w.emit:
	case k == KindS:
		b = appendJSONString(b, unsafeString(s))
	default:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, s)
		b = append(b, '"')
	}
	return b
}

// number reads a number as readNumber does, refusing what it refuses, writes it as
// Number.String writes it when emitting, and returns its Size.
func (w *storedWalk) number(b []byte) ([]byte, int, bool) {
	in := w.b
	if len(in) == 0 {
		return b, 0, false
	}
	var flip byte
	switch in[0] {
	case numZero:
		w.b = in[1:]
		if w.emit {
			b = append(b, `"0"`...)
		}
		return b, 1, true
	case numNegative:
		flip = 0xFF
	case numPositive:
	default:
		return b, 0, false
	}
	if len(in) < 2 {
		return b, 0, false
	}
	adjusted := int(in[1]^flip) - exponentOffset
	var buf [MaxDigits + 2]byte
	digits := buf[:0]
	for i := 2; i < len(in); i++ {
		p := in[i] ^ flip
		if p != 0 {
			if p > 100 || len(digits) >= MaxDigits {
				return b, 0, false
			}
			p--
			digits = append(digits, '0'+p/10, '0'+p%10)
			continue
		}
		if len(digits) == 0 || digits[0] == '0' || digits[len(digits)-1] == '0' && digits[len(digits)-2] == '0' {
			return b, 0, false
		}
		if digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		w.b = in[i+1:]
		if w.emit {
			b = appendDecimal(b, flip != 0, digits, adjusted-len(digits)+1)
		}
		return b, (len(digits)+1)/2 + 1, true
	}
	return b, 0, false
}

// appendDecimal writes the JSON string of the non-zero number digits × 10^exp (negated when
// neg) in Number.String's form.
func appendDecimal(b []byte, neg bool, digits []byte, exp int) []byte {
	b = append(b, '"')
	if neg {
		b = append(b, '-')
	}
	switch point := len(digits) + exp; {
	case exp >= 0:
		b = append(b, digits...)
		for range exp {
			b = append(b, '0')
		}
	case point > 0:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		b = append(b, digits[point:]...)
	default:
		b = append(b, '0', '.')
		for range -point {
			b = append(b, '0')
		}
		b = append(b, digits...)
	}
	return append(b, '"')
}

// unsafeString views b as a string, for reading it while b does not change.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// AppendStoredKey appends to dst the key encoding (EncodeKey of each value, in the order of
// names) of the item whose storage encoding is stored, reading it without decoding, when the
// item holds exactly the attributes names, each a string or a binary: a change-log record's
// key attributes, as they usually are. ok false means any other item, for DecodeItem and
// EncodeKey.
func AppendStoredKey(dst, stored []byte, names ...string) (_ []byte, ok bool) {
	if len(stored) == 0 || stored[0] != storageVersion || len(names) > 2 {
		return dst, false
	}
	r := reader{b: stored[1:]}
	n, err := r.count()
	if err != nil || n != len(names) {
		return dst, false
	}
	type raw struct {
		kind Kind
		b    []byte
	}
	var vals [2]raw
	var prev []byte
	for i := range n {
		name, ok := r.raw()
		if !ok || i > 0 && bytes.Compare(prev, name) >= 0 || len(r.b) == 0 {
			return dst, false
		}
		prev = name
		at := slices.Index(names, string(name))
		kind := Kind(r.b[0])
		if at < 0 || kind != KindS && kind != KindB {
			return dst, false
		}
		r.b = r.b[1:]
		if vals[at].b, ok = r.raw(); !ok {
			return dst, false
		}
		vals[at].kind = kind
	}
	if len(r.b) != 0 {
		return dst, false
	}
	for _, v := range vals[:n] {
		dst = appendEscaped(append(dst, byte(v.kind)), v.b)
	}
	return dst, true
}
