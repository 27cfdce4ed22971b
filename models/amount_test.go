package models

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestMicros(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "0.1": "0.1", "1.50": "1.5", "0.000001": "0.000001", "-2.25": "-2.25", "1e3": "1000", "123456789.123456": "123456789.123456",
	} {
		m, err := MicrosOf(decimal.RequireFromString(in))
		if err != nil || m.String() != want {
			t.Errorf("MicrosOf(%s) = %s, %v; want %s", in, m, err, want)
		}
	}
	for _, in := range []string{"0.0000001", "1e30", "-1e30"} {
		if m, err := MicrosOf(decimal.RequireFromString(in)); err == nil {
			t.Errorf("MicrosOf(%s) = %s, want an error", in, m)
		}
	}
	a, _ := MicrosOf(decimal.RequireFromString("0.1"))
	b, _ := MicrosOf(decimal.RequireFromString("0.2"))
	if got := (a + b).String(); got != "0.3" {
		t.Errorf("0.1 + 0.2 = %s", got)
	}
}
