package expr

import (
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // a bare word: [A-Za-z][A-Za-z0-9_]*; attribute names, function names, keywords
	tName             // an expression attribute name: #[A-Za-z0-9_]+
	tValue            // an expression attribute value: :[A-Za-z0-9_]+
	tNumber           // [0-9]+, a list index
	tLParen           // (
	tRParen           // )
	tLBracket         // [
	tRBracket         // ]
	tComma            // ,
	tDot              // .
	tEq               // =
	tNe               // <>
	tLt               // <
	tLe               // <=
	tGt               // >
	tGe               // >=
	tPlus             // +
	tMinus            // -
	tOther            // any other character; never valid, always a syntax error
)

// token is one lexical token of an expression. pos and end are byte offsets into the
// expression; for tEOF both are its length.
type token struct {
	kind tokKind
	text string
	pos  int
	end  int
}

// eofText is how DynamoDB names the end of the expression in syntax errors.
const eofText = "<EOF>"

// lex splits s into tokens, ending with one tEOF token. It never fails: a character that
// starts no token becomes a tOther token, which the parser rejects with DynamoDB's syntax
// error naming it. Whitespace (space, tab, CR, LF) separates tokens and is dropped.
func lex(s string) []token {
	toks := make([]token, 0, len(s)/2+1)
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		kind := tOther
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case isLetter(c):
			i++
			for i < len(s) && isWordChar(s[i]) {
				i++
			}
			kind = tIdent
		case isDigit(c):
			i++
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			kind = tNumber
		case (c == '#' || c == ':') && i+1 < len(s) && isWordChar(s[i+1]):
			i += 2
			for i < len(s) && isWordChar(s[i]) {
				i++
			}
			kind = tName
			if c == ':' {
				kind = tValue
			}
		case c == '<' && i+1 < len(s) && s[i+1] == '>':
			i, kind = i+2, tNe
		case c == '<' && i+1 < len(s) && s[i+1] == '=':
			i, kind = i+2, tLe
		case c == '>' && i+1 < len(s) && s[i+1] == '=':
			i, kind = i+2, tGe
		default:
			i++
			switch c {
			case '(':
				kind = tLParen
			case ')':
				kind = tRParen
			case '[':
				kind = tLBracket
			case ']':
				kind = tRBracket
			case ',':
				kind = tComma
			case '.':
				kind = tDot
			case '=':
				kind = tEq
			case '<':
				kind = tLt
			case '>':
				kind = tGt
			case '+':
				kind = tPlus
			case '-':
				kind = tMinus
			default:
				if c >= utf8.RuneSelf {
					_, size := utf8.DecodeRuneInString(s[start:])
					i = start + size
				}
			}
		}
		toks = append(toks, token{kind: kind, text: s[start:i], pos: start, end: i})
	}
	return append(toks, token{kind: tEOF, text: eofText, pos: len(s), end: len(s)})
}

func isLetter(c byte) bool   { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isWordChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// near returns the text DynamoDB quotes after "near:" in a syntax error at token i: the
// expression from the start of the token before it to the end of the token after it.
func near(s string, toks []token, i int) string {
	start := toks[i].pos
	if i > 0 {
		start = toks[i-1].pos
	}
	end := toks[i].end
	if i+1 < len(toks) && toks[i+1].kind != tEOF {
		end = toks[i+1].end
	}
	return s[start:end]
}
