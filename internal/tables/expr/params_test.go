package expr

import (
	"testing"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

func TestCheckParameters(t *testing.T) {
	for _, tc := range []struct {
		op      string
		present []string
		want    string // "" for no error
	}{
		{"PutItem", []string{"ConditionExpression", "ExpressionAttributeValues"}, ""},
		{"PutItem", []string{"Expected"}, ""},
		{"PutItem", []string{"Expected", "ConditionExpression"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"},
		{"UpdateItem", []string{"ConditionExpression", "AttributeUpdates"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {ConditionExpression}"},
		{"UpdateItem", []string{"Expected", "UpdateExpression", "ConditionalOperator", "ConditionExpression"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected, ConditionalOperator} Expression parameters: {UpdateExpression, ConditionExpression}"},
		{"GetItem", []string{"ProjectionExpression", "AttributesToGet"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"},
		{"Scan", []string{"FilterExpression", "ScanFilter"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}"},
		// A Query may use KeyConditions with the other expressions...
		{"Query", []string{"KeyConditions", "ProjectionExpression", "FilterExpression", "ExpressionAttributeValues"}, ""},
		// ... but not with KeyConditionExpression.
		{"Query", []string{"KeyConditions", "KeyConditionExpression"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"},
		{"Query", []string{"KeyConditionExpression", "QueryFilter", "FilterExpression"},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {FilterExpression, KeyConditionExpression}"},
		{"PutItem", []string{"ExpressionAttributeNames"}, "ExpressionAttributeNames can only be specified when using expressions"},
		{"PutItem", []string{"ExpressionAttributeValues"}, "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"},
		{"UpdateItem", []string{"ExpressionAttributeValues", "AttributeUpdates"},
			"ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null"},
		{"Query", []string{"KeyConditions", "ProjectionExpression", "ExpressionAttributeValues"},
			"ExpressionAttributeValues can only be specified when using expressions: FilterExpression and KeyConditionExpression are null"},
		{"GetItem", []string{"ProjectionExpression", "ExpressionAttributeNames"}, ""},
		{"DescribeTable", []string{"Expected", "ConditionExpression"}, ""},
	} {
		err := CheckParameters(tc.op, tc.present)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %v: %v", tc.op, tc.present, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s %v: no error, want %s", tc.op, tc.present, tc.want)
		case tc.want != "":
			if got := validation(t, err); got != tc.want {
				t.Errorf("%s %v:\n got %s\nwant %s", tc.op, tc.present, got, tc.want)
			}
		}
	}
}

func TestCheckUnused(t *testing.T) {
	names := Names{"#a": "a", "#b": "b", "#c": "c"}
	values := Values{":v": attr.S("v"), ":w": attr.S("w"), ":x": attr.S("x")}
	cond, err := ParseCondition("#a = :v", names, values)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := ParseUpdate("SET #b = :w", names, values)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := ParseProjection("#c", names)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckUnused(names, values, cond, upd)
	if got := validation(t, err); got != "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}" {
		t.Errorf("unused name: %s", got)
	}
	err = CheckUnused(names, values, cond, upd, proj)
	if got := validation(t, err); got != "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}" {
		t.Errorf("unused value: %s", got)
	}
	err = CheckUnused(nil, values, (*Condition)(nil), nil)
	if got := validation(t, err); got != "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v, :w, :x}" {
		t.Errorf("unused values: %s", got)
	}
	cond2, err := ParseCondition("attribute_exists(#a) OR #b = :v OR contains(#c, :w) OR #c = :x", names, values)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckUnused(names, values, cond2); err != nil {
		t.Errorf("all used: %v", err)
	}
	if err := CheckUnused(nil, nil); err != nil {
		t.Errorf("nothing: %v", err)
	}
}

func TestValidateParameters(t *testing.T) {
	for _, tc := range []struct {
		names  Names
		values Values
		want   string
	}{
		{nil, nil, ""},
		{Names{"#a": "a", "#_1": "b"}, Values{":v": attr.S("v"), ":1_x": attr.S("x")}, ""},
		{Names{}, nil, "ExpressionAttributeNames must not be empty"},
		{nil, Values{}, "ExpressionAttributeValues must not be empty"},
		{Names{"a": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "a"`},
		{Names{"#": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "#"`},
		{Names{"#a-b": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "#a-b"`},
		{nil, Values{"v": attr.S("v")}, `ExpressionAttributeValues contains invalid key: Syntax error; key: "v"`},
		{nil, Values{":v!": attr.S("v")}, `ExpressionAttributeValues contains invalid key: Syntax error; key: ":v!"`},
	} {
		err := ValidateParameters(tc.names, tc.values)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v %v: %v", tc.names, tc.values, err)
		case tc.want != "":
			if got := validation(t, err); got != tc.want {
				t.Errorf("%v %v: %s, want %s", tc.names, tc.values, got, tc.want)
			}
		}
	}
}
