package expr

import (
	"bytes"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// KeyCondition is a parsed KeyConditionExpression, or a translation of the legacy
// KeyConditions parameter: an equality on the partition key and at most one condition on
// the sort key. Treat it as immutable; it is safe for concurrent use.
type KeyCondition struct {
	// PartitionKey is the partition key's attribute name, Partition the value it must equal.
	PartitionKey string
	Partition    attr.Value
	// Sort is the condition on the sort key; nil when the query names only the partition key.
	Sort *SortCondition

	use usage
}

// SortCondition is a condition on the sort key.
type SortCondition struct {
	Key string // the sort key's attribute name
	// Operator is EQ, LT, LE, GT, GE, BETWEEN or BEGINS_WITH, as the legacy
	// ComparisonOperator names them.
	Operator string
	// Values are the operands: two for BETWEEN (lower, upper), one otherwise.
	Values []attr.Value
}

// Bound is one end of a KeyRange.
type Bound struct {
	Value     attr.Value
	Inclusive bool
}

// KeyRange is the range of sort key values a SortCondition admits, for scanning the
// partition in key order. A nil bound is unbounded. For BEGINS_WITH, End is the least
// value greater than every value with the prefix, exclusive (nil when there is none: a
// prefix of 0xFF bytes); for a string prefix it may not be valid UTF-8, so compare it
// bytewise, as DynamoDB orders strings.
type KeyRange struct {
	Start, End *Bound
}

// keyPart is one condition of a key condition, on one attribute.
type keyPart struct {
	name     string
	operator string
	values   []attr.Value
}

// ParseKeyCondition parses a Query's KeyConditionExpression for a table or index whose key
// is partitionKey and sortKey (empty when there is none). Besides the condition grammar's
// errors it rejects, with DynamoDB's messages, anything but "pk = :v" optionally AND-ed with
// one sort-key condition (=, <, <=, >, >=, BETWEEN or begins_with), each with the key
// attribute on one side: "Invalid operator used in KeyConditionExpression: OR", "Query
// condition missed key schema element: sk", "Query key condition not supported", ...
// Whether the values' types match the key's is CheckTypes's business.
func ParseKeyCondition(s string, names Names, values Values, partitionKey, sortKey string) (*KeyCondition, error) {
	k, err := parseKeyCondition(s, names, values, partitionKey, sortKey)
	if err != nil {
		return nil, err
	}
	return k, nil
}

const keyLabel = "KeyConditionExpression"

func parseKeyCondition(s string, names Names, values Values, partitionKey, sortKey string) (*KeyCondition, *attr.Error) {
	root, c, err := checkCondition(keyLabel, s, names, values)
	if err != nil {
		return nil, err
	}
	var parts []keyPart
	if msg := collectKeyParts(root, &parts); msg != "" {
		return nil, attr.Validation("%s", msg)
	}
	if len(parts) > 2 {
		return nil, attr.Validation("Conditions can be of length 1 or 2 only")
	}
	k, err := newKeyCondition(parts, partitionKey, sortKey)
	if err != nil {
		return nil, err
	}
	k.use = c.usage()
	for _, p := range parts {
		k.use.addAttr(p.name)
	}
	return k, nil
}

// comparisonOperators name the comparators as the legacy ComparisonOperator does, and
// mirrored says what each becomes when the key is on the right: :v < sk is sk > :v.
var (
	comparisonOperators = map[string]string{"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
	mirrored            = map[string]string{"EQ": "EQ", "LT": "GT", "LE": "GE", "GT": "LT", "GE": "LE"}
)

// collectKeyParts walks a key condition, appending one keyPart per condition; it returns
// DynamoDB's message for the first thing a key condition cannot contain.
func collectKeyParts(c *cond, parts *[]keyPart) string {
	const invalidOperator = "Invalid operator used in KeyConditionExpression: "
	switch c.kind {
	case cAnd:
		if msg := collectKeyParts(c.subs[0], parts); msg != "" {
			return msg
		}
		return collectKeyParts(c.subs[1], parts)
	case cOr:
		return invalidOperator + "OR"
	case cNot:
		return invalidOperator + "NOT"
	case cIn:
		return invalidOperator + "IN"
	case cExists, cNotExists, cType, cContains:
		return invalidOperator + funcNames[c.kind]
	case cCompare:
		if c.op == "<>" {
			return invalidOperator + "<>"
		}
	case cBetween, cBeginsWith:
		if c.args[0].kind != opPath {
			op := "BETWEEN"
			if c.kind == cBeginsWith {
				op = "begins_with"
			}
			return "Invalid condition in KeyConditionExpression: " + op + " operator must have the key attribute as its first operand"
		}
	}
	name, at := "", 0
	for i, a := range c.args {
		switch a.kind {
		case opPath:
			if name != "" {
				return "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
			}
			if len(a.path) > 1 {
				return "KeyConditionExpressions cannot have conditions on nested attributes"
			}
			name, at = a.path[0].Name, i
		case opSize:
			return "KeyConditionExpressions cannot contain nested operations"
		}
	}
	if name == "" {
		return "Invalid condition in KeyConditionExpression: No key attribute specified"
	}
	for _, p := range *parts {
		if p.name == name {
			return "KeyConditionExpressions must only contain one condition per key"
		}
	}
	p := keyPart{name: name}
	switch c.kind {
	case cCompare:
		p.operator = comparisonOperators[c.op]
		if at != 0 {
			p.operator = mirrored[p.operator]
		}
		p.values = []attr.Value{c.args[1-at].val}
	case cBetween:
		p.operator = "BETWEEN"
		p.values = []attr.Value{c.args[1].val, c.args[2].val}
	case cBeginsWith:
		p.operator = "BEGINS_WITH"
		p.values = []attr.Value{c.args[1].val}
	}
	*parts = append(*parts, p)
	return ""
}

// newKeyCondition checks the conditions against the key schema, as DynamoDB does for both
// KeyConditionExpression and KeyConditions.
func newKeyCondition(parts []keyPart, partitionKey, sortKey string) (*KeyCondition, *attr.Error) {
	find := func(name string) *keyPart {
		for i := range parts {
			if parts[i].name == name {
				return &parts[i]
			}
		}
		return nil
	}
	if sortKey == "" && len(parts) > 1 {
		return nil, attr.Validation("Query key condition not supported")
	}
	pk := find(partitionKey)
	if pk == nil {
		return nil, attr.Validation("Query condition missed key schema element: %s", partitionKey)
	}
	if !indexable(pk.operator) {
		return nil, attr.Validation("Attempted conditional constraint is not an indexable operation")
	}
	if pk.operator != "EQ" {
		return nil, attr.Validation("Query key condition not supported")
	}
	k := &KeyCondition{PartitionKey: partitionKey, Partition: pk.values[0]}
	if sortKey == "" {
		return k, nil
	}
	sk := find(sortKey)
	if sk == nil {
		if len(parts) > 1 {
			return nil, attr.Validation("Query condition missed key schema element: %s", sortKey)
		}
		return k, nil
	}
	if !indexable(sk.operator) {
		return nil, attr.Validation("Attempted conditional constraint is not an indexable operation")
	}
	k.Sort = &SortCondition{Key: sortKey, Operator: sk.operator, Values: sk.values}
	return k, nil
}

// indexable reports whether a key can be queried with the comparison operator.
func indexable(op string) bool {
	switch op {
	case "EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH":
		return true
	}
	return false
}

// CheckTypes checks the condition's values against the types of the partition and sort
// keys (sortType is ignored without a sort condition), with DynamoDB's message.
func (k *KeyCondition) CheckTypes(partitionType, sortType attr.Kind) error {
	mismatch := k.Partition.Kind != partitionType
	if k.Sort != nil {
		for _, v := range k.Sort.Values {
			mismatch = mismatch || v.Kind != sortType
		}
	}
	if mismatch {
		return attr.Validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
	}
	return nil
}

// Match reports whether item's key satisfies the condition.
func (k *KeyCondition) Match(item attr.Item) bool {
	v, ok := item[k.PartitionKey]
	if !ok || !attr.Equal(v, k.Partition) {
		return false
	}
	if k.Sort == nil {
		return true
	}
	v, ok = item[k.Sort.Key]
	return ok && k.Sort.Match(v)
}

// SortRange returns the range of sort key values the condition admits; without a sort
// condition, all of them.
func (k *KeyCondition) SortRange() KeyRange {
	if k.Sort == nil {
		return KeyRange{}
	}
	return k.Sort.Range()
}

// Match reports whether the sort key value v satisfies the condition. Values of another
// type never do.
func (s *SortCondition) Match(v attr.Value) bool {
	n, ok := attr.Compare(v, s.Values[0])
	if !ok {
		return false
	}
	switch s.Operator {
	case "EQ":
		return n == 0
	case "LT":
		return n < 0
	case "LE":
		return n <= 0
	case "GT":
		return n > 0
	case "GE":
		return n >= 0
	case "BETWEEN":
		m, ok := attr.Compare(v, s.Values[1])
		return n >= 0 && ok && m <= 0
	case "BEGINS_WITH":
		switch v.Kind {
		case attr.KindS:
			return strings.HasPrefix(v.S, s.Values[0].S)
		case attr.KindB:
			return bytes.HasPrefix(v.B, s.Values[0].B)
		}
	}
	return false
}

// Range returns the range of sort key values the condition admits.
func (s *SortCondition) Range() KeyRange {
	v := s.Values[0]
	switch s.Operator {
	case "EQ":
		return KeyRange{Start: &Bound{v, true}, End: &Bound{v, true}}
	case "LT":
		return KeyRange{End: &Bound{v, false}}
	case "LE":
		return KeyRange{End: &Bound{v, true}}
	case "GT":
		return KeyRange{Start: &Bound{v, false}}
	case "GE":
		return KeyRange{Start: &Bound{v, true}}
	case "BETWEEN":
		return KeyRange{Start: &Bound{v, true}, End: &Bound{s.Values[1], true}}
	}
	// BEGINS_WITH
	r := KeyRange{Start: &Bound{v, true}}
	switch v.Kind {
	case attr.KindS:
		if next, ok := prefixEnd([]byte(v.S)); ok {
			r.End = &Bound{attr.S(string(next)), false}
		}
	case attr.KindB:
		if next, ok := prefixEnd(v.B); ok {
			r.End = &Bound{attr.B(next), false}
		}
	}
	return r
}

// prefixEnd returns the least byte string greater than every string starting with p, or
// false when there is none (p is empty or all 0xFF).
func prefixEnd(p []byte) ([]byte, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			next := bytes.Clone(p[:i+1])
			next[i]++
			return next, true
		}
	}
	return nil, false
}

// UsedNames returns the #names the expression uses, sorted.
func (k *KeyCondition) UsedNames() []string {
	if k == nil {
		return nil
	}
	return slices.Clone(k.use.names)
}

// UsedValues returns the :values the expression uses, sorted.
func (k *KeyCondition) UsedValues() []string {
	if k == nil {
		return nil
	}
	return slices.Clone(k.use.values)
}
