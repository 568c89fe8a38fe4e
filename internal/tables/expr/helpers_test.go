package expr

import (
	"errors"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

func n(s string) attr.Value { return attr.MustN(s) }

func num(s string) attr.Number { return attr.MustNumber(s) }

func bin(s string) attr.Value { return attr.B([]byte(s)) }

func m(kv ...any) attr.Value {
	out := map[string]attr.Value{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1].(attr.Value)
	}
	return attr.M(out)
}

// testValues are the ExpressionAttributeValues the tests share.
var testValues = Values{
	":hello": attr.S("hello"), ":hell": attr.S("hell"), ":ell": attr.S("ell"), ":dog": attr.S("dog"),
	":a": attr.S("a"), ":x": attr.S("x"), ":empty": attr.S(""),
	":n0": n("0"), ":n1": n("1"), ":n2": n("2"), ":n3": n("3"), ":n4": n("4"), ":n5": n("5"),
	":n6": n("6"), ":n8": n("8"), ":n1dot0": n("1.0"), ":n7": n("7"),
	":b": bin("hi"), ":bhere": bin("here"), ":bx": bin("x"),
	":true": attr.Bool(true), ":null": attr.Null(),
	":ss": attr.SS("b", "a"), ":ns": attr.NS(num("1")), ":bs": attr.BS([]byte("x")),
	":l": attr.L(n("1")), ":m": m("x", n("1")),
	":tS": attr.S("S"), ":tN": attr.S("N"), ":tB": attr.S("B"), ":tSS": attr.S("SS"), ":tNS": attr.S("NS"),
	":tBS": attr.S("BS"), ":tM": attr.S("M"), ":tL": attr.S("L"), ":tNULL": attr.S("NULL"),
	":tBOOL": attr.S("BOOL"), ":tDOG": attr.S("DOG"),
	":big": n("12345678901234567890123456789012345678"),
}

// testNames are the ExpressionAttributeNames the tests share.
var testNames = Names{"#a": "a", "#b": "b", "#st": "status", "#dot": "a.b", "#m": "m", "#y": "y"}

// testItem holds one attribute of every type.
func testItem() attr.Item {
	return attr.Item{
		"s": attr.S("hello"), "n": n("5"), "b": bin("hi there"),
		"ss": attr.SS("a", "b"), "ns": attr.NS(num("1"), num("2")), "bs": attr.BS([]byte("x"), []byte("y")),
		"l": attr.L(n("2"), attr.S("dog"), n("7"), m("x", n("1"))),
		"m": m("x", n("2"), "y", m("m", n("3"))),
		"t": attr.Bool(true), "nul": attr.Null(), "e": attr.S("é𝄞"),
		"status": attr.S("on"), "a.b": attr.S("dotted"),
		"big": n("12345678901234567890123456789012345678"),
	}
}

// validation returns err's message, failing the test unless err is a ValidationException.
func validation(t *testing.T, err error) string {
	t.Helper()
	var ae *attr.Error
	if !errors.As(err, &ae) || ae.Type != attr.TypeValidation {
		t.Fatalf("error %v (%T) is not a ValidationException", err, err)
	}
	return ae.Message
}
