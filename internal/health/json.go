package health

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes JSON (and YAML, through
// encoding.TextMarshaler) as a Go duration string such as "10s". On input it also accepts a
// number of seconds: 10, 1.5, or "10".
type Duration time.Duration

// String returns the duration as time.Duration formats it ("10s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText returns the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts a Go duration string ("10s", "1m") or a number of seconds ("10").
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return d.setSeconds(f)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"10s\" or a number of seconds", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts a JSON string (see [Duration.UnmarshalText]) or a JSON number of
// seconds. null leaves d unchanged.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return d.UnmarshalText([]byte(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a duration such as \"10s\" or a number of seconds", b)
	}
	return d.setSeconds(f)
}

func (d *Duration) setSeconds(f float64) error {
	ns := f * float64(time.Second)
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return fmt.Errorf("%v seconds is out of range", f)
	}
	*d = Duration(ns)
	return nil
}

// ParseCheck decodes one check from JSON, fills defaults for the fields the document leaves
// out (or sets to null), and validates it. Unlike json.Unmarshal followed by
// [Check.SetDefaults], an explicit zero stays zero and is reported ("request_interval": 0 →
// "request_interval: 0s is outside 1s..30s"). Unknown fields, values of the wrong JSON type
// and every validation problem are reported at once in a [*ValidationError], which wraps
// [ErrInvalidCheck].
func ParseCheck(data []byte) (Check, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Check{}, &ValidationError{Problems: []string{"not a JSON object: " + err.Error()}}
	}
	var c Check
	fields := c.jsonFields()
	var p problems
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok {
			p.add(k, "unknown field")
			continue
		}
		if err := json.Unmarshal(raw[k], f.ptr); err != nil {
			p.add(k, "want %s", f.want)
		}
	}
	if len(p) > 0 {
		return Check{}, p.err(c.ID)
	}
	c.setDefaults(func(field string) bool {
		v, ok := raw[field]
		return !ok || string(bytes.TrimSpace(v)) == "null"
	})
	if err := c.Validate(); err != nil {
		return Check{}, err
	}
	return c, nil
}

type jsonField struct {
	ptr  any
	want string // what the JSON value must be, for errors
}

// jsonFields maps each JSON name of a Check to the field it fills. A test checks that it
// covers every field.
func (c *Check) jsonFields() map[string]jsonField {
	const (
		str     = "a string"
		num     = "an integer"
		boolean = "true or false"
	)
	return map[string]jsonField{
		"id":                  {&c.ID, str},
		"name":                {&c.Name, str},
		"type":                {&c.Type, str},
		"ip_address":          {&c.IPAddress, str},
		"fqdn":                {&c.FQDN, str},
		"port":                {&c.Port, num},
		"resource_path":       {&c.ResourcePath, str},
		"search_string":       {&c.SearchString, str},
		"request_interval":    {&c.RequestInterval, `a duration such as "10s" or a number of seconds`},
		"failure_threshold":   {&c.FailureThreshold, num},
		"inverted":            {&c.Inverted, boolean},
		"disabled":            {&c.Disabled, boolean},
		"enable_sni":          {&c.EnableSNI, boolean},
		"child_health_checks": {&c.ChildHealthChecks, "a list of check ids"},
		"health_threshold":    {&c.HealthThreshold, num},
	}
}
