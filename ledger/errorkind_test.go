package ledger_test

import (
	"testing"

	"github.com/drafterhq/drafter/ledger"
)

// TestErrorKind: the same failure of two accounts is one kind, whatever
// hashes and temporary file names (os.CreateTemp's random decimal suffix,
// short or long) their errors carry; another failure is another kind.
func TestErrorKind(t *testing.T) {
	put := func(acct, suffix string) ledger.RunItem {
		return ledger.RunItem{Item: acct + " statement 2026-11", Error: "store statements/" + acct + "/2026-11.pdf: rename /d/statements/" + acct +
			"/.tmp-2026-11.pdf-" + suffix + " /d/statements/" + acct + "/2026-11.pdf: file exists"}
	}
	a, b := ledger.ErrorKind(put("ACC-1", "5611623")), ledger.ErrorKind(put("ACC-22", "3942012277"))
	if a != b {
		t.Errorf("one failure, two kinds:\n%s\n%s", a, b)
	}
	sha := func(acct, sum string) ledger.RunItem {
		return ledger.RunItem{Item: acct + " statement 2026-11", Error: "renders now as " + sum + "; it is left as recorded"}
	}
	if x, y := ledger.ErrorKind(sha("ACC-1", "0af3c2d19b7e")), ledger.ErrorKind(sha("ACC-2", "9912ffe0a1b2c3")); x != y || x == a {
		t.Errorf("kinds %q and %q, want one, not %q", x, y, a)
	}
}
