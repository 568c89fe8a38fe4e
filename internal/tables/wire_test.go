package tables

import (
	"slices"
	"testing"
)

// FuzzPresentMembers: presentMembers gives presentParams's members, as a set, for any
// body.
func FuzzPresentMembers(f *testing.F) {
	for _, s := range []string{
		`{"TableName":"usertable","Key":{"p":{"S":"g000000"},"k":{"S":"user0000000042"}}}`,
		`{"TableName":"t","ProjectionExpression":null,"Key":{"a":{"L":[{"S":"x,}]\""},{"N":"1"}]}}}`,
		` { "A" : 1 , "B":[1,2,{"c":null}], "C" : "x\"y" , "D":null } `,
		`{"A":1,"A":null}`, `{"A":null,"A":1}`, `{"\u0041":1}`, `{"é":true}`, `{}`, `null`, `[]`, ``, `{`, `{"a":}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, want := presentMembers(body), presentParams(body)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("presentMembers(%q) = %q, presentParams %q", body, got, want)
		}
	})
}
