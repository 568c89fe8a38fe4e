package expr

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

func ptr[T any](v T) *T { return &v }

func vals(vs ...attr.Value) []attr.Value {
	if vs == nil {
		return []attr.Value{}
	}
	return vs
}

func TestExpectedCondition(t *testing.T) {
	item := attr.Item{"a": n("1"), "s": attr.S("hello"), "ss": attr.SS("x", "y"), "l": attr.L(n("2"), attr.S("dog"))}
	for _, tc := range []struct {
		name     string
		expected map[string]ExpectedAttributeValue
		op       string
		want     bool
	}{
		{"Value", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1"))}}, "", true},
		{"Value differs", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("2"))}}, "", false},
		{"Exists true", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1")), Exists: ptr(true)}}, "", true},
		{"Exists false", map[string]ExpectedAttributeValue{"q": {Exists: ptr(false)}}, "", true},
		{"Exists false present", map[string]ExpectedAttributeValue{"a": {Exists: ptr(false)}}, "", false},
		{"EQ", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "EQ", AttributeValueList: vals(n("1"))}}, "", true},
		{"EQ other type", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "EQ", AttributeValueList: vals(attr.S("1"))}}, "", false},
		{"EQ set", map[string]ExpectedAttributeValue{"ss": {ComparisonOperator: "EQ", AttributeValueList: vals(attr.SS("y", "x"))}}, "", true},
		{"EQ with Value", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "EQ", Value: ptr(n("1"))}}, "", true},
		{"NE", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "NE", AttributeValueList: vals(n("2"))}}, "", true},
		{"NE missing", map[string]ExpectedAttributeValue{"q": {ComparisonOperator: "NE", AttributeValueList: vals(n("1"))}}, "", true},
		{"LE", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "LE", AttributeValueList: vals(n("1"))}}, "", true},
		{"LT", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "LT", AttributeValueList: vals(n("1"))}}, "", false},
		{"GE", map[string]ExpectedAttributeValue{"s": {ComparisonOperator: "GE", AttributeValueList: vals(attr.S("dog"))}}, "", true},
		{"GT", map[string]ExpectedAttributeValue{"s": {ComparisonOperator: "GT", AttributeValueList: vals(attr.S("zebra"))}}, "", false},
		{"NOT_NULL", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "NOT_NULL"}}, "", true},
		{"NULL", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "NULL"}}, "", false},
		{"CONTAINS", map[string]ExpectedAttributeValue{"s": {ComparisonOperator: "CONTAINS", AttributeValueList: vals(attr.S("ell"))}}, "", true},
		{"CONTAINS list", map[string]ExpectedAttributeValue{"l": {ComparisonOperator: "CONTAINS", AttributeValueList: vals(attr.S("dog"))}}, "", true},
		{"NOT_CONTAINS", map[string]ExpectedAttributeValue{"ss": {ComparisonOperator: "NOT_CONTAINS", AttributeValueList: vals(attr.S("z"))}}, "", true},
		{"NOT_CONTAINS member", map[string]ExpectedAttributeValue{"ss": {ComparisonOperator: "NOT_CONTAINS", AttributeValueList: vals(attr.S("x"))}}, "", false},
		{"NOT_CONTAINS missing", map[string]ExpectedAttributeValue{"q": {ComparisonOperator: "NOT_CONTAINS", AttributeValueList: vals(attr.S("x"))}}, "", false},
		{"BEGINS_WITH", map[string]ExpectedAttributeValue{"s": {ComparisonOperator: "BEGINS_WITH", AttributeValueList: vals(attr.S("he"))}}, "", true},
		{"IN", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "IN", AttributeValueList: vals(n("3"), n("1"))}}, "", true},
		{"BETWEEN", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "BETWEEN", AttributeValueList: vals(n("0"), n("1"))}}, "", true},
		{"AND", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1"))}, "s": {Value: ptr(attr.S("no"))}}, "AND", false},
		{"OR", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1"))}, "s": {Value: ptr(attr.S("no"))}}, "OR", true},
	} {
		c, err := ExpectedCondition(tc.expected, tc.op)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got, _ := c.Eval(item); got != tc.want {
			t.Errorf("%s (%s) = %v, want %v", tc.name, c, got, tc.want)
		}
	}
	if c, err := ExpectedCondition(nil, ""); c != nil || err != nil {
		t.Errorf("no Expected: %v, %v", c, err)
	}
}

func TestExpectedErrors(t *testing.T) {
	const invalid = "One or more parameter values were invalid: "
	for _, tc := range []struct {
		name     string
		expected map[string]ExpectedAttributeValue
		op, want string
	}{
		{"Value and list", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1")), AttributeValueList: vals(n("1"))}}, "",
			invalid + "Value and AttributeValueList cannot be used together for Attribute: a"},
		{"Exists and operator", map[string]ExpectedAttributeValue{"a": {Exists: ptr(true), ComparisonOperator: "EQ", AttributeValueList: vals(n("1"))}}, "",
			invalid + "Exists and ComparisonOperator cannot be used together for Attribute: a"},
		{"operator without values", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "EQ"}}, "",
			invalid + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"},
		{"list without operator", map[string]ExpectedAttributeValue{"a": {AttributeValueList: vals(n("1"))}}, "",
			invalid + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"},
		{"Exists true without Value", map[string]ExpectedAttributeValue{"a": {Exists: ptr(true)}}, "",
			invalid + "Value must be provided when Exists is true for Attribute: a"},
		{"nothing", map[string]ExpectedAttributeValue{"a": {}}, "",
			invalid + "Value must be provided when Exists is null for Attribute: a"},
		{"Exists false with Value", map[string]ExpectedAttributeValue{"a": {Exists: ptr(false), Value: ptr(n("1"))}}, "",
			invalid + "Value cannot be used when Exists is false for Attribute: a"},
		{"EQ two values", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "EQ", AttributeValueList: vals(n("1"), n("2"))}}, "",
			invalid + "Invalid number of argument(s) for the EQ ComparisonOperator"},
		{"NULL with value", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "NULL", AttributeValueList: vals(n("1"))}}, "",
			invalid + "Invalid number of argument(s) for the NULL ComparisonOperator"},
		{"IN empty", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "IN", AttributeValueList: vals()}}, "",
			invalid + "Invalid number of argument(s) for the IN ComparisonOperator"},
		{"IN mixed", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "IN", AttributeValueList: vals(n("3"), attr.S("dog"))}}, "",
			invalid + "AttributeValues inside AttributeValueList must be of same type"},
		{"IN list values", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "IN", AttributeValueList: vals(attr.L(n("1")))}}, "",
			invalid + "ComparisonOperator IN is not valid for L AttributeValue type"},
		{"NOT_CONTAINS list", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "NOT_CONTAINS", AttributeValueList: vals(attr.L(n("1")))}}, "",
			invalid + "ComparisonOperator NOT_CONTAINS is not valid for L AttributeValue type"},
		{"BEGINS_WITH number", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "BEGINS_WITH", AttributeValueList: vals(n("3"))}}, "",
			invalid + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"},
		{"BETWEEN sets", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "BETWEEN", AttributeValueList: vals(attr.NS(num("1")), attr.NS(num("2")))}}, "",
			invalid + "ComparisonOperator BETWEEN is not valid for NS AttributeValue type"},
		{"BETWEEN reversed", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "BETWEEN", AttributeValueList: vals(n("4"), n("3"))}}, "",
			"The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"},
		{"bad operator", map[string]ExpectedAttributeValue{"a": {ComparisonOperator: "LIKE", AttributeValueList: vals(n("4"))}}, "",
			"1 validation error detected: Value 'LIKE' at 'expected.a.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"},
		{"bad conditional operator", map[string]ExpectedAttributeValue{"a": {Value: ptr(n("1"))}}, "XOR",
			"1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"},
	} {
		_, err := ExpectedCondition(tc.expected, tc.op)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := validation(t, err); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestLegacyJSON(t *testing.T) {
	var req struct {
		Expected         map[string]ExpectedAttributeValue
		ScanFilter       map[string]LegacyCondition
		AttributeUpdates map[string]AttributeValueUpdate
	}
	body := `{
		"Expected": {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "9"}]}, "b": {"Exists": false}},
		"ScanFilter": {"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "he"}]}},
		"AttributeUpdates": {"c": {"Action": "ADD", "Value": {"NS": ["2"]}}, "d": {"Action": "DELETE"}}
	}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	c, err := ExpectedCondition(req.Expected, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); got != "((a BETWEEN {N:1} AND {N:9}) AND attribute_not_exists(b))" {
		t.Errorf("Expected: %s", got)
	}
	f, err := FilterCondition("ScanFilter", req.ScanFilter, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.String(); got != "begins_with(s, {S:he})" {
		t.Errorf("ScanFilter: %s", got)
	}
	u, err := AttributeUpdates(req.AttributeUpdates)
	if err != nil {
		t.Fatal(err)
	}
	got, updated, err := u.Apply(attr.Item{"c": attr.NS(num("1")), "d": attr.S("x")})
	if err != nil || !got.Equal(attr.Item{"c": attr.NS(num("1"), num("2"))}) || !slices.Equal(updated, []string{"c", "d"}) {
		t.Errorf("AttributeUpdates: %v %v %v", got, updated, err)
	}
}

func TestFilterCondition(t *testing.T) {
	item := attr.Item{"a": n("5"), "s": attr.S("hello")}
	c, err := FilterCondition("QueryFilter", map[string]LegacyCondition{
		"a": {ComparisonOperator: "GT", AttributeValueList: vals(n("4"))},
		"s": {ComparisonOperator: "EQ", AttributeValueList: vals(attr.S("bye"))},
	}, "OR")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Eval(item); !ok {
		t.Errorf("%s is false", c)
	}
	if got := c.Attributes(); !slices.Equal(got, []string{"a", "s"}) {
		t.Errorf("Attributes %v", got)
	}
	for _, tc := range []struct {
		param string
		conds map[string]LegacyCondition
		want  string
	}{
		{"QueryFilter", map[string]LegacyCondition{"a": {ComparisonOperator: "EQ"}},
			"One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"},
		{"ScanFilter", map[string]LegacyCondition{"a": {ComparisonOperator: "CONTAINS", AttributeValueList: vals(attr.SS("x"))}},
			"One or more parameter values were invalid: ComparisonOperator CONTAINS is not valid for SS AttributeValue type"},
		{"ScanFilter", map[string]LegacyCondition{"a": {ComparisonOperator: "eq", AttributeValueList: vals(n("1"))}},
			"1 validation error detected: Value 'eq' at 'scanFilter.a.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"},
	} {
		_, err := FilterCondition(tc.param, tc.conds, "")
		if got := validation(t, err); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.conds, got, tc.want)
		}
	}
	if c, err := FilterCondition("ScanFilter", map[string]LegacyCondition{}, ""); c != nil || err != nil {
		t.Errorf("empty filter: %v %v", c, err)
	}
}

func TestKeyConditions(t *testing.T) {
	k, err := KeyConditions(map[string]LegacyCondition{
		"pk": {ComparisonOperator: "EQ", AttributeValueList: vals(attr.S("a"))},
		"sk": {ComparisonOperator: "BEGINS_WITH", AttributeValueList: vals(attr.S("x"))},
	}, "pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(k); got != "pk=a sk BEGINS_WITH [x]" {
		t.Errorf("KeyConditions: %s", got)
	}
	eq := func(v string) LegacyCondition {
		return LegacyCondition{ComparisonOperator: "EQ", AttributeValueList: vals(attr.S(v))}
	}
	for _, tc := range []struct {
		conds map[string]LegacyCondition
		sk    string
		want  string
	}{
		{map[string]LegacyCondition{}, "sk", "Conditions can be of length 1 or 2 only"},
		{map[string]LegacyCondition{"pk": eq("a"), "sk": eq("b"), "x": eq("c")}, "sk", "Conditions can be of length 1 or 2 only"},
		{map[string]LegacyCondition{"sk": eq("b")}, "sk", "Query condition missed key schema element: pk"},
		{map[string]LegacyCondition{"pk": eq("a"), "x": eq("b")}, "sk", "Query condition missed key schema element: sk"},
		{map[string]LegacyCondition{"pk": eq("a"), "sk": eq("b")}, "", "Query key condition not supported"},
		{map[string]LegacyCondition{"pk": {ComparisonOperator: "GT", AttributeValueList: vals(attr.S("a"))}}, "sk", "Query key condition not supported"},
		{map[string]LegacyCondition{"pk": {ComparisonOperator: "NOT_NULL"}}, "sk", "Attempted conditional constraint is not an indexable operation"},
		{map[string]LegacyCondition{"pk": eq("a"), "sk": {ComparisonOperator: "NE", AttributeValueList: vals(attr.S("a"))}}, "sk",
			"Attempted conditional constraint is not an indexable operation"},
		{map[string]LegacyCondition{"pk": eq("a"), "sk": {ComparisonOperator: "BETWEEN", AttributeValueList: vals(attr.S("b"), attr.S("a"))}}, "sk",
			"The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"},
	} {
		_, err := KeyConditions(tc.conds, "pk", tc.sk)
		if got := validation(t, err); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.conds, got, tc.want)
		}
	}
}

func TestAttributeUpdates(t *testing.T) {
	item := attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("x")}
	for _, tc := range []struct {
		name    string
		updates map[string]AttributeValueUpdate
		want    attr.Item
	}{
		{"PUT", map[string]AttributeValueUpdate{"s": {Action: "PUT", Value: ptr(attr.S("y"))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("y")}},
		{"default PUT", map[string]AttributeValueUpdate{"q": {Value: ptr(attr.S("y"))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("x"), "q": attr.S("y")}},
		{"dotted name", map[string]AttributeValueUpdate{"a.b": {Value: ptr(n("3"))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("x"), "a.b": n("3")}},
		{"DELETE", map[string]AttributeValueUpdate{"s": {Action: "DELETE"}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1"))}},
		{"DELETE members", map[string]AttributeValueUpdate{"ss": {Action: "DELETE", Value: ptr(attr.SS("a", "b"))}},
			attr.Item{"n": n("5"), "l": attr.L(n("1")), "s": attr.S("x")}},
		{"ADD number", map[string]AttributeValueUpdate{"n": {Action: "ADD", Value: ptr(n("-7"))}},
			attr.Item{"n": n("-2"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("x")}},
		{"ADD set", map[string]AttributeValueUpdate{"ss": {Action: "ADD", Value: ptr(attr.SS("c"))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b", "c"), "l": attr.L(n("1")), "s": attr.S("x")}},
		{"ADD list", map[string]AttributeValueUpdate{"l": {Action: "ADD", Value: ptr(attr.L(n("2")))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1"), n("2")), "s": attr.S("x")}},
		{"ADD missing", map[string]AttributeValueUpdate{"q": {Action: "ADD", Value: ptr(n("2"))}},
			attr.Item{"n": n("5"), "ss": attr.SS("a", "b"), "l": attr.L(n("1")), "s": attr.S("x"), "q": n("2")}},
	} {
		u, err := AttributeUpdates(tc.updates)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, _, err := u.Apply(item)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	// No updates still create the item.
	u, err := AttributeUpdates(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := u.Apply(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty AttributeUpdates on no item: %v %v", got, err)
	}
	for _, tc := range []struct {
		name    string
		updates map[string]AttributeValueUpdate
		want    string
	}{
		{"PUT without value", map[string]AttributeValueUpdate{"a": {Action: "PUT"}},
			"One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"},
		{"ADD without value", map[string]AttributeValueUpdate{"a": {Action: "ADD"}},
			"One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"},
		{"DELETE string", map[string]AttributeValueUpdate{"a": {Action: "DELETE", Value: ptr(attr.S("x"))}},
			"One or more parameter values were invalid: DELETE action with value is not supported for the type S"},
		{"ADD string", map[string]AttributeValueUpdate{"a": {Action: "ADD", Value: ptr(attr.S("x"))}},
			"One or more parameter values were invalid: ADD action is not supported for the type S"},
		{"bad action", map[string]AttributeValueUpdate{"a": {Action: "APPEND", Value: ptr(attr.S("x"))}},
			"1 validation error detected: Value 'APPEND' at 'attributeUpdates.a.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"},
	} {
		_, err := AttributeUpdates(tc.updates)
		if got := validation(t, err); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	for _, up := range []map[string]AttributeValueUpdate{
		{"s": {Action: "ADD", Value: ptr(n("1"))}},
		{"n": {Action: "ADD", Value: ptr(attr.SS("a"))}},
		{"s": {Action: "DELETE", Value: ptr(attr.SS("a"))}},
	} {
		u, err := AttributeUpdates(up)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = u.Apply(item)
		if got := validation(t, err); got != "Type mismatch for attribute to update" {
			t.Errorf("%v: %s", up, got)
		}
	}
}

func TestAttributesToGet(t *testing.T) {
	p, err := AttributesToGet([]string{"a.b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Apply(attr.Item{"a.b": n("1"), "a": m("b", n("2")), "c": n("3"), "d": n("4")})
	if !got.Equal(attr.Item{"a.b": n("1"), "c": n("3")}) {
		t.Errorf("AttributesToGet: %v", got)
	}
	_, err = AttributesToGet([]string{"a", "b", "a"})
	if got := validation(t, err); got != "One or more parameter values were invalid: Duplicate value in attribute name: a" {
		t.Errorf("duplicate: %s", got)
	}
	_, err = AttributesToGet(nil)
	if got := validation(t, err); got != "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1" {
		t.Errorf("empty: %s", got)
	}
}
