package tables

import (
	"encoding/json"

	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/tables/expr"
)

// exprInput are the members every request with expressions has.
type exprInput struct {
	ExpressionAttributeNames  *map[string]string     `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues *map[string]attr.Value `json:"ExpressionAttributeValues"`
}

// exprs are a request's placeholders, for parsing its expressions.
type exprs struct {
	names  expr.Names
	values expr.Values
}

// presentParams returns the top-level members of a JSON request body that are set (not
// null), for expr.CheckParameters. The body has already decoded into the operation's
// input, so it is a JSON object.
func presentParams(body []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	present := make([]string, 0, len(m))
	for k, v := range m {
		if string(v) != "null" {
			present = append(present, k)
		}
	}
	return present
}

// begin checks the mix of parameters of a request to operation (present: the members it
// has, see presentParams) and the placeholder maps, as DynamoDB does before parsing.
// For a part of a request (a table's KeysAndAttributes, a transaction action), present
// names the part's members.
func (in *exprInput) begin(operation string, present []string) (*exprs, error) {
	if err := expr.CheckParameters(operation, present); err != nil {
		return nil, err
	}
	e := &exprs{}
	if in.ExpressionAttributeNames != nil {
		e.names = *in.ExpressionAttributeNames
	}
	if in.ExpressionAttributeValues != nil {
		e.values = *in.ExpressionAttributeValues
	}
	if err := expr.ValidateParameters(e.names, e.values); err != nil {
		return nil, err
	}
	return e, nil
}

// condition parses a ConditionExpression or translates the legacy Expected and
// ConditionalOperator (nil: no condition).
func (e *exprs) condition(s *string, expected map[string]expr.ExpectedAttributeValue, conditionalOperator *string) (*expr.Condition, error) {
	if s != nil {
		return expr.ParseCondition(*s, e.names, e.values)
	}
	if expected != nil {
		op := ""
		if conditionalOperator != nil {
			op = *conditionalOperator
		}
		return expr.ExpectedCondition(expected, op)
	}
	return nil, nil
}

// filter parses a FilterExpression or translates the legacy QueryFilter or ScanFilter
// (parameter names which) with ConditionalOperator (nil: no filter).
func (e *exprs) filter(s *string, parameter string, legacy map[string]expr.LegacyCondition, conditionalOperator *string) (*expr.Condition, error) {
	if s != nil {
		return expr.ParseFilter(*s, e.names, e.values)
	}
	if legacy != nil {
		op := ""
		if conditionalOperator != nil {
			op = *conditionalOperator
		}
		return expr.FilterCondition(parameter, legacy, op)
	}
	return nil, nil
}

// projection parses a ProjectionExpression or translates the legacy AttributesToGet (nil:
// every attribute).
func (e *exprs) projection(s *string, attributesToGet []string) (*expr.Projection, error) {
	if s != nil {
		return expr.ParseProjection(*s, e.names)
	}
	if attributesToGet != nil {
		return expr.AttributesToGet(attributesToGet)
	}
	return nil, nil
}

// end rejects placeholders that none of the request's parsed expressions uses. Pass
// every expression, nil ones included.
func (e *exprs) end(list ...expr.Expression) error {
	return expr.CheckUnused(e.names, e.values, list...)
}

// project applies p (nil: all attributes) to item.
func project(p *expr.Projection, item attr.Item) attr.Item {
	if p == nil || item == nil {
		return item
	}
	return p.Apply(item)
}
