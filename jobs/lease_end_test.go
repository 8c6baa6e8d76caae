package jobs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestLeaseEndThresholdsOnce follows one lease to maturity: the 90- and
// 60-day notices on their days, the 30-day notice the day after a night
// without a run, each sent once however many runs follow, and a rerun of a
// day verifies instead of sending again.
func TestLeaseEndThresholdsOnce(t *testing.T) {
	hasQPDF(t)
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { leaseEndThresholds(t, dialect) })
	}
}

func leaseEndThresholds(t *testing.T, dialect string) {
	ctx := context.Background()
	env := testEnv(t, dialect, nil)
	asOf := civil.MustParse("2026-11-24")
	importGenerated(t, env.Store, 300, 21, asOf)
	leases, err := env.Store.LeasesMaturing(ctx, asOf.AddDays(95), asOf.AddDays(150), "", "", 1)
	if err != nil || len(leases) == 0 {
		t.Fatalf("no lease maturing 95 to 150 days after %s: %v", asOf, err)
	}
	lease := leases[0]
	m := lease.MaturityOn
	scope := "account:" + lease.ID
	run := func(daysBefore int) *jobs.DocumentSummary {
		t.Helper()
		res, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: m.AddDays(-daysBefore), Scope: scope, Trigger: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Run.Status != ledger.RunSucceeded {
			t.Fatalf("%d days before: run %s", daysBefore, res.Run.Status)
		}
		return res.Summary.(*jobs.DocumentSummary)
	}
	type want struct{ stored, already int }
	steps := []struct {
		daysBefore int
		want       want
		kind       string
	}{
		{91, want{0, 0}, ""},
		{90, want{1, 0}, "lease_end_90"},
		{89, want{0, 1}, ""},
		{61, want{0, 1}, ""},
		{60, want{1, 0}, "lease_end_60"},
		{45, want{0, 1}, ""},
		// No run 30 days before: the next run catches up.
		{29, want{1, 0}, "lease_end_30"},
		{28, want{0, 1}, ""},
		{1, want{0, 1}, ""},
		{0, want{0, 1}, ""},
		{-1, want{0, 0}, ""}, // matured: nothing more
	}
	var firstRun ledger.Run
	for _, s := range steps {
		sum := run(s.daysBefore)
		if sum.Stored != s.want.stored || sum.AlreadySent != s.want.already || sum.EmailsQueued != s.want.stored {
			t.Errorf("%d days before maturity: %+v, want %d stored, %d already sent", s.daysBefore, sum, s.want.stored, s.want.already)
		}
		if s.kind != "" && sum.ByKind[s.kind] != 1 {
			t.Errorf("%d days before maturity: sent %v, want %s", s.daysBefore, sum.ByKind, s.kind)
		}
		if s.daysBefore == 90 {
			runs, _ := env.Store.ListRuns(ctx, ledger.RunFilter{Job: "lease-end"})
			for _, r := range runs {
				if r.BusinessDate == m.AddDays(-90) {
					firstRun = r
				}
			}
		}
	}
	docs := recordedDocuments(t, env.Store, "lease_end_%")
	if len(docs) != 3 {
		t.Fatalf("%d notices recorded, want 3: %v", len(docs), docs)
	}
	for _, days := range []int{90, 60, 30} {
		key := jobs.NoticeKey(lease.ID, days)
		doc, ok := docs[key]
		if !ok || doc.Kind != fmt.Sprintf("lease_end_%d", days) || doc.Period != m.String() {
			t.Errorf("notice %s: %+v", key, doc)
			continue
		}
		b, obj, err := env.Docs.Get(ctx, key)
		if err != nil || obj.SHA256 != doc.SHA256 {
			t.Errorf("stored %s: %v (sha %s, recorded %s)", key, err, obj.SHA256, doc.SHA256)
			continue
		}
		qpdfCheck(t, key, b)
	}
	if m, n := documentEmails(t, env.Store, ledger.MailLeaseEndNotice); m != 3 || n != 3 {
		t.Errorf("notice emails: %d matching of %d, want 3", m, n)
	}

	// Rerunning the 90-day run re-renders it as of its own date and finds
	// it identical.
	again, err := env.Rerun(ctx, jobs.LeaseEnd{}, firstRun, "test", "check", "")
	if err != nil {
		t.Fatal(err)
	}
	if s := again.Summary.(*jobs.DocumentSummary); s.Verified != 1 || s.Stored != 0 || s.EmailsQueued != 0 {
		t.Errorf("rerun of the 90-day run: %+v, want it verified", s)
	}
}

// TestLeaseEndPortfolio runs two consecutive days over a portfolio: the
// first run sends each lease in the window its current notice; the second
// sends only those whose threshold was crossed overnight.
func TestLeaseEndPortfolio(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t, "sqlite", nil)
	d := civil.MustParse("2026-11-24")
	importGenerated(t, env.Store, 300, 22, d)
	first, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: d, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s1 := first.Summary.(*jobs.DocumentSummary)
	if s1.Stored == 0 || s1.Failed != 0 {
		t.Fatalf("first day: %+v", s1)
	}
	next := d.AddDays(1)
	crossed := 0
	leases, err := env.Store.LeasesMaturing(ctx, next, next.AddDays(90), "", "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		switch l.MaturityOn.DaysSince(next) {
		case 90, 60, 30:
			crossed++
		}
	}
	second, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: next, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s2 := second.Summary.(*jobs.DocumentSummary)
	if s2.Stored != crossed || s2.AlreadySent+s2.Stored != s2.Selected {
		t.Errorf("second day: %+v, want %d new notices (thresholds crossed overnight) and the rest already sent", s2, crossed)
	}
}

// TestLeaseEndExtendedLease: a lease extended after its 90-day notice gets
// the 90-day notice of its new maturity date too, stored beside the first
// (which stays as sent); the run has no failures and a rerun verifies.
// Each notice's email, though both go out after the extension, tells what
// its notice tells: 90 days, to the maturity it was made for.
func TestLeaseEndExtendedLease(t *testing.T) {
	hasQPDF(t)
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			pickup := filepath.Join(t.TempDir(), "outbox")
			env := testEnv(t, dialect, map[string]string{"DRAFTER_MAIL_URL": "pickup://" + pickup})
			asOf := civil.MustParse("2026-11-24")
			const n, seed = 300, 21
			importGenerated(t, env.Store, n, seed, asOf)
			leases, err := env.Store.LeasesMaturing(ctx, asOf.AddDays(95), asOf.AddDays(150), "", "", 1)
			if err != nil || len(leases) == 0 {
				t.Fatalf("no lease maturing 95 to 150 days after %s: %v", asOf, err)
			}
			lease, m := leases[0], leases[0].MaturityOn
			scope := "account:" + lease.ID
			run := func(d civil.Date) jobs.Result {
				t.Helper()
				res, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: d, Scope: scope, Trigger: "test"})
				if err != nil {
					t.Fatal(err)
				}
				if res.Run.Status != ledger.RunSucceeded {
					t.Fatalf("%s: run %s: %s", d, res.Run.Status, res.Run.Error)
				}
				return res
			}
			if s := run(m.AddDays(-90)).Summary.(*jobs.DocumentSummary); s.Stored != 1 {
				t.Fatalf("90 days before %s: %+v, want the notice", m, s)
			}

			// The lease is extended by a month.
			m2 := m.AddDays(30)
			var extended []portfolio.Account
			for a := range portfolio.Generated(portfolio.GenerateOptions{Accounts: n, Seed: seed, AsOf: asOf}) {
				if a.ID == lease.ID {
					a.Contract.MaturityDate = m2
					a.Contract.TermMonths++
					extended = append(extended, a)
				}
			}
			importAccounts(t, env.Store, extended)
			res := run(m2.AddDays(-90))
			if s := res.Summary.(*jobs.DocumentSummary); s.Stored != 1 || s.EmailsQueued != 1 || s.ByKind["lease_end_90"] != 1 {
				t.Fatalf("90 days before the new maturity %s: %+v, want a new 90-day notice", m2, s)
			}
			docs := recordedDocuments(t, env.Store, "lease_end_%")
			first, reissued := jobs.NoticeKey(lease.ID, 90), jobs.ReissuedNoticeKey(lease.ID, 90, m2.String())
			if len(docs) != 2 || docs[first].Period != m.String() || docs[reissued].Period != m2.String() {
				t.Fatalf("notices recorded: %+v; want %s for %s and %s for %s", docs, first, m, reissued, m2)
			}
			for key, doc := range docs {
				b, obj, err := env.Docs.Get(ctx, key)
				if err != nil || obj.SHA256 != doc.SHA256 {
					t.Fatalf("stored %s: %v (sha %s, recorded %s)", key, err, obj.SHA256, doc.SHA256)
				}
				qpdfCheck(t, key, b)
			}
			again, err := env.Rerun(ctx, jobs.LeaseEnd{}, res.Run, "test", "check", "")
			if err != nil {
				t.Fatal(err)
			}
			if s := again.Summary.(*jobs.DocumentSummary); s.Verified != 1 || s.Stored != 0 || s.EmailsQueued != 0 {
				t.Errorf("rerun: %+v, want the reissued notice verified", s)
			}
			if _, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: m2.AddDays(-90), Trigger: "test"}); err != nil {
				t.Fatal(err)
			}
			emails, _ := filepath.Glob(filepath.Join(pickup, "*.eml"))
			notices := 0
			for _, e := range emails {
				b, err := os.ReadFile(e)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), "lease") || !strings.Contains(string(b), "ends ") {
					continue
				}
				notices++
				if !strings.Contains(string(b), "ends in 90 days") {
					t.Errorf("a 90-day notice's email, sent after the extension:\n%.600s", b)
				}
			}
			if notices != 2 {
				t.Fatalf("%d lease-end emails in %d, want 2", notices, len(emails))
			}
		})
	}
}

// TestLeaseEndImportedDaysBeforeMaturity: a lease that first reaches the
// lease-end job 5 days before maturity has passed all three thresholds; it
// gets one notice, for the days it has (no inspection "30 days before"),
// and no more on the following days.
func TestLeaseEndImportedDaysBeforeMaturity(t *testing.T) {
	needPDFToText(t)
	ctx := context.Background()
	env := testEnv(t, "sqlite", nil)
	a := leaseAccount()
	a.Contract.StartOdometer = 12
	// The extract that first carries the lease is of the day before.
	a.Balance.AsOf = a.Contract.MaturityDate.AddDays(-6)
	a.OdometerReadings = []portfolio.OdometerReading{{On: a.Contract.MaturityDate.AddDays(-12), Miles: 35_210, Source: "customer"}}
	importAccounts(t, env.Store, []portfolio.Account{a})
	m := a.Contract.MaturityDate
	run := func(d civil.Date) *jobs.DocumentSummary {
		t.Helper()
		res, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: d, Trigger: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Run.Status != ledger.RunSucceeded {
			t.Fatalf("%s: run %s: %s", d, res.Run.Status, res.Run.Error)
		}
		return res.Summary.(*jobs.DocumentSummary)
	}
	if s := run(m.AddDays(-5)); s.Stored != 1 || s.EmailsQueued != 1 || s.ByKind["lease_end_30"] != 1 {
		t.Fatalf("5 days before maturity: %+v, want the one 30-day notice", s)
	}
	for _, days := range []int{4, 1, 0} {
		if s := run(m.AddDays(-days)); s.Stored != 0 || s.EmailsQueued != 0 {
			t.Errorf("%d days before maturity: %+v, want nothing more", days, s)
		}
	}
	docs := recordedDocuments(t, env.Store, "lease_end_%")
	if len(docs) != 1 {
		t.Fatalf("%d notices recorded, want 1: %v", len(docs), docs)
	}
	b, _, err := env.Docs.Get(ctx, jobs.NoticeKey(a.ID, 30))
	if err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, "notice", b)
	text := pdfText(t, b)
	for _, bad := range []string{"30 days before", "in 0 days", "at least 30"} {
		if strings.Contains(text, bad) {
			t.Errorf("the notice 5 days before maturity says %q", bad)
		}
	}
	golden(t, "lease-end-5-days.golden.txt", []byte(text))
}

func needPDFToText(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skipf("pdftotext is not installed (apt-get install poppler-utils): %v", err)
	}
}

// TestLeaseEndConfiguredDays: DRAFTER_LEASE_END_DAYS sets the thresholds;
// a lease 40 days from maturity gets the 45-day notice, not the 60-day.
func TestLeaseEndConfiguredDays(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_LEASE_END_DAYS": "120,45,15"})
	a := leaseAccount()
	importAccounts(t, env.Store, []portfolio.Account{a})
	m := a.Contract.MaturityDate
	for _, step := range []struct {
		days int
		kind string
	}{{121, ""}, {40, "lease_end_45"}, {30, ""}, {15, "lease_end_15"}} {
		res, err := env.Start(ctx, jobs.LeaseEnd{}, jobs.StartSpec{Date: m.AddDays(-step.days), Trigger: "test"})
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary.(*jobs.DocumentSummary)
		want := 0
		if step.kind != "" {
			want = 1
		}
		if s.Stored != want || (step.kind != "" && s.ByKind[step.kind] != 1) {
			t.Errorf("%d days before maturity: %+v, want %q", step.days, s, step.kind)
		}
	}
}
