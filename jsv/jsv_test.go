package jsv_test

import (
	"reflect"
	"testing"

	"github.com/evovoice/billing/jsv"
	"github.com/shopspring/decimal"
)

// The numbered vectors are ServiceStack.Text's own test expectations, as
// listed in shared/notes/research/servicestack.md §1.3. Vectors that need
// .NET-only types (DateTime, Guid, enums, TimeOnly, type hints) or the
// indented Dump() formatter do not apply to Go and are not repeated here;
// where a Go type plays the same role (a TextMarshaler for an enum member or
// a DateOnly) it stands in.

type (
	kv       struct{ Key string }
	hasObj   struct{ Obj kv }
	specials struct{ One, Two, Three, Four string }
	floats   struct {
		Float   float32
		Double  float64
		Decimal decimal.Decimal
	}
	excluded struct {
		Hidden string `json:"-"`
	}
	withExcluded struct {
		Id   int
		Name string
		Obj  excluded
	}
	excludes       struct{ Excludes []kv }
	dataMemberName struct {
		ID   int    `json:"MyID"`
		Name string `json:"name"`
	}
	snakeCase struct {
		ID      int    `json:"MyID"`
		Name    string `json:"name"`
		SurName string `json:"sur_name"`
	}
	alias struct {
		Id   int
		Name string `json:"alias"`
	}
	publicOnly struct {
		PublicInt    int
		PublicGetInt int
		private      int
	}
	day     int
	hasDay  struct{ Day day }
	dateish string
	hasDate struct{ Date dateish }
	custom  struct{}
	idName  struct {
		Id   int
		Name string
	}
	rawDecimal  struct{}
	withRawDec  struct{ Decimal rawDecimal }
	named       struct{ Name *string }
	nullable    struct{ N *int }
	pocoPointer struct{ Items []*kv }
)

func (day) MarshalText() ([]byte, error)       { return []byte("SUN"), nil }
func (d dateish) MarshalText() ([]byte, error) { return []byte(string(d)), nil }
func (custom) MarshalText() ([]byte, error) {
	return []byte("00000000000000000000000000000000:0:0:0:0:0"), nil
}

// AppendJSV writes a decimal the way a custom nl-NL serializer would: raw,
// bypassing quoting, as ServiceStack's custom serializers do (vector 40).
func (rawDecimal) AppendJSV(dst []byte) []byte { return append(dst, "1,33"...) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestMarshalVectors(t *testing.T) {
	cases := []struct {
		n    int
		v    any
		want string
	}{
		{1, []string{"One", "Two", "Three", "Four", "Five"}, "[One,Two,Three,Four,Five]"},
		{2, []string{}, "[]"},
		{2, any([]string{}), "[]"},
		{3, specials{"1st", "2nd", "3rd", ""}, `{One:1st,Two:2nd,Three:3rd,Four:""}`},
		{4, specials{`"1st`, "2:nd", "3r,d", "four%"}, `{One:"""1st",Two:"2:nd",Three:"3r,d",Four:four%}`},
		{6, []string{`"1st`, "2:nd", "3r,d", "four%"}, `["""1st","2:nd","3r,d",four%]`},
		{12, (*int)(nil), ""},
		{13, []byte{0, 65, 97, 255}, "AEFh/w=="},
		{14, [][]float64{{1, 0}, {0, 1}}, "[[1,0],[0,1]]"},
		{15, floats{1.1, 2.2, dec("3.3")}, "{Float:1.1,Double:2.2,Decimal:3.3}"},
		{16, floats{111111.1, 2222222.22, dec("33333333.333")}, "{Float:111111.1,Double:2222222.22,Decimal:33333333.333}"},
		{18, "https://url.com", `"https://url.com"`},
		{18, any("https://url.com"), `"https://url.com"`},
		{19, kv{"Value"}, "{Key:Value}"},
		{20, hasObj{kv{"Value"}}, "{Obj:{Key:Value}}"},
		{21, withExcluded{1234, "TEST", excluded{"x"}}, "{Id:1234,Name:TEST,Obj:{}}"},
		{22, excludes{[]kv{{"Value"}, {"Value"}}}, "{Excludes:[{Key:Value},{Key:Value}]}"},
		{23, []string{"a, b", "c 'd"}, `["a, b",c 'd]`},
		{23, []int{1, 2}, "[1,2]"},
		{23, []string{"foo", "bar"}, "[foo,bar]"},
		{24, dataMemberName{123, "Abc"}, "{MyID:123,name:Abc}"},
		{25, snakeCase{123, "Abc", "Xyz"}, "{MyID:123,name:Abc,sur_name:Xyz}"},
		{26, alias{1, "foo"}, "{Id:1,alias:foo}"},
		{27, publicOnly{0, 1, 2}, "{PublicInt:0,PublicGetInt:1}"},
		{28, hasDay{0}, "{Day:SUN}"},
		{29, hasDate{"2001-01-13"}, "{Date:2001-01-13}"},
		{31, struct{}{}, "{}"},
		{32, idName{1, "foo"}, "{Id:1,Name:foo}"},
		{33, custom{}, `"00000000000000000000000000000000:0:0:0:0:0"`},
		{35, named{ptr(`"This is a string surrounded with quotes"`)}, `{Name:"""This is a string surrounded with quotes"""}`},
		{35, named{ptr("")}, `{Name:""}`},
		{35, named{nil}, "{}"},
		{36, []string{" A "}, "[ A ]"},
		{40, withRawDec{}, "{Decimal:1,33}"},
		// Derived vectors (from the writer code, not asserted by a ServiceStack test).
		{0, "", `""`},
		{0, `a"b`, `"a""b"`},
		{0, `""`, `""""""`},
		{0, "line1\nline2", "\"line1\nline2\""},
		{0, "tab\there", "tab\there"},
		{0, `C:\dir`, `"C:\dir"`},
		{0, "{x}", `"{x}"`},
		{0, "100%", "100%"},
		{0, true, "True"},
		{0, false, "False"},
		{0, dec("1.50"), "1.50"},
		{0, dec("0"), "0"},
		{0, dec("0.0"), "0.0"},
		{0, dec("-0.5"), "-0.5"},
		{0, dec("0.0001"), "0.0001"},
		{0, dec("-1234.5600"), "-1234.5600"},
		{0, decimal.New(5, 3), "5000"},
		{0, dec("123456789012345678901234.5"), "123456789012345678901234.5"},
		{0, nullable{}, "{}"},
		{0, pocoPointer{[]*kv{{"a"}, nil}}, "{Items:[{Key:a},{}]}"},
		{0, []*string{ptr("a"), nil, ptr("b")}, "[a,,b]"},
		{0, map[string]any{"b": 1, "a": "x:y", "n": nil}, `{a:"x:y",b:1}`},
	}
	for _, c := range cases {
		got, err := jsv.Marshal(c.v)
		if err != nil {
			t.Errorf("#%d Marshal(%#v): %v", c.n, c.v, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("#%d Marshal(%#v) = %s, want %s", c.n, c.v, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestUnmarshalVectors(t *testing.T) {
	type floatsOnly struct {
		Float   float32
		Double  float64
		Decimal decimal.Decimal
	}
	cases := []struct {
		n    int
		in   string
		into any // pointer to a zero value
		want any
	}{
		{5, `{One:"""1st",Two:2:nd,Three:"3r,d"}`, &map[string]string{}, &map[string]string{"One": `"1st`, "Two": "2:nd", "Three": "3r,d"}},
		{7, `["""1st",2:nd,"3r,d",four%]`, &[]string{}, &[]string{`"1st`, "2:nd", "3r,d", "four%"}},
		{17, `{Float:"1111.1",Double:"2222.2",Decimal:"3333.3"}`, &floatsOnly{}, &floatsOnly{1111.1, 2222.2, dec("3333.3")}},
		{17, `{Float:"1,111.1",Double:"2,222.2",Decimal:"3,333.3"}`, &floatsOnly{}, &floatsOnly{1111.1, 2222.2, dec("3333.3")}},
		{34, `{__type:"Ns.TestObject, Asm",Key:Some Value}`, &kv{}, &kv{"Some Value"}},
		{35, `{Name:"""This is a string surrounded with quotes"""}`, &named{}, &named{ptr(`"This is a string surrounded with quotes"`)}},
		{35, `{Name:""}`, &named{}, &named{ptr("")}},
		{35, `{Name:}`, &named{}, &named{}},
		{36, "[ A ]", &[]string{}, &[]string{" A "}},
		{37, "", &[]string{"x"}, new([]string)},
		{37, "[]", &[]string{}, &[]string{}},
		{37, "{}", &map[string]string{}, &map[string]string{}},
		// Reader rules (notes §1.2).
		{0, `{ key :x}`, &kv{}, &kv{"x"}},                             // names are trimmed, matched case-insensitively
		{0, `{KEY: x }`, &kv{}, &kv{" x "}},                           // values keep their spaces
		{0, `{"key":"KEY"}`, &kv{}, &kv{"KEY"}},                       // JSON-looking input
		{0, `[{"key":"KEY","value":"VAL"}]`, &[]kv{}, &[]kv{{"KEY"}}}, // unknown "value" ignored
		{0, `[a,]`, &[]*string{}, &[]*string{ptr("a"), nil}},          // a trailing comma adds a null
		{0, `[a,,b]`, &[]*string{}, &[]*string{ptr("a"), nil, ptr("b")}},
		{0, `[,]`, &[]string{}, &[]string{"", ""}},
		{0, "\uFEFF{Key:v}", &kv{}, &kv{"v"}}, // a BOM is skipped
		{0, `{PublicInt:"5",PublicGetInt:1,private:3}`, &publicOnly{}, &publicOnly{PublicInt: 5, PublicGetInt: 1}},
		{0, `{Obj:{Key:"{a,b}"}}`, &hasObj{}, &hasObj{kv{"{a,b}"}}},
		{0, `{Key:{x}}`, &kv{}, &kv{"{x}"}}, // a string target takes a raw object as text
		{0, `{Items:[{Key:a},{}]}`, &pocoPointer{}, &pocoPointer{[]*kv{{"a"}, {}}}},
		{0, `AEFh/w==`, &[]byte{}, &[]byte{0, 65, 97, 255}},
		{0, `[[1,0],[0,1]]`, &[][]float64{}, &[][]float64{{1, 0}, {0, 1}}},
		{0, `{a:[x,{b:c}],d:}`, new(any), ptr(any(map[string]any{"a": []any{"x", map[string]any{"b": "c"}}, "d": nil}))},
	}
	for _, c := range cases {
		if err := jsv.Unmarshal([]byte(c.in), c.into); err != nil {
			t.Errorf("#%d Unmarshal(%q): %v", c.n, c.in, err)
			continue
		}
		if !reflect.DeepEqual(c.into, c.want) {
			t.Errorf("#%d Unmarshal(%q) = %#v, want %#v", c.n, c.in, reflect.ValueOf(c.into).Elem(), reflect.ValueOf(c.want).Elem())
		}
	}
}

func TestUnmarshalBooleans(t *testing.T) {
	for in, want := range map[string]bool{"True": true, "true": true, "1": true, "t": true, "Y": true, "on": true, "False": false, "false": false, "0": false} {
		var b bool
		if err := jsv.Unmarshal([]byte(in), &b); err != nil || b != want {
			t.Errorf("Unmarshal(%q) = %v, %v; want %v", in, b, err, want)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	var k kv
	var n struct{ N int }
	for _, in := range []string{`{Key:"x`, `{Key:x`, `{Key`, `Key:x}`, `{Key:"a"b}`, `{Key:x}tail`, `{Key:[x}`} {
		if err := jsv.Unmarshal([]byte(in), &k); err == nil {
			t.Errorf("Unmarshal(%q) into a struct succeeded", in)
		}
	}
	for _, in := range []string{`{N:x}`, `{N:1.5}`, `{N:99999999999999999999}`} {
		if err := jsv.Unmarshal([]byte(in), &n); err == nil {
			t.Errorf("Unmarshal(%q) into an int succeeded", in)
		}
	}
	strict := jsv.Decoder{DisallowUnknownFields: true}
	if err := strict.Unmarshal([]byte(`{Key:a,Other:b}`), &k); err == nil {
		t.Error("strict decoder accepted an unknown property")
	}
}

func TestJSONConversions(t *testing.T) {
	got, err := jsv.FromJSON(nil, []byte(`{"a":"x:y","b":1.50,"c":null,"d":[1,null,"s"],"e":true,"f":{}}`))
	if err != nil || string(got) != `{a:"x:y",b:1.50,d:[1,,s],e:True,f:{}}` {
		t.Errorf("FromJSON = %s, %v", got, err)
	}
	j, err := jsv.ToJSON([]byte(`{a:"x:y",b:1.50,c:,d:[1,,s],f:{}}`))
	if err != nil || string(j) != `{"a":"x:y","b":"1.50","c":null,"d":["1",null,"s"],"f":{}}` {
		t.Errorf("ToJSON = %s, %v", j, err)
	}
}
