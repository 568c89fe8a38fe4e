package expr

import (
	"maps"
	"slices"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Projection is a parsed ProjectionExpression, or a translation of the legacy
// AttributesToGet parameter: the document paths to keep of each item read. It is immutable
// and safe for concurrent use.
type Projection struct {
	paths []Path
	tree  *projNode
	use   usage
}

// ParseProjection parses a ProjectionExpression: document paths separated by commas. Two
// paths may not overlap (a and a.b) or conflict (a.b and a[0]).
func ParseProjection(s string, names Names) (*Projection, error) {
	p, err := parseProjection(s, names)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func parseProjection(s string, names Names) (*Projection, *attr.Error) {
	const label = "ProjectionExpression"
	if err := checkText(label, s); err != nil {
		return nil, err
	}
	p := newParser(s, label, modeProjection)
	var tree []*pnode
	if err := p.run(func() { tree = p.parseProjectionTree() }); err != nil {
		return nil, err
	}
	c := newChecker(label, modeProjection, names, nil)
	c.limits(p)
	paths := make([]Path, len(tree))
	for i, n := range tree {
		paths[i] = c.resolvePath(n)
	}
	c.checkOverlaps(paths)
	if err := c.err(); err != nil {
		return nil, err
	}
	return newProjection(paths, c.usage()), nil
}

func newProjection(paths []Path, use usage) *Projection {
	for _, p := range paths {
		use.addAttr(p.Attribute())
	}
	return &Projection{paths: paths, tree: buildProjTree(paths), use: use}
}

// projNode is a node of the tree of projected paths: a whole value to keep, or the map
// keys or list elements to keep of it.
type projNode struct {
	whole  bool
	fields map[string]*projNode
	elems  map[int]*projNode
}

func buildProjTree(paths []Path) *projNode {
	root := &projNode{}
	for _, p := range paths {
		n := root
		for _, e := range p {
			var next *projNode
			if e.IsIndex {
				if n.elems == nil {
					n.elems = map[int]*projNode{}
				}
				if next = n.elems[e.Index]; next == nil {
					next = &projNode{}
					n.elems[e.Index] = next
				}
			} else {
				if n.fields == nil {
					n.fields = map[string]*projNode{}
				}
				if next = n.fields[e.Name]; next == nil {
					next = &projNode{}
					n.fields[e.Name] = next
				}
			}
			n = next
		}
		n.whole = true
	}
	return root
}

// apply returns the part of v the node keeps, and whether anything is kept.
func (n *projNode) apply(v attr.Value) (attr.Value, bool) {
	if n.whole {
		return v.Clone(), true
	}
	switch {
	case v.Kind == attr.KindM && n.fields != nil:
		m := map[string]attr.Value{}
		for k, child := range n.fields {
			if x, ok := v.M[k]; ok {
				if y, ok := child.apply(x); ok {
					m[k] = y
				}
			}
		}
		return attr.M(m), len(m) > 0
	case v.Kind == attr.KindL && n.elems != nil:
		// The kept elements keep their order in the list, whatever the order of the paths.
		var l []attr.Value
		for _, i := range slices.Sorted(maps.Keys(n.elems)) {
			if i < len(v.L) {
				if y, ok := n.elems[i].apply(v.L[i]); ok {
					l = append(l, y)
				}
			}
		}
		return attr.L(l...), len(l) > 0
	}
	return attr.Value{}, false
}

// Apply returns the projection of item: the values at the projection's paths, nested as in
// item, with the elements kept of a list in their order in the list (a[2], a[0] gives the
// two-element list [a[0], a[2]]). Paths that find nothing are left out; if none finds
// anything, the result is empty. A nil item gives nil. item is not modified, and the result
// shares nothing with it.
func (p *Projection) Apply(item attr.Item) attr.Item {
	if item == nil {
		return nil
	}
	out := attr.Item{}
	for name, child := range p.tree.fields {
		if v, ok := item[name]; ok {
			if y, ok := child.apply(v); ok {
				out[name] = y
			}
		}
	}
	return out
}

// Paths returns the projected paths, in the order written.
func (p *Projection) Paths() []Path { return slices.Clone(p.paths) }

// Attributes returns the top-level attributes the projection reads, in order of
// appearance.
func (p *Projection) Attributes() []string { return slices.Clone(p.use.attrs) }

// UsedNames returns the #names the expression uses, sorted.
func (p *Projection) UsedNames() []string {
	if p == nil {
		return nil
	}
	return slices.Clone(p.use.names)
}

// UsedValues returns nil: a projection uses no :values.
func (p *Projection) UsedValues() []string { return nil }
