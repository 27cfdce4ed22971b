package reply_test

import (
	"bytes"
	"testing"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/handlers/internal/wiretest"
)

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\b\f\n\r\t\x1f", "\u2028\u2029", "\xff\xfe", "é🎉", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := reply.AppendJSONString(nil, s), wiretest.Reference(t, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	})
}
