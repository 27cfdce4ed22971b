package jsv_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/evovoice/billing/jsv"
	"github.com/shopspring/decimal"
)

// fuzzRecord exercises every kind of value the service writes.
type fuzzRecord struct {
	Name   string            `json:"name"`
	Note   *string           `json:"note,omitempty"`
	Count  int64             `json:"count"`
	Flag   bool              `json:"flag"`
	Price  decimal.Decimal   `json:"price"`
	Tags   []string          `json:"tags"`
	One    []string          `json:"one"`
	Nested *fuzzRecord       `json:"nested,omitempty"`
	Items  []fuzzItem        `json:"items"`
	Attrs  map[string]string `json:"attrs"`
}

type fuzzItem struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// FuzzUnmarshal: no input makes the decoder panic or loop, whatever the target.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		"", "[]", "{}", "[One,Two]", `{One:"""1st",Two:2:nd,Three:"3r,d"}`, `["""1st",2:nd,"3r,d",four%]`,
		`{Float:"1,111.1",Double:2222.2,Decimal:3333.3}`, `{__type:"Ns.T, Asm",Key:Some Value}`, "[[1,0],[0,1]]",
		`{name:a,count:1,flag:True,price:1.50,tags:[a,b],nested:{name:b},items:[{key:k,value:v}],attrs:{a:b}}`,
		`{"key":"KEY","value":"VAL"}`, "[ A ]", "[a,]", `{a:{b:{c:[[[`, `"unterminated`, "\uFEFF{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{new(any), new(fuzzRecord), new([]fuzzRecord), new(map[string]string), new([]string), new(decimal.Decimal), new(int64), new(bool)}
		for _, v := range targets {
			_ = jsv.Unmarshal(data, v)
		}
		if j, err := jsv.ToJSON(data); err == nil && len(j) == 0 {
			t.Fatalf("ToJSON(%q) gave nothing", data)
		}
	})
}

// FuzzRoundTrip: what Marshal writes, Unmarshal reads back unchanged, for
// any strings, numbers and decimals.
func FuzzRoundTrip(f *testing.F) {
	f.Add("One", "Two", int64(3), true, "1.50")
	f.Add(`"1st`, "2:nd", int64(-1), false, "0")
	f.Add("3r,d", "four%", int64(0), true, "-0.5")
	f.Add("", `""`, int64(1<<62), false, "33333333.333")
	f.Add(" A ", "line1\nline2", int64(-1<<63), true, "0.0001")
	f.Add("{x}", "[y]", int64(42), false, "123456789012345678901234.5")
	f.Add("https://url.com", `C:\dir`, int64(7), true, "1e5")
	f.Add(" ", "\t", int64(0), false, "0.000")
	f.Fuzz(func(t *testing.T, a, b string, n int64, flag bool, price string) {
		p, err := decimal.NewFromString(price)
		if err != nil || p.Exponent() > 1000 || p.Exponent() < -1000 {
			return
		}
		in := fuzzRecord{
			Name: a, Note: &b, Count: n, Flag: flag, Price: p,
			Tags:   []string{a, b},
			One:    []string{a},
			Nested: &fuzzRecord{Name: b, Tags: []string{}, Attrs: map[string]string{}},
			Items:  []fuzzItem{{a, b}, {b, a}},
			Attrs:  map[string]string{a: b, "k": a},
		}
		// JSV cannot carry a list whose only element is blank (ServiceStack
		// reads [ ] as an empty list); see the package documentation.
		if strings.TrimSpace(a) == "" {
			in.One = nil
		}
		out, err := jsv.Marshal(in)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var back fuzzRecord
		if err := jsv.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(%q): %v", out, err)
		}
		if !back.Price.Equal(in.Price) {
			t.Fatalf("price %s read back as %s from %q", in.Price, back.Price, out)
		}
		// Writing what was read gives the same text: decimals keep their scale.
		if again, err := jsv.Marshal(back); err != nil || string(again) != string(out) {
			t.Fatalf("rewritten as %q (%v), first written as %q", again, err, out)
		}
		// Decimals compare by text above (DeepEqual sees their internals).
		back.Price, in.Price = decimal.Decimal{}, decimal.Decimal{}
		if back.Nested != nil {
			back.Nested.Price = decimal.Decimal{}
		}
		if !reflect.DeepEqual(back, in) {
			t.Fatalf("round trip changed the value:\n in  %#v\n out %#v\n jsv %q", in, back, out)
		}
	})
}
