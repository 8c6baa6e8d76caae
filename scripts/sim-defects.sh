#!/usr/bin/env bash
# sim-defects.sh [NAME...]: put back, in a scratch copy of the tree, the
# defects docs/simulation.md lists (installment, notice, backfill, exit0,
# extension, told)
# one at a time, run make test's short history (SQLite) on each, and print
# the first broken invariant. Nothing in this tree is changed. A defect the
# simulation does not find exits 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(installment notice backfill exit0 extension told)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
missed=0
for n in "${names[@]}"; do
	dir=$work/$n
	mkdir -p "$dir"
	(cd "$root" && git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$dir")
	(cd "$dir" && python3 - "$n" <<'PY'
import sys
name = sys.argv[1]
def put_back(path, old, new):
    s = open(path).read()
    if old not in s:
        sys.exit(f"{name}: {path} no longer has the fixed code; update scripts/sim-defects.sh")
    open(path, 'w').write(s.replace(old, new))
if name == 'installment':
    # originate debits the installment whatever one-time payment covers it
    put_back('jobs/originate.go', '''	ins, err := st.AutopayInstallments(ctx, eff)''',
        '''	if policy != "" {
		return nil
	}
	ins, err := st.AutopayInstallments(ctx, eff)''')
elif name == 'notice':
    # the notice's email tells its threshold, not the days left
    put_back('jobs/deliver.go', '''		days := acct.MaturityOn.DaysSince(doc.DocumentDate)
		if p.DaysToMaturity != nil {
			days = *p.DaysToMaturity
		}''', '''		days, _ := strconv.Atoi(strings.TrimPrefix(doc.Kind, ledger.DocLeaseEndPrefix))''')
    put_back('jobs/deliver.go', 'import (', 'import (\n\t"strconv"')
elif name == 'backfill':
    # a backfill walks banking days for every job
    put_back('jobs/backfill.go', '''		if !banking || cal.IsBankingDay(d) {''', '''		if _ = banking; cal.IsBankingDay(d) {''')
elif name == 'exit0':
    # deliver neither probes the relay nor stops on failures in a row
    put_back('jobs/dependency.go', '''		case DepMail:
			err = e.probeMail(ctx)''', '''		case DepMail:''')
    put_back('jobs/deliver.go', '''		if r.Depend(DepMail, err) != nil {
			b.stopping.Store(true)
		}''', '')
elif name == 'extension':
    # an extended lease's new notice goes to the key the first one holds
    put_back('jobs/lease_end.go', '''	if h, ok := holders[k]; ok && h != key {''', '''	if h, ok := holders[k]; ok && h != key && false {''')
elif name == 'told':
    # deliver queues the "payment scheduled" emails after its probe of the
    # relay, and for payments already returned too
    put_back('jobs/deliver.go', '''	if err == nil {
		err = d.queuePaymentEmails(ctx, r, &r.paymentEmailsQueued)
	}''', '')
    put_back('jobs/deliver.go', '''	if r.DryRun {
		return sum, d.dryRun(ctx, r, c, sum)''', '''	if err := d.queuePaymentEmails(ctx, r, &sum.PaymentEmailsQueued); err != nil {
		return sum, err
	}
	if r.DryRun {
		return sum, d.dryRun(ctx, r, c, sum)''')
    put_back('ledger/originations.go', """AND p.kind = 'debit' AND p.state <> '`+PaymentReturned+`'""", """AND p.kind = 'debit'""")
else:
    sys.exit(f"unknown defect {name}: want installment, notice, backfill, exit0, extension or told")
PY
	)
	echo "== $n"
	out=$(cd "$dir/sim" && go test -buildvcs=false -count=1 -run 'TestSimulateShortHistory/sqlite' -timeout 20m . 2>&1 || true)
	if line=$(grep -m1 'invariant .* broken' <<<"$out"); then
		echo "$line" | sed 's/^ *sim_test.go:[0-9]*: //'
	else
		echo "not found: the short history passed with the defect put back"
		missed=1
	fi
done
exit $missed
