package health

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"10s"`:   10 * time.Second,
		`"1m"`:    time.Minute,
		`"500ms"`: 500 * time.Millisecond,
		`10`:      10 * time.Second,
		`1.5`:     1500 * time.Millisecond,
		`"30"`:    30 * time.Second,
		`0`:       0,
		`-1`:      -time.Second,
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{`"ten"`, `"10 s"`, `""`, `true`, `[]`, `1e300`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, time.Duration(d))
		}
	}
	d := Duration(10 * time.Second)
	if err := json.Unmarshal([]byte("null"), &d); err != nil || d != Duration(10*time.Second) {
		t.Errorf("Unmarshal(null) changed the duration to %v (err %v)", d, err)
	}
	b, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("Marshal(90s) = %s, %v", b, err)
	}
}

// TestCheckJSON pins the JSON shape of a check: snake_case names, the interval as a
// duration string, empty optional fields left out.
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		check Check
		want  string
	}{
		{strMatchCheck(), `{"id":"web","type":"HTTP_STR_MATCH","ip_address":"127.0.0.1","port":80,"resource_path":"/","search_string":"ok","request_interval":"30s","failure_threshold":3}`},
		{Check{ID: "s", Name: "shop", Type: TypeHTTPS, FQDN: "shop.example", Port: 8443, ResourcePath: "/up", RequestInterval: Duration(10 * time.Second), FailureThreshold: 2, Inverted: true, Disabled: true, EnableSNI: true},
			`{"id":"s","name":"shop","type":"HTTPS","fqdn":"shop.example","port":8443,"resource_path":"/up","request_interval":"10s","failure_threshold":2,"inverted":true,"disabled":true,"enable_sni":true}`},
		{calcCheck("a", "b"), `{"id":"all","type":"CALCULATED","request_interval":"0s","failure_threshold":0,"child_health_checks":["a","b"],"health_threshold":1}`},
	} {
		b, err := json.Marshal(tc.check)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal:\n got %s\nwant %s", b, tc.want)
		}
		back, err := ParseCheck(b)
		if err != nil {
			t.Errorf("ParseCheck(%s): %v", b, err)
		} else if !back.equal(&tc.check) {
			t.Errorf("ParseCheck(Marshal(c)) = %+v, want %+v", back, tc.check)
		}
	}
}

func TestParseCheck(t *testing.T) {
	c, err := ParseCheck([]byte(`{"id":"web","type":"HTTPS","fqdn":"app.example","request_interval":10}`))
	want := Check{ID: "web", Type: TypeHTTPS, FQDN: "app.example", Port: 443, ResourcePath: "/",
		RequestInterval: Duration(10 * time.Second), FailureThreshold: 3}
	if err != nil || !c.equal(&want) {
		t.Errorf("ParseCheck = %+v, %v; want %+v", c, err, want)
	}
	c, err = ParseCheck([]byte(`{"id":"web","type":"TCP","ip_address":"::1","port":22,"failure_threshold":null}`))
	if err != nil || c.FailureThreshold != 3 {
		t.Errorf("ParseCheck with a null threshold = %+v, %v; want the default 3", c, err)
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		// An explicit zero is not "absent": it is reported, not defaulted.
		{`{"id":"web","type":"HTTP","ip_address":"127.0.0.1","request_interval":0}`,
			[]string{"request_interval: 0s is outside 1s..30s"}},
		{`{"id":"web","type":"HTTP","ip_address":"127.0.0.1","request_interval":"0s","failure_threshold":0,"port":0}`,
			[]string{"port: required (the default for HTTP is 80)", "request_interval: 0s is outside 1s..30s", "failure_threshold: 0 is outside 1..10"}},
		{`{"id":"web","type":"HTTP","ip_address":"127.0.0.1","failure_threshold":11}`,
			[]string{"failure_threshold: 11 is outside 1..10"}},
		{`{"id":"web","type":"HTTP","ip_address":"127.0.0.1","regions":["a"],"port":"80","inverted":1,"request_interval":"soon","child_health_checks":"a"}`,
			[]string{"child_health_checks: want a list of check ids", "inverted: want true or false", "port: want an integer",
				"regions: unknown field", `request_interval: want a duration such as "10s" or a number of seconds`}},
		{`[1]`, nil},
		{`{"id":`, nil},
	} {
		_, err := ParseCheck([]byte(tc.in))
		if err == nil {
			t.Errorf("ParseCheck(%s) succeeded", tc.in)
			continue
		}
		got := problemsOf(t, err)
		if tc.want == nil {
			if len(got) != 1 || !strings.HasPrefix(got[0], "not a JSON object") {
				t.Errorf("ParseCheck(%s) problems %q, want one saying it is not a JSON object", tc.in, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseCheck(%s) problems:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestJSONFieldsCoverCheck keeps ParseCheck's field table in step with the struct tags.
func TestJSONFieldsCoverCheck(t *testing.T) {
	var c Check
	fields := c.jsonFields()
	typ := reflect.TypeFor[Check]()
	if len(fields) != typ.NumField() {
		t.Errorf("jsonFields has %d fields, Check has %d", len(fields), typ.NumField())
	}
	v := reflect.ValueOf(&c).Elem()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		f, ok := fields[name]
		if !ok {
			t.Errorf("jsonFields lacks %q", name)
			continue
		}
		if reflect.ValueOf(f.ptr).Pointer() != v.Field(i).Addr().Pointer() {
			t.Errorf("jsonFields[%q] does not point at Check.%s", name, typ.Field(i).Name)
		}
	}
}

// FuzzParseCheck feeds ParseCheck arbitrary bytes (it decodes what the REST API receives):
// it must not panic, and a check it accepts must survive a JSON round trip unchanged and
// stay valid.
func FuzzParseCheck(f *testing.F) {
	for _, s := range []string{
		`{"id":"web","type":"HTTP","ip_address":"127.0.0.1"}`,
		`{"id":"s","type":"HTTPS_STR_MATCH","fqdn":"a.example","search_string":"ok","request_interval":10,"enable_sni":true}`,
		`{"id":"t","type":"TCP","ip_address":"::1","port":22,"failure_threshold":10,"inverted":true}`,
		`{"id":"all","type":"CALCULATED","child_health_checks":["a","b"],"health_threshold":2}`,
		`{"id":"x","type":"HTTP","ip_address":"127.0.0.1","request_interval":"1.5s","failure_threshold":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheck(data)
		if err != nil {
			problemsOf(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseCheck accepted an invalid check: %v", err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCheck(b)
		if err != nil {
			t.Fatalf("ParseCheck(%s) = %v after a round trip", b, err)
		}
		if !back.equal(&c) {
			t.Fatalf("round trip changed the check:\n%+v\n%+v", c, back)
		}
	})
}
