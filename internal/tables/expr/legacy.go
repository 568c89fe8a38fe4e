package expr

import (
	"maps"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The legacy (pre-expression) parameters, as their JSON reads, translated into the same
// checked trees the expressions parse into.

// LegacyCondition is one entry of KeyConditions, QueryFilter or ScanFilter:
// {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}.
type LegacyCondition struct {
	ComparisonOperator string       `json:"ComparisonOperator"`
	AttributeValueList []attr.Value `json:"AttributeValueList,omitempty"`
}

// ExpectedAttributeValue is one entry of Expected: either Value and/or Exists, or
// ComparisonOperator with AttributeValueList (or Value standing for a one-element list).
type ExpectedAttributeValue struct {
	Value              *attr.Value  `json:"Value,omitempty"`
	Exists             *bool        `json:"Exists,omitempty"`
	ComparisonOperator string       `json:"ComparisonOperator,omitempty"`
	AttributeValueList []attr.Value `json:"AttributeValueList,omitempty"`
}

// AttributeValueUpdate is one entry of AttributeUpdates: {"Action": "PUT", "Value": {...}}.
// An empty Action is PUT.
type AttributeValueUpdate struct {
	Action string      `json:"Action,omitempty"`
	Value  *attr.Value `json:"Value,omitempty"`
}

const invalidParams = "One or more parameter values were invalid: "

// comparisonOperatorSet is the enumeration DynamoDB lists when ComparisonOperator has
// another value.
const comparisonOperatorSet = "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"

// operandCounts is how many values each comparison operator takes (-1: one or more).
var operandCounts = map[string]int{
	"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "NOT_NULL": 0, "NULL": 0,
	"CONTAINS": 1, "NOT_CONTAINS": 1, "BEGINS_WITH": 1, "IN": -1, "BETWEEN": 2,
}

// operandKinds are the value types each comparison operator accepts.
var operandKinds = map[string][]attr.Kind{
	"EQ":           {attr.KindS, attr.KindN, attr.KindB, attr.KindSS, attr.KindNS, attr.KindBS},
	"NE":           {attr.KindS, attr.KindN, attr.KindB, attr.KindSS, attr.KindNS, attr.KindBS},
	"LE":           {attr.KindS, attr.KindN, attr.KindB},
	"LT":           {attr.KindS, attr.KindN, attr.KindB},
	"GE":           {attr.KindS, attr.KindN, attr.KindB},
	"GT":           {attr.KindS, attr.KindN, attr.KindB},
	"CONTAINS":     {attr.KindS, attr.KindN, attr.KindB},
	"NOT_CONTAINS": {attr.KindS, attr.KindN, attr.KindB},
	"BEGINS_WITH":  {attr.KindS, attr.KindB},
	"IN":           {attr.KindS, attr.KindN, attr.KindB},
	"BETWEEN":      {attr.KindS, attr.KindN, attr.KindB},
}

// lowerFirst turns a parameter name into the member name in DynamoDB's validation
// messages (QueryFilter: queryFilter).
func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func enumError(value, at, set string) *attr.Error {
	return attr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: %s", value, at, set)
}

// checkLegacyCondition checks one condition's operator and values as DynamoDB does for
// KeyConditions, QueryFilter, ScanFilter and, after its own checks, Expected.
func checkLegacyCondition(param, name, op string, vals []attr.Value) *attr.Error {
	want, ok := operandCounts[op]
	if !ok {
		return enumError(op, lowerFirst(param)+"."+name+".member.comparisonOperator", comparisonOperatorSet)
	}
	if want >= 0 && len(vals) != want || want < 0 && len(vals) == 0 {
		return attr.Validation("%sInvalid number of argument(s) for the %s ComparisonOperator", invalidParams, op)
	}
	for _, v := range vals[min(1, len(vals)):] {
		if v.Kind != vals[0].Kind {
			return attr.Validation("%sAttributeValues inside AttributeValueList must be of same type", invalidParams)
		}
	}
	for _, v := range vals {
		if !slices.Contains(operandKinds[op], v.Kind) {
			return attr.Validation("%sComparisonOperator %s is not valid for %s AttributeValue type", invalidParams, op, v.Kind)
		}
	}
	if op == "BETWEEN" {
		if n, ok := attr.Compare(vals[0], vals[1]); ok && n > 0 {
			return attr.Validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
		}
	}
	return nil
}

// legacyCond translates one checked legacy condition on a top-level attribute.
func legacyCond(name, op string, vals []attr.Value) *cond {
	path := &operand{kind: opPath, path: Path{{Name: name}}}
	args := []*operand{path}
	for _, v := range vals {
		args = append(args, &operand{kind: opValue, val: v})
	}
	switch op {
	case "EQ", "NE", "LE", "LT", "GE", "GT":
		comparator := map[string]string{"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}[op]
		return &cond{kind: cCompare, op: comparator, args: args}
	case "NOT_NULL":
		return &cond{kind: cExists, args: args}
	case "NULL":
		return &cond{kind: cNotExists, args: args}
	case "CONTAINS":
		return &cond{kind: cContains, args: args}
	case "NOT_CONTAINS":
		// Unlike NOT contains(...), NOT_CONTAINS is false when the attribute is missing.
		return &cond{kind: cAnd, subs: []*cond{
			{kind: cExists, args: args[:1]},
			{kind: cNot, subs: []*cond{{kind: cContains, args: args}}},
		}}
	case "BEGINS_WITH":
		return &cond{kind: cBeginsWith, args: args}
	case "IN":
		return &cond{kind: cIn, args: args}
	}
	return &cond{kind: cBetween, args: args} // BETWEEN
}

// joinConds combines conditions with the legacy ConditionalOperator (AND when empty).
func joinConds(conds []*cond, conditionalOperator string) (*cond, *attr.Error) {
	kind := cAnd
	switch conditionalOperator {
	case "", "AND":
	case "OR":
		kind = cOr
	default:
		return nil, enumError(conditionalOperator, "conditionalOperator", "[AND, OR]")
	}
	root := conds[0]
	for _, c := range conds[1:] {
		root = &cond{kind: kind, subs: []*cond{root, c}}
	}
	return root, nil
}

// ExpectedCondition translates Expected and ConditionalOperator into a Condition (nil when
// Expected has no entries), with DynamoDB's validation: "One or more parameter values were
// invalid: Value must be provided when Exists is true for Attribute: a", ...
func ExpectedCondition(expected map[string]ExpectedAttributeValue, conditionalOperator string) (*Condition, error) {
	c, err := expectedCondition(expected, conditionalOperator)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func expectedCondition(expected map[string]ExpectedAttributeValue, conditionalOperator string) (*Condition, *attr.Error) {
	if len(expected) == 0 {
		return nil, nil
	}
	var conds []*cond
	for _, name := range slices.Sorted(maps.Keys(expected)) {
		e := expected[name]
		hasList := e.AttributeValueList != nil
		switch {
		case hasList && e.Value != nil:
			return nil, attr.Validation("%sValue and AttributeValueList cannot be used together for Attribute: %s", invalidParams, name)
		case e.ComparisonOperator != "":
			if e.Exists != nil {
				return nil, attr.Validation("%sExists and ComparisonOperator cannot be used together for Attribute: %s", invalidParams, name)
			}
			vals := e.AttributeValueList
			if e.Value != nil {
				vals = []attr.Value{*e.Value}
			}
			_, known := operandCounts[e.ComparisonOperator]
			if known && operandCounts[e.ComparisonOperator] != 0 && !hasList && e.Value == nil {
				return nil, attr.Validation("%sValue or AttributeValueList must be used with ComparisonOperator: %s for Attribute: %s",
					invalidParams, e.ComparisonOperator, name)
			}
			if err := checkLegacyCondition("Expected", name, e.ComparisonOperator, vals); err != nil {
				return nil, err
			}
			conds = append(conds, legacyCond(name, e.ComparisonOperator, vals))
		case hasList:
			return nil, attr.Validation("%sAttributeValueList can only be used with a ComparisonOperator for Attribute: %s", invalidParams, name)
		default:
			exists := e.Exists == nil || *e.Exists
			switch {
			case exists && e.Value == nil:
				state := "null"
				if e.Exists != nil {
					state = "true"
				}
				return nil, attr.Validation("%sValue must be provided when Exists is %s for Attribute: %s", invalidParams, state, name)
			case !exists && e.Value != nil:
				return nil, attr.Validation("%sValue cannot be used when Exists is false for Attribute: %s", invalidParams, name)
			case exists:
				conds = append(conds, legacyCond(name, "EQ", []attr.Value{*e.Value}))
			default:
				conds = append(conds, legacyCond(name, "NULL", nil))
			}
		}
	}
	root, err := joinConds(conds, conditionalOperator)
	if err != nil {
		return nil, err
	}
	return newCondition(root, usage{}), nil
}

// FilterCondition translates a QueryFilter or ScanFilter (parameter names which, for the
// messages) and ConditionalOperator into a Condition; nil when there are no conditions.
func FilterCondition(parameter string, conditions map[string]LegacyCondition, conditionalOperator string) (*Condition, error) {
	c, err := filterCondition(parameter, conditions, conditionalOperator)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func filterCondition(parameter string, conditions map[string]LegacyCondition, conditionalOperator string) (*Condition, *attr.Error) {
	if len(conditions) == 0 {
		return nil, nil
	}
	var conds []*cond
	for _, name := range slices.Sorted(maps.Keys(conditions)) {
		lc := conditions[name]
		if err := checkLegacyCondition(parameter, name, lc.ComparisonOperator, lc.AttributeValueList); err != nil {
			return nil, err
		}
		conds = append(conds, legacyCond(name, lc.ComparisonOperator, lc.AttributeValueList))
	}
	root, err := joinConds(conds, conditionalOperator)
	if err != nil {
		return nil, err
	}
	return newCondition(root, usage{}), nil
}

// KeyConditions translates a Query's legacy KeyConditions for a key of partitionKey and
// sortKey (empty when there is none), with the checks ParseKeyCondition makes of the key
// schema and "Attempted conditional constraint is not an indexable operation" for NE,
// NULL, NOT_NULL, CONTAINS, NOT_CONTAINS and IN.
func KeyConditions(conditions map[string]LegacyCondition, partitionKey, sortKey string) (*KeyCondition, error) {
	k, err := keyConditions(conditions, partitionKey, sortKey)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func keyConditions(conditions map[string]LegacyCondition, partitionKey, sortKey string) (*KeyCondition, *attr.Error) {
	var parts []keyPart
	for _, name := range slices.Sorted(maps.Keys(conditions)) {
		lc := conditions[name]
		if err := checkLegacyCondition("KeyConditions", name, lc.ComparisonOperator, lc.AttributeValueList); err != nil {
			return nil, err
		}
		parts = append(parts, keyPart{name: name, operator: lc.ComparisonOperator, values: lc.AttributeValueList})
	}
	if len(parts) < 1 || len(parts) > 2 {
		return nil, attr.Validation("Conditions can be of length 1 or 2 only")
	}
	k, err := newKeyCondition(parts, partitionKey, sortKey)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		k.use.addAttr(p.name)
	}
	return k, nil
}

// AttributeUpdates translates UpdateItem's legacy AttributeUpdates into an Update, with
// DynamoDB's validation. PUT sets the attribute; DELETE without a value removes it, with a
// set value removes those members (and the attribute when none remain); ADD adds to a
// number, to a set or (unlike the ADD clause of an expression) to the end of a list, and
// creates the attribute when it is missing. Updates of the wrong type fail with "Type
// mismatch for attribute to update". Attribute names are names, never paths: "a.b" is the
// attribute called a.b.
func AttributeUpdates(updates map[string]AttributeValueUpdate) (*Update, error) {
	u, err := attributeUpdates(updates)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func attributeUpdates(updates map[string]AttributeValueUpdate) (*Update, *attr.Error) {
	var actions []action
	for _, name := range slices.Sorted(maps.Keys(updates)) {
		up := updates[name]
		a := action{path: Path{{Name: name}}}
		if up.Value != nil {
			a.value = &operand{kind: opValue, val: *up.Value}
		}
		switch up.Action {
		case "", "PUT":
			if up.Value == nil {
				return nil, attr.Validation("%sOnly DELETE action is allowed when no attribute value is specified", invalidParams)
			}
			a.kind = aSet
		case "ADD":
			if up.Value == nil {
				return nil, attr.Validation("%sOnly DELETE action is allowed when no attribute value is specified", invalidParams)
			}
			if k := up.Value.Kind; k != attr.KindN && k != attr.KindL && !k.IsSet() {
				return nil, attr.Validation("%sADD action is not supported for the type %s", invalidParams, k)
			}
			a.kind = aAdd
		case "DELETE":
			a.kind = aRemove
			if up.Value != nil {
				if k := up.Value.Kind; !k.IsSet() {
					return nil, attr.Validation("%sDELETE action with value is not supported for the type %s", invalidParams, k)
				}
				a.kind = aDelete
			}
		default:
			return nil, enumError(up.Action, "attributeUpdates."+name+".member.action", "[ADD, PUT, DELETE]")
		}
		actions = append(actions, a)
	}
	return newUpdate(actions, usage{}, true), nil
}

// AttributesToGet translates the legacy AttributesToGet into a Projection of those
// top-level attributes (names, never paths).
func AttributesToGet(names []string) (*Projection, error) {
	if len(names) == 0 {
		return nil, attr.Validation("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	paths := make([]Path, len(names))
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			return nil, attr.Validation("%sDuplicate value in attribute name: %s", invalidParams, n)
		}
		paths[i] = Path{{Name: n}}
	}
	return newProjection(paths, usage{}), nil
}
