package attr

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Marshal returns the JSON encoding of v as encoding/json.Marshal writes it, but writes
// the Items and Values in it directly. json.Marshal cannot: it re-scans (compacts and
// validates) the output of every MarshalJSON method, which for a page of items costs as
// much as writing them. The output is the same JSON, byte for byte, except that in Items
// and Values '<', '>' and '&' are not escaped as \u003c, \u003e and \u0026 (DynamoDB does
// not escape them either).
//
// Parts of v that hold no Item or Value (and structs with embedded fields, or fields
// tagged ",string" or ",omitzero") are encoded by json.Marshal itself.
func Marshal(v any) ([]byte, error) { return AppendMarshal(make([]byte, 0, 256), v) }

// AppendMarshal appends Marshal's encoding of v to dst (for a buffer kept between calls).
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	return encoderFor(reflect.TypeOf(v))(dst, reflect.ValueOf(v))
}

// encoderFunc appends v's encoding to b.
type encoderFunc func(b []byte, v reflect.Value) ([]byte, error)

var encoders sync.Map // reflect.Type → encoderFunc

func encoderFor(t reflect.Type) encoderFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encoderFunc)
	}
	f, _ := encoders.LoadOrStore(t, newEncoder(t))
	return f.(encoderFunc)
}

var (
	itemType          = reflect.TypeFor[Item]()
	valueType         = reflect.TypeFor[Value]()
	rawJSONType       = reflect.TypeFor[RawJSON]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func newEncoder(t reflect.Type) encoderFunc {
	switch {
	case t == itemType:
		return encodeItem
	case t == valueType:
		return encodeValue
	case t == rawJSONType:
		return encodeRawJSON
	case !holdsAttr(t, map[reflect.Type]bool{}) || ownMarshaler(t):
		return encodeWithJSON
	}
	switch t.Kind() {
	case reflect.Pointer:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			return encoderFor(t.Elem())(b, v.Elem())
		}
	case reflect.Interface:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			e := v.Elem()
			return encoderFor(e.Type())(b, e)
		}
	case reflect.Slice, reflect.Array:
		isSlice := t.Kind() == reflect.Slice
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if isSlice && v.IsNil() {
				return append(b, "null"...), nil
			}
			enc := encoderFor(t.Elem())
			b = append(b, '[')
			var err error
			n := v.Len()
			for i := range n {
				if i > 0 {
					b = append(b, ',')
				}
				start := len(b)
				if b, err = enc(b, v.Index(i)); err != nil {
					return nil, err
				}
				if i == 0 && n > 1 {
					// Make room for the rest at once, by the first one's size, rather
					// than growing the buffer a little at a time (pages of items).
					per := len(b) - start + 1
					b = slices.Grow(b, per*(n-1)+per*(n-1)/8)
				}
			}
			return append(b, ']'), nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) {
			return encodeWithJSON
		}
		return encodeMap
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return encodeWithJSON
}

// ownMarshaler reports whether t (other than Item and Value) chooses its own encoding. A
// pointer is encoded as json.Marshal would: null, or what it points to (whose own method,
// if any, is then used).
func ownMarshaler(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		return false
	}
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || pt.Implements(marshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
}

// holdsAttr reports whether a value of type t can hold an Item or a Value.
func holdsAttr(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == itemType || t == valueType || t == rawJSONType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsAttr(t.Elem(), seen)
	case reflect.Map:
		return holdsAttr(t.Elem(), seen)
	case reflect.Interface:
		return true // whatever it holds is looked at when encoding
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsAttr(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// encodeWithJSON appends json.Marshal's encoding of v (through its address when v is
// addressable, so that methods with pointer receivers are used as json.Marshal would).
func encodeWithJSON(b []byte, v reflect.Value) ([]byte, error) {
	var x any
	if v.CanAddr() && v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	out, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

func encodeItem(b []byte, v reflect.Value) ([]byte, error) {
	it := Item(nil)
	if !v.IsNil() {
		it = v.Interface().(Item)
	}
	return appendJSONMap(b, it)
}

func encodeValue(b []byte, v reflect.Value) ([]byte, error) {
	if v.CanAddr() {
		return v.Addr().Interface().(*Value).appendJSON(b)
	}
	return v.Interface().(Value).appendJSON(b)
}

func encodeRawJSON(b []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	return append(b, v.Bytes()...), nil
}

func encodeMap(b []byte, v reflect.Value) ([]byte, error) {
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	enc := encoderFor(v.Type().Elem())
	keys := v.MapKeys()
	slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(k.String())
		if err != nil {
			return nil, err
		}
		b = append(append(b, name...), ':')
		if b, err = enc(b, v.MapIndex(k)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// field is one encoded field of a struct.
type field struct {
	index     int
	name      []byte // "Name":
	omitEmpty bool
	typ       reflect.Type
}

func newStructEncoder(t reflect.Type) encoderFunc {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if sf.Anonymous {
			return encodeWithJSON // embedding has rules of its own
		}
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{index: i, typ: sf.Type}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "string", "omitzero":
				return encodeWithJSON
			}
		}
		if name == "" || !validTagName(name) {
			name = sf.Name
		}
		quoted, err := json.Marshal(name)
		if err != nil {
			return encodeWithJSON
		}
		f.name = append(quoted, ':')
		fs = append(fs, f)
	}
	return func(b []byte, v reflect.Value) ([]byte, error) {
		b = append(b, '{')
		first := true
		var err error
		for _, f := range fs {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, f.name...)
			if b, err = encoderFor(f.typ)(b, fv); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
}

// validTagName is encoding/json's rule for a usable name in a json tag.
func validTagName(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c > 0x7f:
		default:
			return false
		}
	}
	return true
}

// isEmpty is omitempty's test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
