package attr

import (
	"encoding/binary"
	"slices"
)

// The storage encoding of an item, as it is kept on disk and shipped between regions. It is
// compact and exact, not ordered:
//
//	item   = version(0x01) uvarint(count) { uvarint(len) name value }   names in byte order
//	value  = kind(1 byte) payload
//	S, B   = uvarint(len) bytes
//	N      = the number part of the key encoding (class, exponent, pairs, terminator)
//	SS, BS = uvarint(count) { uvarint(len) bytes }
//	NS     = uvarint(count) { number }
//	M      = uvarint(count) { uvarint(len) name value }                names in byte order
//	L      = uvarint(count) { value }
//	NULL   = nothing
//	BOOL   = 0x00 or 0x01
//
// A Value without a valid Kind is written as kind 0 with no payload and read back as the
// zero Value. Set members and list elements keep their order.

const (
	storageVersion = 1
	// maxStoredDepth bounds the recursion of DecodeItem on corrupt input. Valid items nest
	// at most MaxDepth levels; this leaves room for values built in code.
	maxStoredDepth = 1000
)

// EncodeItem returns the storage encoding of the item. Equal items (same attributes, same
// values, set members in the same order) encode to the same bytes.
func EncodeItem(it Item) []byte {
	b := make([]byte, 0, 16+it.Size()+2*len(it))
	b = append(b, storageVersion)
	return appendMembers(b, it)
}

func appendMembers(b []byte, m map[string]Value) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	var buf [32]string
	for _, k := range appendSortedKeys(buf[:0], m) {
		b = appendBytes(b, k)
		b = appendStored(b, m[k])
	}
	return b
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStored(b []byte, v Value) []byte {
	if v.Kind < KindS || v.Kind > KindBOOL {
		return append(b, 0)
	}
	b = append(b, byte(v.Kind))
	switch v.Kind {
	case KindS:
		b = appendBytes(b, v.S)
	case KindN:
		b = appendNumber(b, v.N)
	case KindB:
		b = appendBytes(b, v.B)
	case KindSS:
		b = binary.AppendUvarint(b, uint64(len(v.SS)))
		for _, s := range v.SS {
			b = appendBytes(b, s)
		}
	case KindNS:
		b = binary.AppendUvarint(b, uint64(len(v.NS)))
		for _, n := range v.NS {
			b = appendNumber(b, n)
		}
	case KindBS:
		b = binary.AppendUvarint(b, uint64(len(v.BS)))
		for _, x := range v.BS {
			b = appendBytes(b, x)
		}
	case KindM:
		b = appendMembers(b, v.M)
	case KindL:
		b = binary.AppendUvarint(b, uint64(len(v.L)))
		for _, x := range v.L {
			b = appendStored(b, x)
		}
	case KindBOOL:
		if v.Bool {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// DecodeItem reads an item written by EncodeItem. Anything else wraps ErrCorrupt. The item
// does not share memory with b.
func DecodeItem(b []byte) (Item, error) {
	if len(b) == 0 || b[0] != storageVersion {
		return nil, corrupt("item encoding version")
	}
	r := reader{b: b[1:], s: string(b[1:])}
	m, err := r.members(1)
	if err != nil {
		return nil, err
	}
	if len(r.b) != 0 {
		return nil, corrupt("%d bytes after the item", len(r.b))
	}
	return m, nil
}

type reader struct {
	b []byte // what is left to read
	// s, when not empty, is the whole input as a string, of which b is a suffix: str returns
	// substrings of it, so that an item's names and strings take one allocation, not one each.
	s string
}

// count reads a count of things each taking at least one byte, so that a corrupt count
// cannot make the reader allocate more than the input justifies.
func (r *reader) count() (int, error) {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		return 0, corrupt("count")
	}
	r.b = r.b[k:]
	return int(n), nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	s := slices.Clone(r.b[:n:n])
	if s == nil {
		s = []byte{}
	}
	r.b = r.b[n:]
	return s, nil
}

// str reads a length-prefixed string: a substring of r.s when there is one, else a copy.
func (r *reader) str() (string, error) {
	n, err := r.count()
	if err != nil {
		return "", err
	}
	var s string
	if r.s != "" {
		off := len(r.s) - len(r.b)
		s = r.s[off : off+n]
	} else {
		s = string(r.b[:n])
	}
	r.b = r.b[n:]
	return s, nil
}

func (r *reader) number() (Number, error) {
	n, rest, err := readNumber(r.b)
	if err != nil {
		return Number{}, err
	}
	r.b = rest
	return n, nil
}

func (r *reader) members(depth int) (map[string]Value, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	m := make(map[string]Value, n)
	for range n {
		name, err := r.str()
		if err != nil {
			return nil, err
		}
		v, err := r.value(depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
	return m, nil
}

func (r *reader) value(depth int) (Value, error) {
	if depth > maxStoredDepth {
		return Value{}, corrupt("nesting deeper than %d", maxStoredDepth)
	}
	if len(r.b) == 0 {
		return Value{}, corrupt("missing value")
	}
	k := Kind(r.b[0])
	r.b = r.b[1:]
	v := Value{Kind: k}
	var err error
	switch k {
	case 0:
	case KindS:
		v.S, err = r.str()
	case KindN:
		v.N, err = r.number()
	case KindB:
		v.B, err = r.bytes()
	case KindSS, KindNS, KindBS:
		err = r.set(&v)
	case KindM:
		v.M, err = r.members(depth + 1)
	case KindL:
		var n int
		if n, err = r.count(); err != nil {
			break
		}
		v.L = make([]Value, n)
		for i := range v.L {
			if v.L[i], err = r.value(depth + 1); err != nil {
				break
			}
		}
	case KindNULL:
	case KindBOOL:
		if len(r.b) == 0 || r.b[0] > 1 {
			return Value{}, corrupt("boolean")
		}
		v.Bool = r.b[0] == 1
		r.b = r.b[1:]
	default:
		return Value{}, corrupt("value type byte %#x", byte(k))
	}
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

func (r *reader) set(v *Value) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	switch v.Kind {
	case KindSS:
		v.SS = make([]string, n)
		for i := range v.SS {
			s, err := r.str()
			if err != nil {
				return err
			}
			v.SS[i] = s
		}
	case KindNS:
		v.NS = make([]Number, n)
		for i := range v.NS {
			if v.NS[i], err = r.number(); err != nil {
				return err
			}
		}
	case KindBS:
		v.BS = make([][]byte, n)
		for i := range v.BS {
			if v.BS[i], err = r.bytes(); err != nil {
				return err
			}
		}
	}
	return nil
}
