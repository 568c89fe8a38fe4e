package attr

import "unicode/utf8"

// A fast path for the JSON items and values clients send most: attributes of type S or N
// whose strings need no unescaping. fastItem and fastValue read such input in one pass,
// without encoding/json's tokens; for anything else (other types, escapes, null, invalid
// JSON or values) they report false and the caller decodes with the general decoder,
// which gives the same result on what the fast path accepts and words every error.

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte consumes c, after white space.
func (p *fastParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid UTF-8.
func (p *fastParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start, ascii := p.i, true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false
}

// value reads {"S":"..."} or {"N":"..."}.
func (p *fastParser) value() (Value, bool) {
	if !p.byte('{') {
		return Value{}, false
	}
	k, ok := p.str()
	if !ok || (k != "S" && k != "N") || !p.byte(':') {
		return Value{}, false
	}
	s, ok := p.str()
	if !ok || !p.byte('}') {
		return Value{}, false
	}
	if k == "S" {
		return Value{Kind: KindS, S: s}, true
	}
	n, err := ParseNumber(s)
	if err != nil {
		return Value{}, false
	}
	return Value{Kind: KindN, N: n}, true
}

// end reports whether only white space is left.
func (p *fastParser) end() bool {
	p.space()
	return p.i == len(p.b)
}

func fastValue(b []byte) (Value, bool) {
	p := fastParser{b: b}
	v, ok := p.value()
	return v, ok && p.end()
}

func fastItem(b []byte) (Item, bool) {
	p := fastParser{b: b}
	if !p.byte('{') {
		return nil, false
	}
	it := Item{}
	if p.byte('}') {
		return it, p.end()
	}
	for {
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		it[name] = v
		if p.byte(',') {
			continue
		}
		if p.byte('}') {
			return it, p.end()
		}
		return nil, false
	}
}
