package expr

import (
	"github.com/polyregion/polyregion/internal/tables/attr"
	"slices"
)

// Condition is a parsed ConditionExpression or FilterExpression, or a translation of the
// legacy Expected, QueryFilter and ScanFilter parameters. It is immutable and safe for
// concurrent use.
type Condition struct {
	root *cond
	use  usage
}

// ParseCondition parses a ConditionExpression (PutItem, UpdateItem, DeleteItem,
// TransactWriteItems), resolving #names from names and :values from values. Errors are
// *attr.Error ValidationExceptions with DynamoDB's messages ("Invalid ConditionExpression:
// ...").
func ParseCondition(s string, names Names, values Values) (*Condition, error) {
	c, err := parseCondition("ConditionExpression", s, names, values)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseFilter parses a FilterExpression (Query, Scan): the same grammar as ParseCondition,
// with errors naming FilterExpression.
func ParseFilter(s string, names Names, values Values) (*Condition, error) {
	c, err := parseCondition("FilterExpression", s, names, values)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func parseCondition(label, s string, names Names, values Values) (*Condition, *attr.Error) {
	root, c, err := checkCondition(label, s, names, values)
	if err != nil {
		return nil, err
	}
	return newCondition(root, c.usage()), nil
}

// checkCondition parses and checks a condition-grammar expression.
func checkCondition(label, s string, names Names, values Values) (*cond, *checker, *attr.Error) {
	if err := checkText(label, s); err != nil {
		return nil, nil, err
	}
	p := newParser(s, label, modeCondition)
	var tree *pnode
	if err := p.run(func() { tree = p.parseConditionTree() }); err != nil {
		return nil, nil, err
	}
	c := newChecker(label, modeCondition, names, values)
	c.limits(p)
	root := c.checkCond(tree)
	if err := c.err(); err != nil {
		return nil, nil, err
	}
	return root, c, nil
}

func newCondition(root *cond, use usage) *Condition {
	root.walkOperands(func(o *operand) {
		if o.kind == opPath {
			use.addAttr(o.path.Attribute())
		}
	})
	return &Condition{root: root, use: use}
}

// Eval reports whether item satisfies the condition; a nil item is a missing item, on
// which only conditions such as attribute_not_exists hold. As in DynamoDB, evaluation does
// not fail: a comparison with a missing attribute, or between values of different types,
// is false (and <> true). The error is always nil today: DynamoDB defines no evaluation
// errors for conditions.
func (c *Condition) Eval(item attr.Item) (bool, error) {
	return c.root.eval(item), nil
}

// UsedNames returns the #names the expression uses, sorted.
func (c *Condition) UsedNames() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.use.names)
}

// UsedValues returns the :values the expression uses, sorted.
func (c *Condition) UsedValues() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.use.values)
}

// Attributes returns the top-level attributes the condition reads, in order of appearance
// (for the rule that a Query's filter may not name a key attribute).
func (c *Condition) Attributes() []string { return slices.Clone(c.use.attrs) }

// String writes the condition as an expression, with every compound condition in
// parentheses and values as their :names.
func (c *Condition) String() string { return c.root.String() }
