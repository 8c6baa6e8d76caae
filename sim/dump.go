package sim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/drafterhq/drafter/ledger"
)

// dumpQueries select what the ledger holds, without the database's own
// ids and clock times: two histories of one seed dump the same lines.
var dumpQueries = []struct{ table, q, scope string }{
	{"bank_accounts", `SELECT id, routing, last4, number_mac, type, prenote, status, status_reason FROM bank_accounts`, `account_id IN (%s)`},
	{"autopay", `SELECT id, bank_account_id, starts_on, amount, status, status_reason FROM autopay_enrollments`, `account_id IN (%s)`},
	{"scheduled", `SELECT id, bank_account_id, amount, debit_on FROM scheduled_payments`, `account_id IN (%s)`},
	// A payment's origination as its originations record has it, settled
	// onto the row or not yet: when the deliver job settled a file is not
	// what the ledger holds (checkSettled holds the rows to the records).
	{"payments", `SELECT p.source, p.source_key, p.account_id, p.bank_account_id, p.kind, p.sec, p.description, p.amount,
		COALESCE(CAST(p.due_on AS TEXT), ''), CAST(p.draft_on AS TEXT),
		CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END, p.state_reason, p.attempt,
		COALESCE(o.trace_number, p.trace_number, ''), COALESCE(CAST(o.effective_on AS TEXT), CAST(p.effective_on AS TEXT), ''),
		COALESCE(o.transaction_code, p.transaction_code), p.installment_amount, COALESCE(f.storage_key, '')
		FROM payments p LEFT JOIN originations o ON o.payment_id = p.id LEFT JOIN ach_files f ON f.id = COALESCE(o.ach_file_id, p.ach_file_id)`,
		`p.account_id IN (%s)`},
	{"ach_files", `SELECT CAST(business_date AS TEXT), id_modifier, status, CAST(effective_on AS TEXT), storage_key, sha256, entries, debit_total FROM ach_files`, ``},
	{"returns", `SELECT entry_key, original_trace, code, amount, action, CAST(returned_on AS TEXT) FROM returns`, `payment_id IN (SELECT id FROM payments WHERE account_id IN (%s))`},
	{"corrections", `SELECT entry_key, change_code, corrected_data, action, CAST(received_on AS TEXT) FROM corrections`, `payment_id IN (SELECT id FROM payments WHERE account_id IN (%s))`},
	{"documents", `SELECT account_id, kind, period, CAST(document_date AS TEXT), storage_key, sha256, size, COALESCE(new_balance, 0) FROM documents`, `account_id IN (%s)`},
	{"outbox", `SELECT topic, recipient, kind, account_id, status FROM outbox`, `account_id IN (%s)`},
	{"transactions", `SELECT id, account_id, CAST(posted_on AS TEXT), kind, amount, source FROM transactions`, `account_id IN (%s)`},
	{"exceptions", `SELECT kind, reference FROM exceptions`, ``},
}

// Dump returns the ledger as sorted lines, table by table: payments and
// their files, returns, NOCs, documents with their sha256, email, posted
// transactions, exceptions; with runs, the run ledger's outcomes too.
func Dump(ctx context.Context, st *ledger.Store, withRuns bool) ([]string, error) {
	return dump(ctx, st, withRuns, nil)
}

// dumpAccounts is Dump limited to the rows of the accounts named (their
// payments, returns, NOCs, documents, email and transactions) and the
// tables that have no account (files, exceptions): what a rerun of one
// night's job can touch, without reading the whole history.
func dumpAccounts(ctx context.Context, st *ledger.Store, accounts []string) ([]string, error) {
	if len(accounts) == 0 {
		accounts = []string{""}
	}
	return dump(ctx, st, false, accounts)
}

func dump(ctx context.Context, st *ledger.Store, withRuns bool, accounts []string) ([]string, error) {
	qs := dumpQueries
	if withRuns {
		qs = append(slices.Clone(qs), struct{ table, q, scope string }{"runs",
			`SELECT job, CAST(business_date AS TEXT), scope, attempt, status FROM runs WHERE NOT dry_run`, ""})
	}
	var in string
	if accounts != nil {
		quoted := make([]string, len(accounts))
		for i, a := range accounts {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		}
		in = strings.Join(quoted, ", ")
	}
	var out []string
	for _, dq := range qs {
		q := dq.q
		if accounts != nil && dq.scope != "" {
			q += " WHERE " + fmt.Sprintf(dq.scope, in)
		}
		lines, err := queryLines(ctx, st.DB(), q)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", dq.table, err)
		}
		slices.Sort(lines)
		for _, l := range lines {
			out = append(out, dq.table+"\t"+l)
		}
	}
	slices.Sort(out)
	return out, nil
}

func queryLines(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		b.Reset()
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch x := v.(type) {
			case []byte:
				b.Write(x)
			case nil:
			default:
				fmt.Fprint(&b, x)
			}
		}
		out = append(out, b.String())
	}
	return out, rows.Err()
}

// DumpHash is the sha256 of the dump's lines.
func DumpHash(lines []string) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff names the first line one dump has and the other has not.
func Diff(a, b []string) string {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			return "before only: " + a[i]
		default:
			return "after only: " + b[j]
		}
	}
	if i < len(a) {
		return "before only: " + a[i]
	}
	if j < len(b) {
		return "after only: " + b[j]
	}
	return ""
}

// removed names the first line of before that after lacks: something done
// that was changed or undone (lines only after are new work).
func removed(before, after []string) string {
	j := 0
	for _, l := range before {
		for j < len(after) && after[j] < l {
			j++
		}
		if j == len(after) || after[j] != l {
			return "changed or gone: " + l
		}
	}
	return ""
}
