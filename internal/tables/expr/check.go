package expr

import (
	"slices"
	"strconv"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Names are a request's ExpressionAttributeNames: #name to attribute name.
type Names map[string]string

// Values are a request's ExpressionAttributeValues: :name to value.
type Values map[string]attr.Value

// errClass orders the errors the checker finds. When an expression has several, DynamoDB
// reports one of the earliest class; within a class, the first found (in the order of the
// expression's text) wins.
type errClass uint8

const (
	ecLimit    errClass = iota // too many operators, a path too deep
	ecParens                   // redundant parentheses
	ecFunction                 // unknown function, or one not allowed in this expression
	ecMisused                  // a condition function used as an operand, or size as a condition
	ecReserved                 // a reserved word as an attribute name
	ecSection                  // an update clause used twice
	ecName                     // an undefined #name (update and projection expressions)
	ecValue                    // an undefined :value (update expressions)
	ecOverlap                  // two paths overlap
	ecConflict                 // two paths conflict
	ecOperand                  // the type of an ADD or DELETE operand
	ecArgs                     // operands of operators and functions; in conditions also names and values
	ecCount
)

// checker validates a syntax tree and builds the checked tree from it.
type checker struct {
	label  string
	mode   mode
	names  Names
	values Values

	usedNames  map[string]bool
	usedValues map[string]bool
	errs       [ecCount]string
}

func newChecker(label string, m mode, names Names, values Values) *checker {
	return &checker{label: label, mode: m, names: names, values: values,
		usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

// fault records msg as the error of its class unless the class already has one.
func (c *checker) fault(class errClass, msg string) {
	if c.errs[class] == "" {
		c.errs[class] = msg
	}
}

// err returns the error DynamoDB reports, if any.
func (c *checker) err() *attr.Error {
	for _, m := range c.errs {
		if m != "" {
			return invalid(c.label, m)
		}
	}
	return nil
}

// limits records what the parser counted against DynamoDB's limits.
func (c *checker) limits(p *parser) {
	if p.ops > MaxOperators {
		c.fault(ecLimit, "The expression contains too many operators; operator count: "+strconv.Itoa(p.ops))
	}
	if p.deepPath > 0 {
		c.fault(ecLimit, "The document path has too many nesting levels; nesting levels: "+strconv.Itoa(p.deepPath))
	}
	if p.redundant {
		c.fault(ecParens, "The expression has redundant parentheses;")
	}
}

// nameClass and valueClass are where undefined names and values rank: in conditions they
// rank with the other faults of the condition they appear in; elsewhere ahead of them.
func (c *checker) nameClass() errClass {
	if c.mode == modeCondition {
		return ecArgs
	}
	return ecName
}

func (c *checker) valueClass() errClass {
	if c.mode == modeCondition {
		return ecArgs
	}
	return ecValue
}

// resolvePath turns a path as written into a Path, replacing #names and checking bare
// names against the reserved words.
func (c *checker) resolvePath(n *pnode) Path {
	path := make(Path, len(n.path))
	for i, e := range n.path {
		switch {
		case e.isIndex:
			path[i] = PathElement{Index: e.index, IsIndex: true}
		case e.text[0] == '#':
			name, ok := c.names[e.text]
			if !ok {
				c.fault(c.nameClass(), "An expression attribute name used in the document path is not defined; attribute name: "+e.text)
			}
			c.usedNames[e.text] = true
			path[i] = PathElement{Name: name}
		default:
			if IsReserved(e.text) {
				c.fault(ecReserved, "Attribute name is a reserved keyword; reserved keyword: "+e.text)
			}
			path[i] = PathElement{Name: e.text}
		}
	}
	return path
}

// resolveValue looks up a :value.
func (c *checker) resolveValue(n *pnode) *operand {
	v, ok := c.values[n.text]
	if !ok {
		c.fault(c.valueClass(), "An expression attribute value used in expression is not defined; attribute value: "+n.text)
	}
	c.usedValues[n.text] = true
	return &operand{kind: opValue, ref: n.text, val: v}
}

// The functions of each kind of expression.
var (
	conditionFunctions = map[string]condKind{
		"attribute_exists": cExists, "attribute_not_exists": cNotExists, "attribute_type": cType,
		"begins_with": cBeginsWith, "contains": cContains,
	}
	updateFunctions = map[string]bool{"if_not_exists": true, "list_append": true}
)

func isConditionFunction(name string) bool {
	_, ok := conditionFunctions[name]
	return ok
}

// typeNames are the types attribute_type accepts, in the order DynamoDB lists them.
const typeNames = "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}"

// anyType is what DynamoDB names the type of an operand whose type is unknown until
// evaluation (a path) when a value of a definite type is required.
const anyType = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"

// typeOf returns the type an operand is known to have before evaluation ("" for paths).
func typeOf(o *operand) string {
	switch o.kind {
	case opValue:
		return o.val.Kind.String()
	case opSize, opPlus, opMinus:
		return "N"
	case opListAppend:
		return "L"
	case opIfNotExists:
		return typeOf(o.args[0])
	}
	return ""
}

// placeholders stand in for nodes that failed their checks; the checker has recorded an
// error, so they are never evaluated.
func placeholderOperand() *operand { return &operand{kind: opValue} }

func placeholderCond() *cond {
	return &cond{kind: cCompare, op: "=", args: []*operand{placeholderOperand(), placeholderOperand()}}
}

func (c *checker) argFault(msg string) { c.fault(ecArgs, msg) }

func operandCount(name string, n int) string {
	return "Incorrect number of operands for operator or function; operator or function: " + name +
		", number of operands: " + strconv.Itoa(n)
}

func operandType(name, typ string) string {
	return "Incorrect operand type for operator or function; operator or function: " + name +
		", operand type: " + typ
}

// checkCond checks a condition node (the parser guarantees n is one, or a function).
func (c *checker) checkCond(n *pnode) *cond {
	switch n.kind {
	case pAnd, pOr:
		a, b := c.checkCond(n.args[0]), c.checkCond(n.args[1])
		kind := cAnd
		if n.kind == pOr {
			kind = cOr
		}
		return &cond{kind: kind, subs: []*cond{a, b}}
	case pNot:
		return &cond{kind: cNot, subs: []*cond{c.checkCond(n.args[0])}}
	case pCompare:
		a, b := c.checkOperand(n.args[0]), c.checkOperand(n.args[1])
		c.distinct(n.text, a, b)
		return &cond{kind: cCompare, op: n.text, args: []*operand{a, b}}
	case pBetween:
		args := c.checkOperands(n.args)
		c.betweenBounds(args[1], args[2])
		return &cond{kind: cBetween, args: args}
	case pIn:
		args := c.checkOperands(n.args)
		if len(args) > MaxInOperands {
			c.argFault("The IN operator is provided with too many operands; number of operands: " + strconv.Itoa(len(args)))
		}
		return &cond{kind: cIn, args: args}
	case pFunc:
		return c.checkCondFunc(n)
	}
	return placeholderCond() // unreachable: the parser accepts no other condition
}

func (c *checker) checkOperands(ns []*pnode) []*operand {
	ops := make([]*operand, len(ns))
	for i, a := range ns {
		ops[i] = c.checkOperand(a)
	}
	return ops
}

// checkCondFunc checks a function used as a condition.
func (c *checker) checkCondFunc(n *pnode) *cond {
	name := n.text
	kind, ok := conditionFunctions[name]
	args := c.checkOperands(n.args)
	if !ok {
		switch {
		case name == "size":
			c.fault(ecMisused, "The function is not allowed to be used this way in an expression; function: size")
		case updateFunctions[name]:
			c.fault(ecFunction, "The function is not allowed in a condition expression; function: "+name)
		default:
			c.fault(ecFunction, "Invalid function name; function: "+name)
		}
		return placeholderCond()
	}
	want := 2
	if kind == cExists || kind == cNotExists {
		want = 1
	}
	if len(args) != want {
		c.argFault(operandCount(name, len(args)))
		return placeholderCond()
	}
	if want == 2 {
		c.distinct(name, args[0], args[1])
	}
	switch kind {
	case cExists, cNotExists:
		if args[0].kind != opPath {
			c.argFault("Operator or function requires a document path; operator or function: " + name)
		}
	case cType:
		switch t := typeOf(args[1]); {
		case t == "":
			c.argFault(operandType(name, anyType))
		case t != "S":
			c.argFault(operandType(name, t))
		case args[1].kind == opValue:
			if _, ok := attr.KindFromString(args[1].val.S); !ok {
				c.argFault("Invalid attribute type name found; type: " + args[1].val.S + ", valid types: " + typeNames)
			}
		}
	case cBeginsWith:
		for _, a := range args {
			if t := typeOf(a); t != "" && t != "S" && t != "B" {
				c.argFault(operandType(name, t))
				break
			}
		}
	}
	return &cond{kind: kind, args: args}
}

// checkOperand checks an operand of a condition.
func (c *checker) checkOperand(n *pnode) *operand {
	switch n.kind {
	case pPath:
		return &operand{kind: opPath, path: c.resolvePath(n)}
	case pValue:
		return c.resolveValue(n)
	case pFunc:
		name := n.text
		switch {
		case name == "size":
			args := c.checkOperands(n.args)
			if len(args) != 1 {
				c.argFault(operandCount(name, len(args)))
				return placeholderOperand()
			}
			if t := typeOf(args[0]); t == "N" || t == "BOOL" || t == "NULL" {
				c.argFault(operandType(name, t))
			}
			return &operand{kind: opSize, args: args}
		case isConditionFunction(name):
			c.fault(ecMisused, "The function is not allowed to be used this way in an expression; function: "+name)
			c.checkCondFunc(n)
		case updateFunctions[name]:
			c.fault(ecFunction, "The function is not allowed in a condition expression; function: "+name)
			c.checkOperands(n.args)
		default:
			c.fault(ecFunction, "Invalid function name; function: "+name)
			c.checkOperands(n.args)
		}
	}
	return placeholderOperand()
}

// distinct rejects a two-operand operator or function whose operands are the same path.
func (c *checker) distinct(op string, a, b *operand) {
	if a.kind == opPath && b.kind == opPath && a.path.equal(b.path) {
		c.argFault("The first operand must be distinct from the remaining operands for this operator or function; operator: " +
			op + ", first operand: " + a.path.listString())
	}
}

// betweenBounds checks BETWEEN bounds that are both values: of one type, in order.
func (c *checker) betweenBounds(lo, hi *operand) {
	if lo.kind != opValue || hi.kind != opValue || lo.val.Kind == 0 || hi.val.Kind == 0 {
		return
	}
	bounds := "lower bound operand: " + formatValue(lo.val) + ", upper bound operand: " + formatValue(hi.val)
	if lo.val.Kind != hi.val.Kind {
		c.argFault("The BETWEEN operator requires same data type for lower and upper bounds; " + bounds)
		return
	}
	if n, ok := attr.Compare(lo.val, hi.val); ok && n > 0 {
		c.argFault("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; " + bounds)
	}
}

// checkOverlaps rejects paths of which one is the other or inside it (they overlap), and
// paths that treat the same value as a map and as a list (they conflict).
func (c *checker) checkOverlaps(paths []Path) {
	for j := range paths {
		for i := range j {
			relate(c, paths[i], paths[j])
		}
	}
}

func relate(c *checker, p, q Path) {
	for k := 0; k < len(p) && k < len(q); k++ {
		if p[k].IsIndex != q[k].IsIndex {
			c.fault(ecConflict, "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: "+
				p.listString()+", path two: "+q.listString())
			return
		}
		if p[k] != q[k] {
			return
		}
	}
	c.fault(ecOverlap, "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: "+
		p.listString()+", path two: "+q.listString())
}

// usage is what a parsed expression refers to: the #names and :values it uses (sorted) and
// the top-level attributes its paths start at (in order of appearance).
type usage struct {
	names  []string
	values []string
	attrs  []string
}

func (c *checker) usage() usage {
	var u usage
	for n := range c.usedNames {
		u.names = append(u.names, n)
	}
	for v := range c.usedValues {
		u.values = append(u.values, v)
	}
	slices.Sort(u.names)
	slices.Sort(u.values)
	return u
}

// addAttr records a top-level attribute, once.
func (u *usage) addAttr(name string) {
	if !slices.Contains(u.attrs, name) {
		u.attrs = append(u.attrs, name)
	}
}

// checkText applies the checks DynamoDB makes before parsing.
func checkText(label, s string) *attr.Error {
	if s == "" {
		return invalid(label, "The expression can not be empty;")
	}
	if len(s) > MaxExpressionSize {
		return invalid(label, "Expression size has exceeded the maximum allowed size; expression size: "+strconv.Itoa(len(s)))
	}
	return nil
}
