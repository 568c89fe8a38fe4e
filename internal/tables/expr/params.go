package expr

import (
	"maps"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Expression is what every parsed expression tells about the placeholders it uses. A nil
// *Condition, *KeyCondition, *Projection or *Update uses none.
type Expression interface {
	UsedNames() []string
	UsedValues() []string
}

var (
	_ Expression = (*Condition)(nil)
	_ Expression = (*KeyCondition)(nil)
	_ Expression = (*Projection)(nil)
	_ Expression = (*Update)(nil)
)

// CheckUnused rejects ExpressionAttributeNames and ExpressionAttributeValues that none of
// a request's expressions uses, as DynamoDB does once every expression has parsed: "Value
// provided in ExpressionAttributeNames unused in expressions: keys: {#b}" (names first, keys
// sorted).
func CheckUnused(names Names, values Values, exprs ...Expression) error {
	usedNames, usedValues := map[string]bool{}, map[string]bool{}
	for _, e := range exprs {
		if e == nil {
			continue
		}
		for _, n := range e.UsedNames() {
			usedNames[n] = true
		}
		for _, v := range e.UsedValues() {
			usedValues[v] = true
		}
	}
	if unused := unusedKeys(slices.Collect(maps.Keys(names)), usedNames); unused != "" {
		return attr.Validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", unused)
	}
	if unused := unusedKeys(slices.Collect(maps.Keys(values)), usedValues); unused != "" {
		return attr.Validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", unused)
	}
	return nil
}

func unusedKeys(keys []string, used map[string]bool) string {
	var unused []string
	for _, k := range keys {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	slices.Sort(unused)
	return strings.Join(unused, ", ")
}

// ValidateParameters checks ExpressionAttributeNames and ExpressionAttributeValues before
// any expression is parsed: each map, when given, is not empty, and its keys are # or :
// followed by letters, digits and underscores. A nil map is one not given.
func ValidateParameters(names Names, values Values) error {
	if names != nil && len(names) == 0 {
		return attr.Validation("ExpressionAttributeNames must not be empty")
	}
	for _, k := range slices.Sorted(maps.Keys(names)) {
		if !placeholderKey(k, '#') {
			return attr.Validation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"%s\"", k)
		}
	}
	if values != nil && len(values) == 0 {
		return attr.Validation("ExpressionAttributeValues must not be empty")
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !placeholderKey(k, ':') {
			return attr.Validation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"%s\"", k)
		}
	}
	return nil
}

func placeholderKey(k string, sigil byte) bool {
	if len(k) < 2 || k[0] != sigil {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isWordChar(k[i]) {
			return false
		}
	}
	return true
}

// parameterSets are, per operation, its expression parameters and its legacy
// (non-expression) parameters, in the order DynamoDB lists them in messages.
var parameterSets = map[string]struct{ expressions, legacy []string }{
	"GetItem":      {[]string{"ProjectionExpression"}, []string{"AttributesToGet"}},
	"BatchGetItem": {[]string{"ProjectionExpression"}, []string{"AttributesToGet"}},
	"PutItem":      {[]string{"ConditionExpression"}, []string{"Expected", "ConditionalOperator"}},
	"DeleteItem":   {[]string{"ConditionExpression"}, []string{"Expected", "ConditionalOperator"}},
	"UpdateItem": {[]string{"UpdateExpression", "ConditionExpression"},
		[]string{"AttributeUpdates", "Expected", "ConditionalOperator"}},
	"Query": {[]string{"ProjectionExpression", "FilterExpression", "KeyConditionExpression"},
		[]string{"AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions"}},
	"Scan": {[]string{"ProjectionExpression", "FilterExpression"},
		[]string{"AttributesToGet", "ScanFilter", "ConditionalOperator"}},
}

// CheckParameters checks the mix of parameters of a request to operation (GetItem,
// BatchGetItem, PutItem, DeleteItem, UpdateItem, Query or Scan; for BatchGetItem, one
// table's KeysAndAttributes). present names the request's top-level parameters that are
// set (not null), in any order. It rejects, with DynamoDB's messages, expression and legacy
// parameters together ("Can not use both expression and non-expression parameters in the
// same request: Non-expression parameters: {Expected} Expression parameters:
// {ConditionExpression}"; a Query may combine KeyConditions with the other expressions),
// and ExpressionAttributeNames or ExpressionAttributeValues without an expression that
// could use them. Other operations are not checked.
func CheckParameters(operation string, present []string) error {
	set, ok := parameterSets[operation]
	if !ok {
		return nil
	}
	has := func(name string) bool { return slices.Contains(present, name) }
	var exprs, legacy []string
	for _, e := range set.expressions {
		if has(e) {
			exprs = append(exprs, e)
		}
	}
	if len(exprs) > 0 {
		for _, l := range set.legacy {
			if l == "KeyConditions" && !has("KeyConditionExpression") {
				continue
			}
			if has(l) {
				legacy = append(legacy, l)
			}
		}
		if len(legacy) > 0 {
			return attr.Validation("Can not use both expression and non-expression parameters in the same request: "+
				"Non-expression parameters: {%s} Expression parameters: {%s}", strings.Join(legacy, ", "), strings.Join(exprs, ", "))
		}
	}
	if has("ExpressionAttributeNames") && len(exprs) == 0 {
		return attr.Validation("ExpressionAttributeNames can only be specified when using expressions")
	}
	var valueExprs []string
	for _, e := range set.expressions {
		if e != "ProjectionExpression" {
			valueExprs = append(valueExprs, e)
		}
	}
	if has("ExpressionAttributeValues") && len(valueExprs) > 0 && !slices.ContainsFunc(valueExprs, has) {
		verb := "is"
		if len(valueExprs) > 1 {
			verb = "are"
		}
		return attr.Validation("ExpressionAttributeValues can only be specified when using expressions: %s %s null",
			strings.Join(valueExprs, " and "), verb)
	}
	return nil
}
