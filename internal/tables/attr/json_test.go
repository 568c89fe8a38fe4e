package attr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in, out string // out is the canonical form; "" means the same as in
	}{
		{`{"S":"hello"}`, ""},
		{`{"S":""}`, ""},
		{`{"S":"quote \" backslash \\ newline \n tab \t ctl \u0001 é 😀 \u2028"}`, `{"S":"quote \" backslash \\ newline \n tab \t ctl \u0001 é 😀 \u2028"}`},
		{`{"S":"<&>"}`, ""},
		{`{"N":"1.5"}`, ""},
		{`{"N":"1.50"}`, `{"N":"1.5"}`},
		{`{"N":"-0"}`, `{"N":"0"}`},
		{`{"N":"1e3"}`, `{"N":"1000"}`},
		{`{"N":"+.5"}`, `{"N":"0.5"}`},
		{`{"B":"AAEC/w=="}`, ""},
		{`{"B":""}`, ""},
		{`{"SS":["a","b",""]}`, ""},
		{`{"NS":["1","2.50","-3e2"]}`, `{"NS":["1","2.5","-300"]}`},
		{`{"BS":["Yg==","","AA=="]}`, ""},
		{`{"M":{"b":{"N":"1"},"a":{"L":[]},"":{"NULL":true}}}`, `{"M":{"":{"NULL":true},"a":{"L":[]},"b":{"N":"1"}}}`},
		{`{"M":{}}`, ""},
		{`{"L":[{"S":"x"},{"L":[{"BOOL":true}]},{"M":{"k":{"BS":["AQ=="]}}}]}`, ""},
		{`{"L":[]}`, ""},
		{`{"NULL":true}`, ""},
		{`{"BOOL":false}`, ""},
		{`{"BOOL":true}`, ""},
		{" {\n \"S\" : \"spaces\" } ", `{"S":"spaces"}`},
		// Members that are null, or not one of the ten types, are ignored.
		{`{"S":"x","N":null}`, `{"S":"x"}`},
		{`{"S":"x","Extra":{"deep":[1,2]}}`, `{"S":"x"}`},
	} {
		var v Value
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		want := tc.out
		if want == "" {
			want = tc.in
		}
		got, err := v.MarshalJSON()
		if err != nil || string(got) != want {
			t.Errorf("Marshal(Unmarshal(%s)) = %s, %v; want %s", tc.in, got, err, want)
			continue
		}
		var back Value
		if err := json.Unmarshal(got, &back); err != nil || !Equal(v, back) {
			t.Errorf("%s does not round-trip: %v", got, err)
		}
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	got, err := S("a\xffb").MarshalJSON()
	if err != nil || string(got) != `{"S":"a\ufffdb"}` {
		t.Errorf("Marshal(invalid UTF-8) = %s, %v", got, err)
	}
	if _, err := (Value{}).MarshalJSON(); err == nil {
		t.Error("a Value without a Kind marshalled")
	}
	if _, err := json.Marshal(Item{"a": L(Value{Kind: 99})}); err == nil {
		t.Error("an item holding an invalid value marshalled")
	}
}

func TestItemJSON(t *testing.T) {
	const in = `{"pk":{"S":"user#1"},"n":{"N":"007"},"tags":{"SS":["x"]}}`
	var it Item
	if err := json.Unmarshal([]byte(in), &it); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(it)
	if err != nil || string(got) != `{"n":{"N":"7"},"pk":{"S":"user#1"},"tags":{"SS":["x"]}}` {
		t.Errorf("item = %s, %v", got, err)
	}
	// As a field of a request, the way the API decodes it.
	var req struct {
		Item                      Item
		ExpressionAttributeValues map[string]Value
	}
	err = json.Unmarshal([]byte(`{"Item":`+in+`,"ExpressionAttributeValues":{":v":{"N":"1"}}}`), &req)
	if err != nil || req.Item["pk"].S != "user#1" || req.ExpressionAttributeValues[":v"].N.String() != "1" {
		t.Errorf("request: %+v, %v", req, err)
	}
	err = json.Unmarshal([]byte(`{"Item":{"pk":{"SS":[]}}}`), &req)
	wantError(t, err, TypeValidation, "One or more parameter values were invalid: An string set  may not be empty")

	var nilItem Item
	if err := json.Unmarshal([]byte(`null`), &nilItem); err != nil || nilItem != nil {
		t.Errorf("null item: %v %v", nilItem, err)
	}
	if got, _ := json.Marshal(Item(nil)); string(got) != "{}" {
		t.Errorf("nil item marshals as %s", got)
	}
	var dup Item
	if err := json.Unmarshal([]byte(`{"a":{"S":"1"},"a":{"S":"2"}}`), &dup); err != nil || dup["a"].S != "2" {
		t.Errorf("duplicate names: %v %v", dup, err)
	}
	for _, tc := range []struct{ in, typ, msg string }{
		{`[]`, TypeSerialization, "Start of list found where not expected"},
		{`"x"`, TypeSerialization, "Expected map or null"},
		{`{"a":{}}`, TypeValidation, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"a":null}`, TypeValidation, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"a":{"S":"x"}} {}`, TypeSerialization, "Malformed JSON: data after the value"},
		{`{"a":{"S":"x"}`, TypeSerialization, "Malformed JSON: unexpected EOF"},
	} {
		var it Item
		wantError(t, it.UnmarshalJSON([]byte(tc.in)), tc.typ, tc.msg)
	}
}

func TestJSONRejects(t *testing.T) {
	const (
		empty    = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
		multiple = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
		nesting  = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
		notNum   = "The parameter cannot be converted to a numeric value"
		v, s     = TypeValidation, TypeSerialization
	)
	for _, tc := range []struct{ in, typ, msg string }{
		{`{}`, v, empty},
		{`null`, v, empty},
		{`{"S":null}`, v, empty},
		{`{"Unknown":"x"}`, v, empty},
		{`{"S":"a","N":"1"}`, v, multiple},
		{`{"S":"a","S":"b"}`, v, multiple},
		{`{"NULL":true,"BOOL":true}`, v, multiple},
		{`{"M":{},"L":[]}`, v, multiple},
		// Each member is checked before the count, as DynamoDB does.
		{`{"S":"","N":""}`, v, notNum},
		{`{"NULL":false}`, v, "One or more parameter values were invalid: Null attribute value types must have the value of true"},
		{`{"SS":[]}`, v, "One or more parameter values were invalid: An string set  may not be empty"},
		{`{"NS":[]}`, v, "One or more parameter values were invalid: An number set  may not be empty"},
		{`{"BS":[]}`, v, "One or more parameter values were invalid: Binary sets should not be empty"},
		{`{"SS":["a","a"]}`, v, "One or more parameter values were invalid: Input collection [a, a] contains duplicates."},
		{`{"SS":["","b",""]}`, v, "One or more parameter values were invalid: Input collection [, b, ] contains duplicates."},
		{`{"NS":["1","1"]}`, v, "Input collection contains duplicates"},
		{`{"NS":["1","2","2.0"]}`, v, "Input collection contains duplicates"},
		{`{"BS":["Yg==","Yg=="]}`, v, "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates."},
		{`{"SS":["a",null]}`, v, "One or more parameter values were invalid: An string set may not have a null string as a member"},
		{`{"NS":["1",null]}`, v, notNum},
		{`{"BS":[null]}`, v, "One or more parameter values were invalid: Binary sets may not contain null values"},
		{`{"N":""}`, v, notNum},
		{`{"N":"abc"}`, v, notNum + ": abc"},
		{`{"NS":["1","b"]}`, v, notNum + ": b"},
		{`{"NS":["1",""]}`, v, notNum},
		{`{"N":"` + digits39 + `"}`, v, "Attempting to store more than 38 significant digits in a Number"},
		{`{"N":"1e126"}`, v, "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{`{"N":"1E-131"}`, v, "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
		{`{"M":{"a":{}}}`, v, empty},
		{`{"M":{"a":null}}`, v, empty},
		{`{"L":[{"S":"x"},{}]}`, v, empty},
		{`{"L":[null]}`, v, empty},
		{`{"M":{"a":{"L":[{"SS":[]}]}}}`, v, "One or more parameter values were invalid: An string set  may not be empty"},
		// Wrong JSON types.
		{`{"S":1}`, s, "class java.lang.Short can not be converted to an String"},
		{`{"S":100000}`, s, "class java.lang.Integer can not be converted to an String"},
		{`{"S":10000000000}`, s, "class java.lang.Long can not be converted to an String"},
		{`{"S":100000000000000000000}`, s, "class java.math.BigInteger can not be converted to an String"},
		{`{"N":1.5}`, s, "class java.lang.Double can not be converted to an String"},
		{`{"N":123}`, s, "class java.lang.Short can not be converted to an String"},
		{`{"S":true}`, s, "class java.lang.Boolean can not be converted to an String"},
		{`{"S":{}}`, s, "Start of structure or map found where not expected."},
		{`{"S":[]}`, s, "Start of list found where not expected"},
		{`{"B":1}`, s, "class java.lang.Short can not be converted to a Blob"},
		{`{"BOOL":"yes"}`, s, "'YES' can not be converted to an Boolean"},
		{`{"NULL":1}`, s, "class java.lang.Short can not be converted to an Boolean"},
		{`{"BOOL":[]}`, s, "Start of list found where not expected"},
		{`{"SS":"a"}`, s, "Expected list or null"},
		{`{"SS":{}}`, s, "Start of structure or map found where not expected."},
		{`{"SS":[1]}`, s, "class java.lang.Short can not be converted to an String"},
		{`{"NS":[1]}`, s, "class java.lang.Short can not be converted to an String"},
		{`{"BS":[true]}`, s, "class java.lang.Boolean can not be converted to a Blob"},
		{`{"L":{}}`, s, "Start of structure or map found where not expected."},
		{`{"L":"x"}`, s, "Expected list or null"},
		{`{"M":[]}`, s, "Start of list found where not expected"},
		{`{"M":1}`, s, "Expected map or null"},
		{`{"L":[1]}`, s, "Expected null"},
		{`{"L":[[]]}`, s, "Start of list found where not expected"},
		{`"S"`, s, "Expected null"},
		{`[]`, s, "Start of list found where not expected"},
		// Base64.
		{`{"B":"abc"}`, s, "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{`{"B":"ab c"}`, s, "'ab c' can not be converted to a Blob: Invalid Base64 character: ' '"},
		{`{"B":"ab\nc"}`, s, "'ab\nc' can not be converted to a Blob: Invalid Base64 character: '\n'"},
		{`{"B":"a=bc"}`, s, "'a=bc' can not be converted to a Blob: Invalid Base64 character: 'b'"},
		{`{"B":"YQ-_"}`, s, "'YQ-_' can not be converted to a Blob: Invalid Base64 character: '-'"},
		{`{"B":"Yh=="}`, s, "'Yh==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
		{`{"B":"===="}`, s, "'====' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
		{`{"BS":["Yg==","é12"]}`, s, "'é12' can not be converted to a Blob: Invalid Base64 character: 'é'"},
		// Malformed JSON.
		{``, s, "Malformed JSON: unexpected EOF"},
		{`{"S":"x"`, s, "Malformed JSON: unexpected EOF"},
		{`{"S":"x"}}`, s, "Malformed JSON: data after the value"},
		{`{"S" "x"}`, s, "Malformed JSON: invalid character '\"' after object key"},
	} {
		var val Value
		wantError(t, val.UnmarshalJSON([]byte(tc.in)), tc.typ, tc.msg)
		if val.Kind != 0 {
			t.Errorf("a refused Unmarshal(%s) changed the value", tc.in)
		}
	}
}

func TestJSONNestingDepth(t *testing.T) {
	// A value inside n maps: the top-level value is level 1, the leaf is level n+1.
	nested := func(n int, wrap string) string {
		var b strings.Builder
		for range n {
			b.WriteString(`{"` + wrap + `":`)
			if wrap == "L" {
				b.WriteString("[")
			} else {
				b.WriteString(`{"k":`)
			}
		}
		b.WriteString(`{"S":"leaf"}`)
		for range n {
			if wrap == "L" {
				b.WriteString("]}")
			} else {
				b.WriteString("}}")
			}
		}
		return b.String()
	}
	for _, wrap := range []string{"M", "L"} {
		var v Value
		if err := json.Unmarshal([]byte(nested(MaxDepth-1, wrap)), &v); err != nil {
			t.Errorf("%s: leaf at level %d refused: %v", wrap, MaxDepth, err)
		}
		if err := v.Validate(); err != nil {
			t.Errorf("%s: Validate disagrees with Unmarshal: %v", wrap, err)
		}
		err := json.Unmarshal([]byte(nested(MaxDepth, wrap)), &v)
		wantError(t, err, TypeValidation, "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")
		// Far deeper input is refused at level 33 without reading on.
		err = v.UnmarshalJSON([]byte(strings.Repeat(`{"L":[`, 100000)))
		wantError(t, err, TypeValidation, "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")
	}
	// In an item each attribute's value is level 1.
	var it Item
	if err := json.Unmarshal([]byte(`{"a":`+nested(MaxDepth-1, "M")+`}`), &it); err != nil {
		t.Error(err)
	}
	err := json.Unmarshal([]byte(`{"a":`+nested(MaxDepth, "M")+`}`), &it)
	wantError(t, err, TypeValidation, "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")
}
