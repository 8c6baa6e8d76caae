package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestPostgresSessionsWithoutJIT: drafter's PostgreSQL sessions run with
// JIT compilation off (compiling a page of due payments' plan cost more
// than reading it), unless the database URL sets jit itself.
func TestPostgresSessionsWithoutJIT(t *testing.T) {
	url := ledgertest.URL(t, "postgres")
	jit := func(url string) string {
		st := ledgertest.OpenURL(t, url)
		var v string
		if err := st.DB().QueryRowContext(context.Background(), `SHOW jit`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := jit(url); got != "off" {
		t.Errorf("jit = %q, want off", got)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if got := jit(url + sep + "jit=on"); got != "on" {
		t.Errorf("with jit=on in the URL: jit = %q, want on", got)
	}
}
