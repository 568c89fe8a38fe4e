package expr

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Path is a document path: a top-level attribute name followed by map keys and list
// indexes, with every #name already replaced by the name it stands for. The path a.b[3].c
// is {Name "a"}, {Name "b"}, {Index 3, IsIndex true}, {Name "c"}.
type Path []PathElement

// PathElement is one step of a Path: a map key (or, first, an attribute name) or a list
// index.
type PathElement struct {
	Name    string
	Index   int
	IsIndex bool
}

// Attribute returns the top-level attribute the path starts at.
func (p Path) Attribute() string { return p[0].Name }

// String writes the path as an expression would, a.b[3].c. Names are written as they are,
// even when an expression would need a #name for them.
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.IsIndex:
			b.WriteString("[" + strconv.Itoa(e.Index) + "]")
		case i > 0:
			b.WriteString("." + e.Name)
		default:
			b.WriteString(e.Name)
		}
	}
	return b.String()
}

// listString writes the path as DynamoDB's error messages do: [a, b, [3], c].
func (p Path) listString() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.IsIndex {
			parts[i] = "[" + strconv.Itoa(e.Index) + "]"
		} else {
			parts[i] = e.Name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (p Path) equal(q Path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// Lookup returns the value at the path in item, and whether there is one. A path through a
// missing attribute, a missing key, an index past the end of a list or a value of the wrong
// type (an index into a map, a key into a list or a scalar) finds nothing.
func (p Path) Lookup(item attr.Item) (attr.Value, bool) {
	v, ok := item[p[0].Name]
	if !ok {
		return attr.Value{}, false
	}
	for _, e := range p[1:] {
		var ok bool
		if v, ok = step(v, e); !ok {
			return attr.Value{}, false
		}
	}
	return v, true
}

// step returns the member of v that e selects.
func step(v attr.Value, e PathElement) (attr.Value, bool) {
	if e.IsIndex {
		if v.Kind != attr.KindL || e.Index >= len(v.L) {
			return attr.Value{}, false
		}
		return v.L[e.Index], true
	}
	if v.Kind != attr.KindM {
		return attr.Value{}, false
	}
	m, ok := v.M[e.Name]
	return m, ok
}

// opKind is the kind of an operand.
type opKind uint8

const (
	opPath        opKind = iota // the value at path
	opValue                     // an expression attribute value
	opSize                      // size(args[0])
	opIfNotExists               // if_not_exists(path, args[0])
	opListAppend                // list_append(args[0], args[1])
	opPlus                      // args[0] + args[1]
	opMinus                     // args[0] - args[1]
)

// operand is a checked operand: names resolved, values looked up.
type operand struct {
	kind opKind
	path Path       // opPath, opIfNotExists
	ref  string     // opValue: the :name it was written as
	val  attr.Value // opValue
	args []*operand
}

// value evaluates an operand of a condition against item. ok is false when there is no
// value: a missing attribute, or size of a missing attribute or of a type without a size.
func (o *operand) value(item attr.Item) (attr.Value, bool) {
	switch o.kind {
	case opPath:
		return o.path.Lookup(item)
	case opValue:
		return o.val, true
	case opSize:
		v, ok := o.args[0].value(item)
		if !ok {
			return attr.Value{}, false
		}
		n, ok := sizeOf(v)
		if !ok {
			return attr.Value{}, false
		}
		return attr.Num(attr.NumberFromInt64(int64(n))), true
	}
	return attr.Value{}, false // update-only operands never appear in conditions
}

// sizeOf is DynamoDB's size function: the length of a string in UTF-16 code units, of a
// binary in bytes, and the number of members of a set, list or map. Numbers, booleans and
// nulls have no size.
func sizeOf(v attr.Value) (int, bool) {
	switch v.Kind {
	case attr.KindS:
		n := 0
		for _, r := range v.S {
			if r >= 0x10000 && r <= utf8.MaxRune {
				n += 2
			} else {
				n++
			}
		}
		return n, true
	case attr.KindB:
		return len(v.B), true
	case attr.KindSS:
		return len(v.SS), true
	case attr.KindNS:
		return len(v.NS), true
	case attr.KindBS:
		return len(v.BS), true
	case attr.KindL:
		return len(v.L), true
	case attr.KindM:
		return len(v.M), true
	}
	return 0, false
}

// String writes the operand as an expression, with values as their :names.
func (o *operand) String() string {
	switch o.kind {
	case opPath:
		return o.path.String()
	case opValue:
		if o.ref == "" { // a legacy parameter's value
			return "{" + o.val.Kind.String() + ":" + valueText(o.val) + "}"
		}
		return o.ref
	case opSize:
		return "size(" + o.args[0].String() + ")"
	case opIfNotExists:
		return "if_not_exists(" + o.path.String() + ", " + o.args[0].String() + ")"
	case opListAppend:
		return "list_append(" + o.args[0].String() + ", " + o.args[1].String() + ")"
	case opPlus:
		return o.args[0].String() + " + " + o.args[1].String()
	case opMinus:
		return o.args[0].String() + " - " + o.args[1].String()
	}
	return "?"
}

// condKind is the kind of a condition.
type condKind uint8

const (
	cCompare    condKind = iota // args[0] op args[1]
	cBetween                    // args[0] BETWEEN args[1] AND args[2]
	cIn                         // args[0] IN (args[1:]...)
	cAnd                        // subs[0] AND subs[1]
	cOr                         // subs[0] OR subs[1]
	cNot                        // NOT subs[0]
	cExists                     // attribute_exists(args[0])
	cNotExists                  // attribute_not_exists(args[0])
	cType                       // attribute_type(args[0], args[1])
	cBeginsWith                 // begins_with(args[0], args[1])
	cContains                   // contains(args[0], args[1])
)

// cond is a checked condition.
type cond struct {
	kind condKind
	op   string // cCompare: =, <>, <, <=, > or >=
	args []*operand
	subs []*cond
}

// eval evaluates the condition against item (nil: no item). It never fails: comparisons of
// missing values or of values of different types are false, as in DynamoDB, except <>,
// which is true unless both sides exist and are equal.
func (c *cond) eval(item attr.Item) bool {
	switch c.kind {
	case cAnd:
		return c.subs[0].eval(item) && c.subs[1].eval(item)
	case cOr:
		return c.subs[0].eval(item) || c.subs[1].eval(item)
	case cNot:
		return !c.subs[0].eval(item)
	case cCompare:
		a, aok := c.args[0].value(item)
		b, bok := c.args[1].value(item)
		switch c.op {
		case "=":
			return aok && bok && attr.Equal(a, b)
		case "<>":
			return !(aok && bok && attr.Equal(a, b))
		}
		if !aok || !bok {
			return false
		}
		n, ok := attr.Compare(a, b)
		if !ok {
			return false
		}
		switch c.op {
		case "<":
			return n < 0
		case "<=":
			return n <= 0
		case ">":
			return n > 0
		default: // >=
			return n >= 0
		}
	case cBetween:
		a, ok := c.args[0].value(item)
		if !ok {
			return false
		}
		lo, lok := c.args[1].value(item)
		hi, hok := c.args[2].value(item)
		if !lok || !hok {
			return false
		}
		n, ok := attr.Compare(a, lo)
		if !ok || n < 0 {
			return false
		}
		n, ok = attr.Compare(a, hi)
		return ok && n <= 0
	case cIn:
		a, ok := c.args[0].value(item)
		if !ok {
			return false
		}
		for _, o := range c.args[1:] {
			if b, ok := o.value(item); ok && attr.Equal(a, b) {
				return true
			}
		}
		return false
	case cExists:
		_, ok := c.args[0].path.Lookup(item)
		return ok
	case cNotExists:
		_, ok := c.args[0].path.Lookup(item)
		return !ok
	case cType:
		a, ok := c.args[0].value(item)
		t, tok := c.args[1].value(item)
		return ok && tok && t.Kind == attr.KindS && a.Kind.String() == t.S
	case cBeginsWith:
		a, aok := c.args[0].value(item)
		b, bok := c.args[1].value(item)
		if !aok || !bok || a.Kind != b.Kind {
			return false
		}
		switch a.Kind {
		case attr.KindS:
			return strings.HasPrefix(a.S, b.S)
		case attr.KindB:
			return bytes.HasPrefix(a.B, b.B)
		}
		return false
	case cContains:
		a, aok := c.args[0].value(item)
		b, bok := c.args[1].value(item)
		return aok && bok && contains(a, b)
	}
	return false
}

// contains is DynamoDB's contains function: a substring of a string, a subsequence of a
// binary, a member of a set (of the matching type) or an element of a list.
func contains(a, b attr.Value) bool {
	switch a.Kind {
	case attr.KindS:
		return b.Kind == attr.KindS && strings.Contains(a.S, b.S)
	case attr.KindB:
		return b.Kind == attr.KindB && bytes.Contains(a.B, b.B)
	case attr.KindSS:
		if b.Kind == attr.KindS {
			for _, s := range a.SS {
				if s == b.S {
					return true
				}
			}
		}
	case attr.KindNS:
		if b.Kind == attr.KindN {
			for _, n := range a.NS {
				if n.Cmp(b.N) == 0 {
					return true
				}
			}
		}
	case attr.KindBS:
		if b.Kind == attr.KindB {
			for _, x := range a.BS {
				if bytes.Equal(x, b.B) {
					return true
				}
			}
		}
	case attr.KindL:
		for _, x := range a.L {
			if attr.Equal(x, b) {
				return true
			}
		}
	}
	return false
}

// funcNames are the names of the function conditions, by kind.
var funcNames = map[condKind]string{
	cExists: "attribute_exists", cNotExists: "attribute_not_exists", cType: "attribute_type",
	cBeginsWith: "begins_with", cContains: "contains",
}

// String writes the condition as an expression with every compound condition in
// parentheses, so that precedence is visible.
func (c *cond) String() string {
	switch c.kind {
	case cAnd:
		return "(" + c.subs[0].String() + " AND " + c.subs[1].String() + ")"
	case cOr:
		return "(" + c.subs[0].String() + " OR " + c.subs[1].String() + ")"
	case cNot:
		return "(NOT " + c.subs[0].String() + ")"
	case cCompare:
		return "(" + c.args[0].String() + " " + c.op + " " + c.args[1].String() + ")"
	case cBetween:
		return "(" + c.args[0].String() + " BETWEEN " + c.args[1].String() + " AND " + c.args[2].String() + ")"
	case cIn:
		parts := make([]string, len(c.args)-1)
		for i, o := range c.args[1:] {
			parts[i] = o.String()
		}
		return "(" + c.args[0].String() + " IN (" + strings.Join(parts, ", ") + "))"
	}
	parts := make([]string, len(c.args))
	for i, o := range c.args {
		parts[i] = o.String()
	}
	return funcNames[c.kind] + "(" + strings.Join(parts, ", ") + ")"
}

// walkOperands calls f for every operand of the condition and of its sub-conditions.
func (c *cond) walkOperands(f func(*operand)) {
	for _, o := range c.args {
		o.walk(f)
	}
	for _, s := range c.subs {
		s.walkOperands(f)
	}
}

// walk calls f for o and every operand inside it.
func (o *operand) walk(f func(*operand)) {
	f(o)
	for _, a := range o.args {
		a.walk(f)
	}
}

// formatValue writes a value as DynamoDB's messages do: AttributeValue: {S:abc}.
func formatValue(v attr.Value) string {
	return "AttributeValue: {" + v.Kind.String() + ":" + valueText(v) + "}"
}

func valueText(v attr.Value) string {
	switch v.Kind {
	case attr.KindS:
		return v.S
	case attr.KindN:
		return v.N.String()
	case attr.KindB:
		return base64.StdEncoding.EncodeToString(v.B)
	case attr.KindBOOL:
		return strconv.FormatBool(v.Bool)
	case attr.KindNULL:
		return "true"
	case attr.KindSS:
		return "[" + strings.Join(v.SS, ", ") + "]"
	case attr.KindNS:
		parts := make([]string, len(v.NS))
		for i, n := range v.NS {
			parts[i] = n.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case attr.KindBS:
		parts := make([]string, len(v.BS))
		for i, b := range v.BS {
			parts[i] = base64.StdEncoding.EncodeToString(b)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case attr.KindL:
		parts := make([]string, len(v.L))
		for i, x := range v.L {
			parts[i] = formatValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case attr.KindM:
		return "{...}"
	}
	return ""
}
