package expr

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Update is a parsed UpdateExpression, or a translation of the legacy AttributeUpdates
// parameter. It is immutable and safe for concurrent use.
type Update struct {
	actions []action
	use     usage
	legacy  bool // from AttributeUpdates: legacy ADD and DELETE rules and messages
	targets *Projection
}

// actionKind is what an action does to its path.
type actionKind uint8

const (
	aSet    actionKind = iota // SET path = value (and AttributeUpdates PUT)
	aRemove                   // REMOVE path (and AttributeUpdates DELETE without a value)
	aAdd                      // ADD path :value
	aDelete                   // DELETE path :value
)

// action is one action of an update.
type action struct {
	kind  actionKind
	path  Path
	value *operand // nil for aRemove
}

// Runtime errors of updates, in DynamoDB's words.
const (
	msgBadPath       = "The document path provided in the update expression is invalid for update"
	msgMissingAttr   = "The provided expression refers to an attribute that does not exist in the item"
	msgBadOperand    = "An operand in the update expression has an incorrect data type"
	msgLegacyBadType = "Type mismatch for attribute to update"
)

// ParseUpdate parses an UpdateExpression: SET, REMOVE, ADD and DELETE clauses, each at
// most once, in any order, whose paths may not overlap or conflict.
func ParseUpdate(s string, names Names, values Values) (*Update, error) {
	u, err := parseUpdate(s, names, values)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func parseUpdate(s string, names Names, values Values) (*Update, *attr.Error) {
	const label = "UpdateExpression"
	if err := checkText(label, s); err != nil {
		return nil, err
	}
	p := newParser(s, label, modeUpdate)
	var clauses []pclause
	if err := p.run(func() { clauses = p.parseUpdateTree() }); err != nil {
		return nil, err
	}
	c := newChecker(label, modeUpdate, names, values)
	c.limits(p)
	seen := map[string]bool{}
	var actions []action
	var paths []Path
	for _, cl := range clauses {
		if seen[cl.keyword] {
			c.fault(ecSection, `The "`+cl.keyword+`" section can only be used once in an update expression;`)
		}
		seen[cl.keyword] = true
		for _, pa := range cl.actions {
			a := action{path: c.resolvePath(pa.path)}
			paths = append(paths, a.path)
			switch cl.keyword {
			case "SET":
				a.kind, a.value = aSet, c.checkSetValue(pa.value)
			case "REMOVE":
				a.kind = aRemove
			case "ADD":
				a.kind, a.value = aAdd, c.resolveValue(pa.value)
				c.checkSetOperator("ADD", a.value)
			case "DELETE":
				a.kind, a.value = aDelete, c.resolveValue(pa.value)
				c.checkSetOperator("DELETE", a.value)
			}
			actions = append(actions, a)
		}
	}
	c.checkOverlaps(paths)
	if err := c.err(); err != nil {
		return nil, err
	}
	return newUpdate(actions, c.usage(), false), nil
}

func newUpdate(actions []action, use usage, legacy bool) *Update {
	paths := make([]Path, len(actions))
	for i, a := range actions {
		paths[i] = a.path
		use.addAttr(a.path.Attribute())
	}
	return &Update{actions: actions, use: use, legacy: legacy, targets: newProjection(paths, usage{})}
}

// operandTypeWords name value types in the errors about ADD and DELETE operands.
var operandTypeWords = map[attr.Kind]string{
	attr.KindS: "STRING", attr.KindN: "NUMBER", attr.KindB: "BINARY", attr.KindNULL: "NULL",
	attr.KindBOOL: "BOOLEAN", attr.KindL: "LIST", attr.KindM: "MAP",
}

// checkSetOperator checks the operand of ADD (a number or a set) or DELETE (a set).
func (c *checker) checkSetOperator(op string, v *operand) {
	k := v.val.Kind
	if k == 0 || k.IsSet() || op == "ADD" && k == attr.KindN {
		return
	}
	c.fault(ecOperand, "Incorrect operand type for operator or function; operator: "+op+", operand type: "+operandTypeWords[k])
}

// checkSetValue checks the value of a SET action.
func (c *checker) checkSetValue(n *pnode) *operand {
	if n.kind != pArith {
		return c.checkUpdateOperand(n)
	}
	a, b := c.checkUpdateOperand(n.args[0]), c.checkUpdateOperand(n.args[1])
	for _, o := range []*operand{a, b} {
		if t := typeOf(o); t != "" && t != "N" {
			c.argFault(operandType(n.text, t))
			break
		}
	}
	kind := opPlus
	if n.text == "-" {
		kind = opMinus
	}
	return &operand{kind: kind, args: []*operand{a, b}}
}

// checkUpdateOperand checks an operand of a SET value: a path, a :value, if_not_exists or
// list_append.
func (c *checker) checkUpdateOperand(n *pnode) *operand {
	switch n.kind {
	case pPath:
		return &operand{kind: opPath, path: c.resolvePath(n)}
	case pValue:
		return c.resolveValue(n)
	}
	name := n.text
	args := make([]*operand, len(n.args))
	for i, a := range n.args {
		args[i] = c.checkUpdateOperand(a)
	}
	switch {
	case name == "size" || isConditionFunction(name):
		c.fault(ecFunction, "The function is not allowed in an update expression; function: "+name)
		return placeholderOperand()
	case !updateFunctions[name]:
		c.fault(ecFunction, "Invalid function name; function: "+name)
		return placeholderOperand()
	case len(args) != 2:
		c.argFault(operandCount(name, len(args)))
		return placeholderOperand()
	case name == "if_not_exists":
		if args[0].kind != opPath {
			c.argFault("Operator or function requires a document path; operator or function: " + name)
			return placeholderOperand()
		}
		return &operand{kind: opIfNotExists, path: args[0].path, args: args[1:]}
	}
	// list_append
	for _, a := range args {
		if a.kind == opListAppend {
			c.argFault("The function is not allowed to be used this way in an expression; function: " + name)
			break
		}
		if t := typeOf(a); t != "" && t != "L" {
			c.argFault(operandType(name, t))
			break
		}
	}
	return &operand{kind: opListAppend, args: args}
}

// UsedNames returns the #names the expression uses, sorted.
func (u *Update) UsedNames() []string {
	if u == nil {
		return nil
	}
	return slices.Clone(u.use.names)
}

// UsedValues returns the :values the expression uses, sorted.
func (u *Update) UsedValues() []string {
	if u == nil {
		return nil
	}
	return slices.Clone(u.use.values)
}

// Attributes returns the top-level attributes the update writes, in order of appearance
// (for the rule that an update may not change a key attribute).
func (u *Update) Attributes() []string { return slices.Clone(u.use.attrs) }

// String writes the update as an expression, its actions grouped by clause in the order
// written, with values as their :names (legacy values as {type:value}).
func (u *Update) String() string {
	keywords := [...]string{aSet: "SET", aRemove: "REMOVE", aAdd: "ADD", aDelete: "DELETE"}
	var b strings.Builder
	for i, a := range u.actions {
		switch {
		case i == 0:
			b.WriteString(keywords[a.kind] + " ")
		case a.kind != u.actions[i-1].kind:
			b.WriteString(" " + keywords[a.kind] + " ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(a.path.String())
		switch a.kind {
		case aSet:
			b.WriteString(" = " + a.value.String())
		case aAdd, aDelete:
			b.WriteString(" " + a.value.String())
		}
	}
	return b.String()
}

// Targets returns the projection of the paths the update writes. Applied to the item before
// and after the update, it gives DynamoDB's UPDATED_OLD and UPDATED_NEW return values,
// nested attributes included: SET a.b = :v returns {a: {b: ...}}, not all of a.
func (u *Update) Targets() *Projection { return u.targets }

// Apply returns the item that the update makes of item (nil: the item does not exist),
// and the top-level attributes it writes (as Attributes). item is not modified; the result
// shares unmodified values with it. Every value is computed from item as it was: SET a = b,
// b = a swaps. List indexes refer to positions before the update: REMOVE a[1], a[2]
// removes the second and third elements, and SET a[9] = :v on a shorter list appends.
//
// For an UpdateExpression on a missing item that only removes or deletes, the result is nil
// (the item is not created). Errors are DynamoDB's ValidationExceptions: a path into a
// missing or wrong-typed parent, an operand of the wrong type, a SET value reading an
// attribute that does not exist, a number out of range.
func (u *Update) Apply(item attr.Item) (attr.Item, []string, error) {
	out, err := u.apply(item)
	if err != nil {
		return nil, nil, err
	}
	return out, u.Attributes(), nil
}

func (u *Update) apply(item attr.Item) (attr.Item, *attr.Error) {
	root := &modNode{}
	creates := u.legacy
	for i := range u.actions {
		a := &u.actions[i]
		m := &mod{action: a}
		switch a.kind {
		case aSet:
			v, err := evalSet(a.value, item)
			if err != nil {
				return nil, err
			}
			m.value = v
			creates = true
		case aAdd:
			m.value = a.value.val
			creates = true
		case aDelete:
			m.value = a.value.val
		}
		root.insert(a.path, m)
	}
	out := make(attr.Item, len(item)+len(root.fields))
	maps.Copy(out, item)
	ap := applier{legacy: u.legacy, itemExists: item != nil}
	for _, name := range slices.Sorted(maps.Keys(root.fields)) {
		n := root.fields[name]
		old, exists := item[name]
		v, keep, err := ap.apply(n, old, exists)
		if err != nil {
			return nil, err
		}
		if keep {
			out[name] = v
		} else {
			delete(out, name)
		}
	}
	if item == nil && !creates && len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// evalSet evaluates the value of a SET action against the item before the update.
func evalSet(o *operand, item attr.Item) (attr.Value, *attr.Error) {
	switch o.kind {
	case opPath:
		v, ok := o.path.Lookup(item)
		if !ok {
			return attr.Value{}, attr.Validation("%s", msgMissingAttr)
		}
		return v, nil
	case opValue:
		return o.val, nil
	case opIfNotExists:
		if v, ok := o.path.Lookup(item); ok {
			return v, nil
		}
		return evalSet(o.args[0], item)
	}
	a, err := evalSet(o.args[0], item)
	if err != nil {
		return attr.Value{}, err
	}
	b, err := evalSet(o.args[1], item)
	if err != nil {
		return attr.Value{}, err
	}
	if o.kind == opListAppend {
		if a.Kind != attr.KindL || b.Kind != attr.KindL {
			return attr.Value{}, attr.Validation("%s", msgBadOperand)
		}
		l := make([]attr.Value, 0, len(a.L)+len(b.L))
		return attr.L(append(append(l, a.L...), b.L...)...), nil
	}
	if a.Kind != attr.KindN || b.Kind != attr.KindN {
		return attr.Value{}, attr.Validation("%s", msgBadOperand)
	}
	var n attr.Number
	var nerr error
	if o.kind == opPlus {
		n, nerr = a.N.Add(b.N)
	} else {
		n, nerr = a.N.Sub(b.N)
	}
	if nerr != nil {
		return attr.Value{}, asValidation(nerr)
	}
	return attr.Num(n), nil
}

// asValidation returns err as an *attr.Error, making it a ValidationException if attr
// returned something else.
func asValidation(err error) *attr.Error {
	var ae *attr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return attr.Validation("%s", err.Error())
}

// mod is the change an action makes at its path, its value computed.
type mod struct {
	action *action
	value  attr.Value
}

// modNode is a node of the tree of an update's paths: a change to make there, or the
// changes to make inside the map or list there. Because the paths neither overlap nor
// conflict, a node has one of the three.
type modNode struct {
	mod    *mod
	fields map[string]*modNode
	elems  map[int]*modNode
}

func (n *modNode) insert(p Path, m *mod) {
	for _, e := range p {
		var next *modNode
		if e.IsIndex {
			if n.elems == nil {
				n.elems = map[int]*modNode{}
			}
			if next = n.elems[e.Index]; next == nil {
				next = &modNode{}
				n.elems[e.Index] = next
			}
		} else {
			if n.fields == nil {
				n.fields = map[string]*modNode{}
			}
			if next = n.fields[e.Name]; next == nil {
				next = &modNode{}
				n.fields[e.Name] = next
			}
		}
		n = next
	}
	n.mod = m
}

// onlyRemoves reports whether every change under n is a REMOVE.
func (n *modNode) onlyRemoves() bool {
	if n.mod != nil {
		return n.mod.action.kind == aRemove
	}
	for _, c := range n.fields {
		if !c.onlyRemoves() {
			return false
		}
	}
	for _, c := range n.elems {
		if !c.onlyRemoves() {
			return false
		}
	}
	return true
}

// applier applies a tree of changes.
type applier struct {
	legacy     bool
	itemExists bool
}

// apply returns what the changes under n make of old (exists: whether there is an old
// value), and whether there is a value afterwards.
func (ap applier) apply(n *modNode, old attr.Value, exists bool) (attr.Value, bool, *attr.Error) {
	if n.mod != nil {
		return ap.change(n.mod, old, exists)
	}
	want := attr.KindM
	if n.elems != nil {
		want = attr.KindL
	}
	if !exists || old.Kind != want {
		// DynamoDB ignores REMOVE of paths through nothing when the item itself is missing.
		if !ap.itemExists && !exists && n.onlyRemoves() {
			return attr.Value{}, false, nil
		}
		return attr.Value{}, false, attr.Validation("%s", msgBadPath)
	}
	if want == attr.KindM {
		m := maps.Clone(old.M)
		if m == nil {
			m = map[string]attr.Value{}
		}
		for _, k := range slices.Sorted(maps.Keys(n.fields)) {
			child := n.fields[k]
			cv, cexists := old.M[k]
			v, keep, err := ap.apply(child, cv, cexists)
			if err != nil {
				return attr.Value{}, false, err
			}
			if keep {
				m[k] = v
			} else {
				delete(m, k)
			}
		}
		return attr.M(m), true, nil
	}
	l := make([]attr.Value, 0, len(old.L)+len(n.elems))
	for i, x := range old.L {
		child := n.elems[i]
		if child == nil {
			l = append(l, x)
			continue
		}
		v, keep, err := ap.apply(child, x, true)
		if err != nil {
			return attr.Value{}, false, err
		}
		if keep {
			l = append(l, v)
		}
	}
	// Elements set past the end are appended, in the order of their indexes.
	for _, i := range slices.Sorted(maps.Keys(n.elems)) {
		if i < len(old.L) {
			continue
		}
		v, keep, err := ap.apply(n.elems[i], attr.Value{}, false)
		if err != nil {
			return attr.Value{}, false, err
		}
		if keep {
			l = append(l, v)
		}
	}
	return attr.L(l...), true, nil
}

// change makes one action's change to old.
func (ap applier) change(m *mod, old attr.Value, exists bool) (attr.Value, bool, *attr.Error) {
	badType := func() (attr.Value, bool, *attr.Error) {
		if ap.legacy {
			return attr.Value{}, false, attr.Validation("%s", msgLegacyBadType)
		}
		return attr.Value{}, false, attr.Validation("%s", msgBadOperand)
	}
	v := m.value
	switch m.action.kind {
	case aSet:
		return v, true, nil
	case aRemove:
		return attr.Value{}, false, nil
	case aAdd:
		if !exists {
			return v, true, nil
		}
		switch {
		case old.Kind != v.Kind:
			return badType()
		case v.Kind == attr.KindN:
			n, err := old.N.Add(v.N)
			if err != nil {
				return attr.Value{}, false, asValidation(err)
			}
			return attr.Num(n), true, nil
		case v.Kind.IsSet():
			return union(old, v), true, nil
		case v.Kind == attr.KindL && ap.legacy:
			l := make([]attr.Value, 0, len(old.L)+len(v.L))
			return attr.L(append(append(l, old.L...), v.L...)...), true, nil
		}
		return badType()
	default: // aDelete
		if !exists {
			return attr.Value{}, false, nil
		}
		if old.Kind != v.Kind || !v.Kind.IsSet() {
			return badType()
		}
		d := difference(old, v)
		return d, setLen(d) > 0, nil
	}
}

// memberKeys returns a key per member of a set, equal for equal members.
func memberKeys(v attr.Value) []string {
	switch v.Kind {
	case attr.KindSS:
		return slices.Clone(v.SS)
	case attr.KindNS:
		keys := make([]string, len(v.NS))
		for i, n := range v.NS {
			keys[i] = n.String() // Numbers are normalised: equal numbers, equal strings
		}
		return keys
	}
	keys := make([]string, len(v.BS))
	for i, b := range v.BS {
		keys[i] = string(b)
	}
	return keys
}

// union returns the members of a followed by those of b not in a.
func union(a, b attr.Value) attr.Value {
	have := map[string]bool{}
	for _, k := range memberKeys(a) {
		have[k] = true
	}
	out := attr.Value{Kind: a.Kind}
	out.SS, out.NS, out.BS = slices.Clone(a.SS), slices.Clone(a.NS), slices.Clone(a.BS)
	for i, k := range memberKeys(b) {
		if have[k] {
			continue
		}
		have[k] = true
		switch a.Kind {
		case attr.KindSS:
			out.SS = append(out.SS, b.SS[i])
		case attr.KindNS:
			out.NS = append(out.NS, b.NS[i])
		default:
			out.BS = append(out.BS, bytes.Clone(b.BS[i]))
		}
	}
	return out
}

// difference returns the members of a not in b.
func difference(a, b attr.Value) attr.Value {
	drop := map[string]bool{}
	for _, k := range memberKeys(b) {
		drop[k] = true
	}
	out := attr.Value{Kind: a.Kind}
	for i, k := range memberKeys(a) {
		if drop[k] {
			continue
		}
		switch a.Kind {
		case attr.KindSS:
			out.SS = append(out.SS, a.SS[i])
		case attr.KindNS:
			out.NS = append(out.NS, a.NS[i])
		default:
			out.BS = append(out.BS, a.BS[i])
		}
	}
	return out
}

func setLen(v attr.Value) int { return len(v.SS) + len(v.NS) + len(v.BS) }
