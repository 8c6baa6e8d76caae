package portfolio

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/drafterhq/drafter/civil"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var testAsOf = civil.MustParse("2026-11-24")

func generate(t testing.TB, opt GenerateOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, opt); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes()
}

func TestGenerateIsValid(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for _, seed := range []int64{1, 2, 42, -7} {
		for _, asOf := range []string{"2026-11-24", "2028-02-29", "2027-01-31"} {
			opt := GenerateOptions{Accounts: n, Seed: seed, AsOf: civil.MustParse(asOf)}
			d := NewDecoder(bytes.NewReader(generate(t, opt)), "gen.jsonl")
			count, bad := 0, 0
			for {
				_, err := d.Next()
				if err == io.EOF {
					break
				}
				count++
				if err != nil {
					bad++
					if bad <= 5 {
						t.Errorf("seed %d as of %s: %v", seed, asOf, err)
					}
				}
			}
			if count != n {
				t.Errorf("seed %d as of %s: decoded %d accounts, want %d", seed, asOf, count, n)
			}
			if bad > 0 {
				t.Errorf("seed %d as of %s: %d invalid lines", seed, asOf, bad)
			}
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	opt := GenerateOptions{Accounts: 3000, Seed: 7, AsOf: testAsOf}
	a := sha256.Sum256(generate(t, opt))
	b := sha256.Sum256(generate(t, opt))
	if a != b {
		t.Fatalf("same seed, different bytes: %x vs %x", a, b)
	}
	opt.Seed = 8
	if c := sha256.Sum256(generate(t, opt)); c == a {
		t.Fatalf("seeds 7 and 8 gave the same bytes")
	}
}

// TestAppendAccountMatchesEncodingJSON holds the hand-written encoder to
// what encoding/json writes for the same values, and checks that the bytes
// decode back into equal structs.
func TestAppendAccountMatchesEncodingJSON(t *testing.T) {
	n := 0
	for a := range Generated(GenerateOptions{Accounts: 3000, Seed: 3, AsOf: testAsOf}) {
		n++
		got := appendAccount(nil, &a)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&a); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("account %s:\n got %s\nwant %s", a.ID, got, want.Bytes())
		}
		var back Account
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("account %s: unmarshal: %v", a.ID, err)
		}
		if !reflect.DeepEqual(back, a) {
			t.Fatalf("account %s does not round-trip:\n got %+v\nwant %+v", a.ID, back, a)
		}
	}
	if n != 3000 {
		t.Fatalf("Generated yielded %d accounts, want 3000", n)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\ncr\r\b\f\x00\x1f", "Nguyễn Thị Ánh", "bad \xff utf8", "line\u2028sep\u2029", "<&>"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.Bytes())
		}
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	if err := Generate(io.Discard, GenerateOptions{Accounts: 1}); err == nil {
		t.Error("no as-of date: want an error")
	}
	if err := Generate(io.Discard, GenerateOptions{Accounts: -1, AsOf: testAsOf}); err == nil {
		t.Error("negative accounts: want an error")
	}
}

// TestSmallSample keeps testdata/portfolio/small.jsonl, the sample extract
// other packages test with, equal to what the generator writes; run with
// -update after changing the generator on purpose.
func TestSmallSample(t *testing.T) {
	path := filepath.Join("..", "testdata", "portfolio", "small.jsonl")
	got := generate(t, GenerateOptions{Accounts: 20, Seed: 1, AsOf: testAsOf})
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestSmallSample -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generator's output; run go test -run TestSmallSample -update if the change is wanted", path)
	}
}

// TestExtractsReconcile: the books of every generated account add up: each
// balance point of the history plus the transactions listed after it make
// the next one, when drafter reported nothing (its debits are then simply
// not made yet). And a later extract of the same anchor is the same
// servicing system's: the same contracts, the same history where the two
// overlap.
func TestExtractsReconcile(t *testing.T) {
	anchor := civil.MustParse("2026-11-24")
	from := anchor.AddDays(-4)
	first := map[string]Account{}
	for a := range Generated(GenerateOptions{Accounts: 2000, Seed: 5, AsOf: anchor, Anchor: anchor, DrafterFrom: from}) {
		first[a.ID] = a
	}
	points, later := 0, 0
	for a := range Generated(GenerateOptions{Accounts: 2000, Seed: 5, AsOf: anchor.AddDays(45), Anchor: anchor, DrafterFrom: from}) {
		h := a.Balance.History
		for i := 1; i < len(h); i++ {
			sum := h[i-1].Balance
			for _, tx := range a.Transactions {
				if tx.PostedOn.After(h[i-1].On) && !tx.PostedOn.After(h[i].On) {
					switch tx.Kind {
					case "payment":
						sum -= tx.Amount
					default:
						sum += tx.Amount
					}
				}
			}
			if sum != h[i].Balance {
				t.Fatalf("%s: %s on %s plus the transactions to %s is %s; the history says %s", a.ID, h[i-1].Balance, h[i-1].On, h[i].On, sum, h[i].Balance)
			}
			points++
		}
		f := first[a.ID]
		if f.Contract != a.Contract || f.Customer != a.Customer || len(f.BankAccounts) != len(a.BankAccounts) {
			t.Fatalf("%s: the contract changed between extracts:\n%+v\n%+v", a.ID, f.Contract, a.Contract)
		}
		for _, p := range f.Balance.History {
			for _, q := range h {
				if p.On == q.On {
					if p != q {
						t.Errorf("%s on %s: %+v in the first extract, %+v in the later one", a.ID, p.On, p, q)
					}
					later++
				}
			}
		}
	}
	if points < 2000 || later < 1000 {
		t.Errorf("checked %d steps of history and %d points in both extracts; want more", points, later)
	}
}

// TestDayNumber: the simulation's day numbers agree with civil dates,
// across leap days and centuries.
func TestDayNumber(t *testing.T) {
	epoch := civil.MustParse("1970-01-01")
	for d := civil.MustParse("1899-12-25"); d.Before(civil.MustParse("2101-01-10")); d = d.AddDays(1) {
		n := dayNumber(d)
		if n != d.DaysSince(epoch) || dateOf(n) != d {
			t.Fatalf("%s: day %d (want %d), back to %s", d, n, d.DaysSince(epoch), dateOf(n))
		}
	}
}

// TestPostingsMoveTheBalanceFromTheirDay: the servicing system's own
// postings (a lease extended by two months) count in the balance from
// their day, the listed one is among the transactions, and the history
// before it is what it was without them.
func TestPostingsMoveTheBalanceFromTheirDay(t *testing.T) {
	var lease Account
	for a := range Generated(GenerateOptions{Accounts: 200, Seed: 3, AsOf: testAsOf}) {
		if a.Kind == KindLease && a.Status == "active" && len(a.Balance.History) > 2 {
			lease = a
			break
		}
	}
	if lease.ID == "" {
		t.Fatal("no active lease with a history in the sample")
	}
	on := testAsOf.AddDays(-10)
	add := 2 * (lease.Contract.MonthlyPayment + lease.Contract.MonthlyTax)
	opt := GenerateOptions{Accounts: 200, Seed: 3, AsOf: testAsOf,
		Keep: func(a *Account) bool { return a.ID == lease.ID },
		Postings: func(a *Account, asOf civil.Date) []Posting {
			return []Posting{{On: a.Contract.OpenedOn, Kind: "adjustment", Amount: -add},
				{On: on, Kind: "adjustment", Amount: add, Description: "Lease extended 2 months", Listed: true}}
		},
		Amend: func(a *Account, asOf civil.Date) { a.Contract.TermMonths += 2 },
	}
	var got Account
	for a := range Generated(opt) {
		got = a
	}
	if len(got.Balance.History) != len(lease.Balance.History) {
		t.Fatalf("history of %d points, want %d", len(got.Balance.History), len(lease.Balance.History))
	}
	for i, p := range got.Balance.History {
		want := lease.Balance.History[i].Balance
		if !p.On.Before(on) {
			want += add
		}
		if p.On != lease.Balance.History[i].On || p.Balance != want {
			t.Errorf("history %s: %s, want %s", p.On, p.Balance, want)
		}
	}
	listed := 0
	for _, tx := range got.Transactions {
		if tx.Kind == "adjustment" {
			listed++
			if tx.PostedOn != on || tx.Amount != add {
				t.Errorf("adjustment %+v, want %s on %s", tx, add, on)
			}
		}
	}
	if listed != 1 {
		t.Errorf("%d adjustments listed, want 1 (the opening one is not)", listed)
	}
}

// TestAutopayStoppedKeepsDrafterHistory: an autopay the servicing system
// stopped leaves the installments drafted before the stop to drafter (the
// books are what they were with autopay active); without the stop's day
// the servicing system posts every installment as the customer's own.
func TestAutopayStoppedKeepsDrafterHistory(t *testing.T) {
	asOf := testAsOf
	base := GenerateOptions{Accounts: 300, Seed: 5, AsOf: asOf, DrafterFrom: asOf.AddDays(-40)}
	var id string
	active := map[string]Account{}
	for a := range Generated(base) {
		if a.Status == "active" && a.Autopay != nil && a.Autopay.Status == "active" && id == "" {
			id = a.ID
		}
		active[a.ID] = a
	}
	if id == "" {
		t.Fatal("no active autopay in the sample")
	}
	stopped := func(on civil.Date) Account {
		opt := base
		opt.Keep = func(a *Account) bool { return a.ID == id }
		opt.Amend = func(a *Account, asOf civil.Date) { a.Autopay.Status = "stopped" }
		opt.AutopayStopped = func(a *Account) civil.Date { return on }
		var got Account
		for a := range Generated(opt) {
			got = a
		}
		return got
	}
	want := active[id].Balance.History
	if got := stopped(asOf.AddDays(1)).Balance.History; !reflect.DeepEqual(got, want) {
		t.Errorf("stopped after the extract: history %v, want the active one %v", got, want)
	}
	if got := stopped(civil.Date{}).Balance.History; reflect.DeepEqual(got, want) {
		t.Errorf("stopped with no day: the history %v is the active one; want the customer's own payments in it", got)
	}
}
