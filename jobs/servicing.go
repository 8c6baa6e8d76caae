package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/statements"
)

// ServicingSystem plays the servicing system of a generated portfolio for
// the demo and the tests: each night it closes its books with what drafter
// reported (its debits, their returns, its fees: DrafterPostings) and sends
// its extract. Production imports the real servicing system's extract
// instead.
type ServicingSystem struct {
	// Portfolio is the generated portfolio: Accounts, Seed, Anchor and
	// DrafterFrom; each night sets AsOf and Posted.
	Portfolio portfolio.GenerateOptions
}

// Extract writes the servicing system's extract at the end of d, with the
// accounts keep accepts on their contract (all when nil).
func (s ServicingSystem) Extract(ctx context.Context, st *ledger.Store, d civil.Date, w io.Writer, keep func(*portfolio.Account) bool) error {
	posted, err := st.DrafterPostings(ctx, d)
	if err != nil {
		return err
	}
	return s.write(d, posted, w, keep)
}

func (s ServicingSystem) write(d civil.Date, posted map[string][]portfolio.Transaction, w io.Writer, keep func(*portfolio.Account) bool) error {
	opt := s.Portfolio
	opt.AsOf = d
	opt.Posted = posted
	opt.Keep = keep
	return portfolio.Generate(w, opt)
}

// Import imports the extract of the end of d (the accounts keep accepts).
func (s ServicingSystem) Import(ctx context.Context, st *ledger.Store, d civil.Date, keep func(*portfolio.Account) bool) (ImportReport, error) {
	// What drafter reported is read before the import's transaction
	// begins: on SQLite the two cannot both hold the connection.
	posted, err := st.DrafterPostings(ctx, d)
	if err != nil {
		return ImportReport{}, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.write(d, posted, pw, keep)) }()
	rep, err := ImportFile(ctx, st, pr, fmt.Sprintf("servicing-%s.jsonl", d), ImportOptions{})
	pr.CloseWithError(errors.New("import stopped"))
	return rep, err
}

// NightReport is what one simulated night did.
type NightReport struct {
	Date       civil.Date
	Imported   int
	Statements *DocumentSummary
	Originate  *OriginateSummary
	Returns    *IngestSummary
	Bank       BankSummary
	// Seconds each step took: returns, import, originate, statements, bank.
	Seconds map[string]float64
}

// SimulateNight runs one business night of the demo and the tests in
// drafter's order: the returns job applies what the bank sent back; the
// servicing system, told of the night's returns and fees, closes its books
// and its extract is imported (the accounts keep accepts); originate makes
// and files the debits; statements are rendered against the extract; and
// the simulated bank answers the night's files (read by the next night's
// returns job).
func SimulateNight(ctx context.Context, env *Env, sys ServicingSystem, d civil.Date, bank BankOptions, keep func(*portfolio.Account) bool) (NightReport, error) {
	rep := NightReport{Date: d, Seconds: map[string]float64{}}
	spec := StartSpec{Date: d, Trigger: "simulation", TriggeredBy: "simulation"}
	t0 := time.Now()
	lap := func(step string) {
		rep.Seconds[step] = time.Since(t0).Seconds()
		t0 = time.Now()
	}
	start := func(j Job) (any, error) {
		defer lap(j.Name())
		res, err := env.Start(ctx, j, spec)
		if errors.Is(err, ledger.ErrRunCompleted) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", j.Name(), d, err)
		}
		return res.Summary, nil
	}
	s, err := start(Returns{})
	if err != nil {
		return rep, err
	}
	rep.Returns, _ = s.(*IngestSummary)
	imp, err := sys.Import(ctx, env.Store, d, keep)
	if err != nil {
		return rep, fmt.Errorf("import the extract of %s: %w", d, err)
	}
	lap("import")
	rep.Imported = imp.Imported
	if s, err = start(Originate{}); err != nil {
		return rep, err
	}
	rep.Originate, _ = s.(*OriginateSummary)
	if s, err = start(Statements{}); err != nil {
		return rep, err
	}
	rep.Statements, _ = s.(*DocumentSummary)
	rep.Bank, err = SimulateBank(ctx, env.Store, env.Docs, d, bank)
	lap("bank")
	return rep, err
}

// StatementsFor computes the statements of the accounts for the cycle
// ending on d from the ledger as the statements job does, without
// rendering or recording them. A statement that would be held has its
// *HeldStatement error in errs.
func StatementsFor(ctx context.Context, env *Env, accounts []string, d civil.Date) (map[string]statements.Statement, map[string]error, error) {
	out, errs := map[string]statements.Statement{}, map[string]error{}
	for start := 0; start < len(accounts); start += documentChunk {
		ids := accounts[start:min(start+documentChunk, len(accounts))]
		var accts []ledger.DocumentAccount
		for _, id := range ids {
			a, err := env.Store.DocumentAccount(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			accts = append(accts, a)
		}
		acts, err := activityFor(ctx, env.Store, accts, d)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range accts {
			s, err := computeStatement(a, acts[a.ID], d, ScheduleFromEnv(env))
			if err != nil {
				errs[a.ID] = err
				continue
			}
			out[a.ID] = s
		}
	}
	return out, errs, nil
}
