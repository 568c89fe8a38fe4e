package attr

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Shapes like the table service's responses: pointers, slices and maps of items, omitempty,
// nested structs, fields without items, a recursive type, interfaces, embedding.
type (
	capacity struct {
		TableName     string   `json:"TableName"`
		CapacityUnits float64  `json:"CapacityUnits"`
		Table         *float64 `json:"Table,omitempty"`
	}
	page struct {
		Items            *[]Item   `json:"Items,omitempty"`
		Count            int       `json:"Count"`
		LastEvaluatedKey Item      `json:"LastEvaluatedKey,omitempty"`
		Consumed         *capacity `json:"ConsumedCapacity,omitempty"`
		Note             string    `json:",omitempty"`
		hidden           int
		Skipped          string `json:"-"`
	}
	batch struct {
		Responses       map[string][]Item         `json:"Responses"`
		UnprocessedKeys map[string]map[string]any `json:"UnprocessedKeys"`
		Consumed        []capacity                `json:"ConsumedCapacity,omitempty"`
	}
	record struct {
		Keys    Item      `json:"Keys"`
		Old     *Item     `json:"OldImage,omitempty"`
		Value   Value     `json:"Value"`
		Values  []Value   `json:"Values"`
		When    time.Time `json:"When"`
		Next    *record   `json:"Next,omitempty"`
		Anytime any       `json:"Any"`
	}
	embedded struct {
		capacity
		Item Item `json:"Item"`
	}
)

func init() { _ = page{}.hidden }

// TestMarshalLikeEncodingJSON: Marshal writes what json.Marshal writes, the same JSON value
// always, and the same bytes when no '<', '>' or '&' is in an item (json.Marshal escapes
// them there, Marshal does not).
func TestMarshalLikeEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		items := rapid.SliceOfN(item(), 0, 4).Draw(t, "items")
		it := item().Draw(t, "item")
		f := 1.5
		var vs []Value
		for _, x := range it {
			vs = append(vs, x)
		}
		var values []any
		values = append(values,
			&page{Items: &items, Count: len(items), LastEvaluatedKey: it, Consumed: &capacity{TableName: "t<&>", CapacityUnits: 0.5, Table: &f}},
			page{},
			&page{Items: &[]Item{}},
			batch{Responses: map[string][]Item{"b": items, "a": nil}, UnprocessedKeys: map[string]map[string]any{"x": {"Keys": items}}},
			batch{},
			&record{Keys: it, Old: &it, Value: S("v"), Values: vs, Next: &record{Keys: nil, Value: Null(), Anytime: it}, Anytime: []any{it, 1, "s"}},
			embedded{capacity: capacity{TableName: "e"}, Item: it},
			map[string]any{"Item": it, "n": 1},
			[]Item{it, nil},
			it,
			Item(nil),
			(*page)(nil),
			S("x"),
		)
		for _, v := range values {
			got, err := Marshal(v)
			if err != nil {
				t.Fatalf("Marshal(%T): %v", v, err)
			}
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("json.Marshal(%T): %v", v, err)
			}
			if !json.Valid(got) {
				t.Fatalf("Marshal(%T) is not valid JSON: %s", v, got)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("Marshal(%T):\n%s\njson.Marshal:\n%s", v, got, want)
			}
			if !bytes.ContainsAny(got, "<>&") && !bytes.Equal(got, want) {
				t.Fatalf("Marshal(%T) bytes differ:\n%s\njson.Marshal:\n%s", v, got, want)
			}
		}
	})
}

// TestMarshalWritesItemsDirectly: items reached through pointers, slices, maps and
// interfaces are written by Marshal, not re-scanned by json.Marshal (which would escape '<').
func TestMarshalWritesItemsDirectly(t *testing.T) {
	it := Item{"a": S("<")}
	v := Value{Kind: KindS, S: "<"}
	for _, x := range []any{
		struct{ I *Item }{&it},
		struct{ I []Item }{[]Item{it}},
		&struct{ I *[]Item }{&[]Item{it}},
		map[string]Item{"k": it},
		struct{ V any }{it},
		struct{ V *Value }{&v},
		[]Value{v},
	} {
		got, err := Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte(`"<"`)) {
			t.Errorf("Marshal(%T) = %s: went through json.Marshal", x, got)
		}
	}
}

func TestMarshalNil(t *testing.T) {
	got, err := Marshal(nil)
	if err != nil || string(got) != "null" {
		t.Fatalf("Marshal(nil) = %s, %v", got, err)
	}
}

func TestMarshalError(t *testing.T) {
	if _, err := Marshal(struct{ V Value }{}); err == nil || !strings.Contains(err.Error(), "cannot marshal") {
		t.Fatalf("a Value without a Kind: err = %v", err)
	}
	if _, err := Marshal(map[string]any{"c": make(chan int)}); err == nil {
		t.Fatal("a channel: no error")
	}
}

var benchItems = func() []Item {
	var items []Item
	for i := range 50 {
		it := Item{"p": S("g000001"), "k": S("user" + strings.Repeat("0", 6) + string(rune('0'+i%10)))}
		for f := range 10 {
			it["field"+string(rune('0'+f))] = S(strings.Repeat("abcdefghij", 10))
		}
		items = append(items, it)
	}
	return items
}()

func BenchmarkMarshalPage(b *testing.B) {
	p := &page{Items: &benchItems, Count: len(benchItems)}
	for _, bc := range []struct {
		name string
		fn   func(any) ([]byte, error)
	}{{"attr.Marshal", Marshal}, {"json.Marshal", json.Marshal}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.fn(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeItem(b *testing.B) {
	enc := EncodeItem(benchItems[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeItem(enc); err != nil {
			b.Fatal(err)
		}
	}
}
