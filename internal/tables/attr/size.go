package attr

import "encoding/base64"

// Limits DynamoDB enforces on items and keys, in bytes as Size counts them.
const (
	ItemSizeLimit         = 400 * 1024 // names and values of all attributes
	PartitionKeySizeLimit = 2048
	SortKeySizeLimit      = 1024
	// MaxDepth is how deeply values nest: a top-level attribute value is at level 1, and a
	// value at level 33 (inside 32 maps or lists) is refused.
	MaxDepth = 32
)

// Size returns the bytes DynamoDB counts for v, following "Item sizes and formats" in the
// DynamoDB developer guide:
//
//   - S: its UTF-8 length; B: its raw length (not base64).
//   - N: 1 byte per two significant digits, rounded up, plus 1 ((digits+1)/2 + 1; zero has
//     no significant digits and counts 1).
//   - NULL and BOOL: 1.
//   - SS, NS, BS: the sum of their members' sizes.
//   - M and L: 3 bytes of overhead plus, per element, 1 byte plus the element's size (and,
//     in a map, its name's UTF-8 length).
//
// The guide calls the number rule approximate; this is the rule as written.
func (v Value) Size() int {
	switch v.Kind {
	case KindS:
		return len(v.S)
	case KindN:
		return numberSize(v.N)
	case KindB:
		return len(v.B)
	case KindSS:
		n := 0
		for _, s := range v.SS {
			n += len(s)
		}
		return n
	case KindNS:
		n := 0
		for _, x := range v.NS {
			n += numberSize(x)
		}
		return n
	case KindBS:
		n := 0
		for _, b := range v.BS {
			n += len(b)
		}
		return n
	case KindM:
		n := 3
		for k, x := range v.M {
			n += len(k) + x.Size() + 1
		}
		return n
	case KindL:
		n := 3
		for _, x := range v.L {
			n += x.Size() + 1
		}
		return n
	case KindNULL, KindBOOL:
		return 1
	}
	return 0
}

func numberSize(n Number) int { return (n.Digits()+1)/2 + 1 }

// Size returns the bytes DynamoDB counts for the item: for each attribute, its name's
// UTF-8 length plus its value's Size. ItemSizeLimit applies to it.
func (it Item) Size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.Size()
	}
	return n
}

// CheckSize returns the ValidationException DynamoDB answers for an item over
// ItemSizeLimit, or nil.
func (it Item) CheckSize() error {
	if it.Size() > ItemSizeLimit {
		return Validation("%s", msgItemSize)
	}
	return nil
}

// CheckKey checks the value v of the key attribute name, whose declared type is want, as
// DynamoDB checks a key in an item or a Key parameter: the type must match, a string or
// binary must not be empty, and the value must fit the partition key limit (2048 bytes) or,
// for a sort key, the sort key limit (1024 bytes). Errors are ValidationExceptions with
// DynamoDB's messages.
func CheckKey(name string, want Kind, v Value, sortKey bool) error {
	if v.Kind != want {
		return Validation(invalidPrefix+"Type mismatch for key %s expected: %s actual: %s", name, want, v.Kind)
	}
	switch {
	case v.Kind == KindS && v.S == "":
		return Validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", name)
	case v.Kind == KindB && len(v.B) == 0:
		return Validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: %s", name)
	}
	size := v.Size()
	switch {
	case !sortKey && size > PartitionKeySizeLimit:
		return Validation(invalidPrefix+"Size of hashkey has exceeded the maximum size limit of%d bytes", PartitionKeySizeLimit)
	case sortKey && size > SortKeySizeLimit:
		return Validation(invalidPrefix+"Aggregated size of all range keys has exceeded the size limit of %d bytes", SortKeySizeLimit)
	}
	return nil
}

// Validate checks what DynamoDB checks of every attribute value it is sent: a known type,
// at least one member in a set and no two equal members, NULL only as true, and at most
// MaxDepth levels of nesting. JSON decoding already ensures all of this; Validate is for
// values built in code (the result of an update expression, say). Errors are the *Error
// values DynamoDB answers with.
func (v Value) Validate() error { return v.validate(1) }

// Validate checks every attribute value of the item (see Value.Validate).
func (it Item) Validate() error {
	for _, k := range sortedKeys(it) {
		if err := it[k].validate(1); err != nil {
			return err
		}
	}
	return nil
}

func (v Value) validate(depth int) error {
	if depth > MaxDepth {
		return Validation("%s", msgNesting)
	}
	switch v.Kind {
	case KindS, KindN, KindB, KindNULL, KindBOOL:
		return nil
	case KindSS:
		if len(v.SS) == 0 {
			return Validation("%s", msgEmptySS)
		}
		return checkDistinct(v.SS, func(s string) string { return s }, func() *Error { return dupSS(v.SS) })
	case KindNS:
		if len(v.NS) == 0 {
			return Validation("%s", msgEmptyNS)
		}
		return checkDistinct(v.NS, Number.String, func() *Error { return Validation("%s", msgDupNS) })
	case KindBS:
		if len(v.BS) == 0 {
			return Validation("%s", msgEmptyBS)
		}
		return checkDistinct(v.BS, func(b []byte) string { return string(b) }, func() *Error {
			enc := make([]string, len(v.BS))
			for i, b := range v.BS {
				enc[i] = base64.StdEncoding.EncodeToString(b)
			}
			return dupBS(enc)
		})
	case KindM:
		for _, k := range sortedKeys(v.M) {
			if err := v.M[k].validate(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case KindL:
		for _, x := range v.L {
			if err := x.validate(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	return Validation("%s", msgEmptyValue)
}

func checkDistinct[T any](members []T, key func(T) string, dup func() *Error) error {
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		k := key(m)
		if _, ok := seen[k]; ok {
			return dup()
		}
		seen[k] = struct{}{}
	}
	return nil
}

// dupSS and dupBS render the whole collection as DynamoDB does: "[a, a]", and for binary
// sets the base64 members followed directly by "of type BS".
func dupSS(members []string) *Error {
	return Validation(invalidPrefix+"Input collection %s contains duplicates.", renderCollection(members))
}

func dupBS(members []string) *Error {
	return Validation(invalidPrefix+"Input collection %sof type BS contains duplicates.", renderCollection(members))
}

func renderCollection(members []string) string {
	n := 2
	for _, m := range members {
		n += len(m) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, m := range members {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, m...)
	}
	return string(append(b, ']'))
}
