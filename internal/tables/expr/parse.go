package expr

import (
	"strconv"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The parser turns tokens into a syntax tree of pnodes, reporting only syntax errors (the
// first one, as DynamoDB does). Names, values, functions, types and limits are checked
// afterwards, on the whole tree, by the checker in check.go, so that its errors come in
// DynamoDB's order whatever their position.

// pkind is the kind of a syntax-tree node.
type pkind uint8

const (
	pPath    pkind = iota // a document path
	pValue                // an expression attribute value, :v
	pFunc                 // name(args...)
	pCompare              // args[0] text args[1]; text is =, <>, <, <=, > or >=
	pBetween              // args[0] BETWEEN args[1] AND args[2]
	pIn                   // args[0] IN (args[1:]...)
	pAnd                  // args[0] AND args[1]
	pOr                   // args[0] OR args[1]
	pNot                  // NOT args[0]
	pArith                // args[0] text args[1]; text is + or - (UpdateExpression SET only)
)

// isCondition reports whether nodes of kind k are conditions (true or false) rather than
// operands (values).
func (k pkind) isCondition() bool { return k >= pCompare && k <= pNot }

// pnode is a syntax-tree node.
type pnode struct {
	kind   pkind
	text   string   // comparator, function name, :value reference or arithmetic operator
	path   []pelem  // pPath
	args   []*pnode // operands or sub-conditions
	tok    int      // index of the node's first token
	end    int      // index of the token just after the node, closing parentheses included
	parens int      // pairs of parentheses directly around the node
}

// pelem is one element of a path as written.
type pelem struct {
	text    string // the identifier or #name; "" for an index
	index   int
	isIndex bool
	tok     int // index of the element's token
}

// Parsing limits.
const (
	// MaxExpressionSize is DynamoDB's limit on the length of any expression, in bytes.
	MaxExpressionSize = 4096
	// MaxOperators is DynamoDB's limit on the operators and functions in one expression.
	MaxOperators = 300
	// MaxInOperands is DynamoDB's limit on the operands of IN, the left one included.
	MaxInOperands = 100
	// MaxPathDepth is DynamoDB's limit on the elements of a document path.
	MaxPathDepth = 32
	// MaxNesting bounds parentheses, NOT and function calls nested in one another. An
	// expression DynamoDB accepts never needs more: every level but a redundant one costs an
	// operator, and there are at most MaxOperators.
	MaxNesting = MaxOperators
)

// mode selects the grammar: which words are keywords and which constructs exist.
type mode uint8

const (
	modeCondition mode = iota
	modeUpdate
	modeProjection
)

// keywords are the words that cannot be attribute names in each grammar (compared without
// regard to case).
var keywords = [...][]string{
	modeCondition:  {"AND", "OR", "NOT", "BETWEEN", "IN"},
	modeUpdate:     {"SET", "REMOVE", "ADD", "DELETE"},
	modeProjection: nil,
}

// parser holds the state of one parse.
type parser struct {
	src   string
	toks  []token
	pos   int
	label string // the parameter name in errors: "ConditionExpression", ...
	mode  mode

	depth     int  // current nesting
	redundant bool // some node has two pairs of parentheses directly around it
	ops       int  // operators and functions seen
	deepPath  int  // elements of the first path longer than MaxPathDepth; 0: none
}

// bailout carries a syntax error from deep in the parser to parse's recover.
type bailout struct{ err *attr.Error }

func newParser(src, label string, m mode) *parser {
	return &parser{src: src, toks: lex(src), label: label, mode: m}
}

// invalid returns a ValidationException for the parser's expression parameter.
func invalid(label, msg string) *attr.Error {
	return attr.Validation("Invalid %s: %s", label, msg)
}

// run calls f, turning a bailout into the error it carries.
func (p *parser) run(f func()) (err *attr.Error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = b.err
		}
	}()
	f()
	return nil
}

// fail stops the parse with DynamoDB's syntax error at token i.
func (p *parser) fail(i int) {
	t := p.toks[i]
	panic(bailout{invalid(p.label, `Syntax error; token: "`+t.text+`", near: "`+near(p.src, p.toks, i)+`"`)})
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) expect(k tokKind) token {
	if p.peek().kind != k {
		p.fail(p.pos)
	}
	return p.next()
}

// isKeyword reports whether t is the keyword word of the current grammar.
func (p *parser) isKeyword(t token, word string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, word)
}

// isAnyKeyword reports whether t is one of the current grammar's keywords.
func (p *parser) isAnyKeyword(t token) bool {
	if t.kind != tIdent {
		return false
	}
	for _, w := range keywords[p.mode] {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func (p *parser) expectKeyword(word string) {
	if !p.isKeyword(p.peek(), word) {
		p.fail(p.pos)
	}
	p.next()
}

// enter and leave bracket a nested construct, bounding recursion.
func (p *parser) enter() {
	p.depth++
	if p.depth > MaxNesting {
		panic(bailout{invalid(p.label, "The expression has too many nested levels; nesting levels: "+
			strconv.Itoa(p.depth)+", maximum: "+strconv.Itoa(MaxNesting))})
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) op() { p.ops++ }

// isNameStart reports whether t can start a path.
func (p *parser) isNameStart(t token) bool {
	return t.kind == tName || t.kind == tIdent && !p.isAnyKeyword(t)
}

// parsePath parses a document path: a name followed by .name and [index] selectors.
func (p *parser) parsePath() *pnode {
	start := p.pos
	t := p.peek()
	if !p.isNameStart(t) {
		p.fail(p.pos)
	}
	p.next()
	n := &pnode{kind: pPath, tok: start, path: []pelem{{text: t.text, tok: start}}}
	p.parseSelectors(n)
	return n
}

// parseSelectors appends .name and [index] selectors to the path n.
func (p *parser) parseSelectors(n *pnode) {
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			t := p.peek()
			if !p.isNameStart(t) {
				p.fail(p.pos)
			}
			p.next()
			n.path = append(n.path, pelem{text: t.text, tok: p.pos - 1})
		case tLBracket:
			p.next()
			t := p.peek()
			if t.kind != tNumber {
				p.fail(p.pos)
			}
			ix, err := strconv.Atoi(t.text)
			if err != nil || ix > maxIndex {
				p.fail(p.pos)
			}
			p.next()
			p.expect(tRBracket)
			n.path = append(n.path, pelem{index: ix, isIndex: true, tok: p.pos - 2})
		default:
			if len(n.path) > MaxPathDepth && p.deepPath == 0 {
				p.deepPath = len(n.path)
			}
			n.end = p.pos
			return
		}
	}
}

// maxIndex bounds list indexes. No list in a 400 KB item has this many elements.
const maxIndex = 1<<31 - 1

// parseOperand parses a path, a :value or a function call.
func (p *parser) parseOperand() *pnode {
	start := p.pos
	t := p.peek()
	switch {
	case t.kind == tValue:
		p.next()
		return &pnode{kind: pValue, text: t.text, tok: start, end: p.pos}
	case t.kind == tIdent && !p.isAnyKeyword(t) && p.toks[p.pos+1].kind == tLParen:
		p.next()
		p.next()
		p.op()
		p.enter()
		n := &pnode{kind: pFunc, text: t.text, tok: start}
		n.args = append(n.args, p.parseOperandParens())
		for p.peek().kind == tComma {
			p.next()
			n.args = append(n.args, p.parseOperandParens())
		}
		p.expect(tRParen)
		p.leave()
		n.end = p.pos
		return n
	case p.isNameStart(t):
		return p.parsePath()
	}
	p.fail(p.pos)
	return nil
}

// parseOperandParens parses an operand, possibly in parentheses.
func (p *parser) parseOperandParens() *pnode {
	if p.peek().kind != tLParen {
		return p.parseOperand()
	}
	open := p.pos
	p.next()
	p.enter()
	n := p.parseOperandParens()
	p.expect(tRParen)
	p.leave()
	return p.parenthesized(n, open)
}

// parenthesized records a pair of parentheses around n, which opened at token open and
// have just closed. A path in parentheses may continue with more selectors: (a.b).c is
// the path a.b.c.
func (p *parser) parenthesized(n *pnode, open int) *pnode {
	n.parens++
	if n.parens > 1 {
		p.redundant = true
	}
	n.tok, n.end = open, p.pos
	if n.kind == pPath && (p.peek().kind == tDot || p.peek().kind == tLBracket) {
		n.parens = 0
		p.parseSelectors(n)
	}
	return n
}

// Condition grammar (ConditionExpression, FilterExpression, KeyConditionExpression):
//
//	condition  := and { OR and }
//	and        := not { AND not }
//	not        := NOT not | comparison
//	comparison := atom [ comparator operand | BETWEEN operand AND operand | IN ( operand {, operand} ) ]
//	atom       := ( condition ) | operand
//	operand    := ( operand ) | path | :value | function ( operand {, operand} )
//
// An atom in parentheses may hold a condition or an operand: "(a = b)" and "(a) = b" both
// parse. Wherever a condition is required, a path or :value is a syntax error at the token
// after it (where DynamoDB expected a comparator); a function is accepted by the parser
// either way and checked later, as DynamoDB reports misused functions by name.

// parseConditionTree parses a whole condition expression.
func (p *parser) parseConditionTree() *pnode {
	n := p.parseOr()
	p.requireCondition(n)
	p.expect(tEOF)
	return n
}

func (p *parser) parseOr() *pnode {
	n := p.parseAnd()
	for p.isKeyword(p.peek(), "OR") {
		p.requireCondition(n)
		p.next()
		p.op()
		r := p.parseAnd()
		p.requireCondition(r)
		n = &pnode{kind: pOr, args: []*pnode{n, r}, tok: n.tok, end: r.end}
	}
	return n
}

func (p *parser) parseAnd() *pnode {
	n := p.parseNot()
	for p.isKeyword(p.peek(), "AND") {
		p.requireCondition(n)
		p.next()
		p.op()
		r := p.parseNot()
		p.requireCondition(r)
		n = &pnode{kind: pAnd, args: []*pnode{n, r}, tok: n.tok, end: r.end}
	}
	return n
}

func (p *parser) parseNot() *pnode {
	if !p.isKeyword(p.peek(), "NOT") {
		return p.parseComparison()
	}
	start := p.pos
	p.next()
	p.op()
	p.enter()
	x := p.parseNot()
	p.leave()
	p.requireCondition(x)
	return &pnode{kind: pNot, args: []*pnode{x}, tok: start, end: x.end}
}

func (p *parser) parseComparison() *pnode {
	left := p.parseAtom()
	t := p.peek()
	switch {
	case t.kind >= tEq && t.kind <= tGe:
		p.requireOperand(left)
		p.next()
		p.op()
		right := p.parseOperandParens()
		return &pnode{kind: pCompare, text: t.text, args: []*pnode{left, right}, tok: left.tok, end: right.end}
	case p.isKeyword(t, "BETWEEN"):
		p.requireOperand(left)
		p.next()
		p.op()
		lo := p.parseOperandParens()
		p.expectKeyword("AND")
		hi := p.parseOperandParens()
		return &pnode{kind: pBetween, args: []*pnode{left, lo, hi}, tok: left.tok, end: hi.end}
	case p.isKeyword(t, "IN"):
		p.requireOperand(left)
		p.next()
		p.op()
		p.expect(tLParen)
		n := &pnode{kind: pIn, args: []*pnode{left, p.parseOperandParens()}, tok: left.tok}
		for p.peek().kind == tComma {
			p.next()
			n.args = append(n.args, p.parseOperandParens())
		}
		p.expect(tRParen)
		n.end = p.pos
		return n
	}
	return left
}

func (p *parser) parseAtom() *pnode {
	if p.peek().kind != tLParen {
		return p.parseOperand()
	}
	open := p.pos
	p.next()
	p.enter()
	n := p.parseOr()
	p.expect(tRParen)
	p.leave()
	return p.parenthesized(n, open)
}

// requireCondition fails at the token after n when n is a path or a value where a condition
// must be.
func (p *parser) requireCondition(n *pnode) {
	if n.kind == pPath || n.kind == pValue || n.kind == pArith {
		p.fail(n.end)
	}
}

// requireOperand fails at the token after n when n is a condition where an operand must be.
func (p *parser) requireOperand(n *pnode) {
	if n.kind.isCondition() {
		p.fail(n.end)
	}
}

// Update grammar (UpdateExpression):
//
//	update  := clause { clause }
//	clause  := SET path = value {, path = value}
//	         | REMOVE path {, path}
//	         | ADD path :value {, path :value}
//	         | DELETE path :value {, path :value}
//	value   := term [ (+ | -) operand ]
//	term    := ( value ) | operand

// pclause is one clause of an update expression as written.
type pclause struct {
	keyword string // SET, REMOVE, ADD or DELETE, upper-case
	tok     int
	actions []paction
}

// paction is one action of a clause: its target path and, but for REMOVE, its value.
type paction struct {
	path  *pnode
	value *pnode
}

func (p *parser) parseUpdateTree() []pclause {
	var clauses []pclause
	for {
		t := p.peek()
		if t.kind == tEOF && len(clauses) > 0 {
			return clauses
		}
		kw := strings.ToUpper(t.text)
		if t.kind != tIdent || kw != "SET" && kw != "REMOVE" && kw != "ADD" && kw != "DELETE" {
			p.fail(p.pos)
		}
		c := pclause{keyword: kw, tok: p.pos}
		p.next()
		for {
			a := paction{path: p.parsePath()}
			switch kw {
			case "SET":
				p.expect(tEq)
				a.value = p.parseSetValue()
			case "ADD", "DELETE":
				t := p.expect(tValue)
				a.value = &pnode{kind: pValue, text: t.text, tok: p.pos - 1, end: p.pos}
			}
			c.actions = append(c.actions, a)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		clauses = append(clauses, c)
	}
}

// parseSetValue parses the value of a SET action: an operand, or two joined by + or -.
func (p *parser) parseSetValue() *pnode {
	var left *pnode
	if p.peek().kind == tLParen {
		open := p.pos
		p.next()
		p.enter()
		left = p.parseSetValue()
		p.expect(tRParen)
		p.leave()
		left = p.parenthesized(left, open)
	} else {
		left = p.parseOperand()
	}
	t := p.peek()
	if t.kind != tPlus && t.kind != tMinus {
		return left
	}
	if left.kind == pArith {
		p.fail(p.pos)
	}
	p.next()
	p.op()
	right := p.parseOperandParens()
	return &pnode{kind: pArith, text: t.text, args: []*pnode{left, right}, tok: left.tok, end: right.end}
}

// Projection grammar (ProjectionExpression):
//
//	projection := path {, path}

func (p *parser) parseProjectionTree() []*pnode {
	paths := []*pnode{p.parsePath()}
	for p.peek().kind == tComma {
		p.next()
		paths = append(paths, p.parsePath())
	}
	p.expect(tEOF)
	return paths
}

// String renders the tree with explicit parentheses around every compound node; tests use
// it to pin down the grammar.
func (n *pnode) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *pnode) write(b *strings.Builder) {
	switch n.kind {
	case pPath:
		for i, e := range n.path {
			switch {
			case e.isIndex:
				b.WriteString("[" + strconv.Itoa(e.index) + "]")
			case i > 0:
				b.WriteString("." + e.text)
			default:
				b.WriteString(e.text)
			}
		}
	case pValue:
		b.WriteString(n.text)
	case pFunc:
		b.WriteString(n.text + "(")
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteString(")")
	case pNot:
		b.WriteString("(NOT ")
		n.args[0].write(b)
		b.WriteString(")")
	case pBetween:
		b.WriteString("(")
		n.args[0].write(b)
		b.WriteString(" BETWEEN ")
		n.args[1].write(b)
		b.WriteString(" AND ")
		n.args[2].write(b)
		b.WriteString(")")
	case pIn:
		b.WriteString("(")
		n.args[0].write(b)
		b.WriteString(" IN (")
		for i, a := range n.args[1:] {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteString("))")
	default: // binary: pCompare, pAnd, pOr, pArith
		op := n.text
		switch n.kind {
		case pAnd:
			op = "AND"
		case pOr:
			op = "OR"
		}
		b.WriteString("(")
		n.args[0].write(b)
		b.WriteString(" " + op + " ")
		n.args[1].write(b)
		b.WriteString(")")
	}
}
