package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ach"
	bankpkg "github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// answer is what the bank sends back about one entry, and when.
type answer struct {
	file    int64  // the origination file
	trace   string // the entry's trace number
	payment int64
	code    string // R01 or a change code C01, C02, C05
	noc     ach.SimulatedCorrection
	on      civil.Date // the banking day the bank sends it
	// dishonor, when set, is a dishonored or contested return about the
	// return the bank sent on returnedOn in the return file returned.
	dishonor   *ach.SimulatedDishonor
	returned   []byte
	returnedOn civil.Date
}

// dishonorPercent is the share of returns the bank later sends a
// dishonored or contested return about, 2-5 banking days after the
// return.
const dishonorPercent = 10

// dishonorCodes are the dishonored and contested returns the bank sends,
// drawn evenly.
var dishonorCodes = []string{"R61", "R62", "R67", "R68", "R69", "R70", "R71", "R72", "R73", "R74", "R75", "R76", "R77"}

// sentDishonor is a dishonored or contested return the bank sent, and what
// drafter must make of it: one exception for a person, nothing else.
type sentDishonor struct {
	payment   int64
	code      string
	kind      string // the exception's kind: return_dishonored, return_contested
	reference string // the exception's reference: code:original trace:its own trace:the file's creation date
	trace     string // the original entry's trace
	before    string // the payment, its return, fees and emails when the bank sent it
	on        civil.Date
}

// bank is the simulated ODFI: it takes the files transmit handed over to
// its SFTP server (internal/sftpd) by the cutoff, settles most entries, and
// answers some with returns (within two banking days; unauthorized ones
// up to 60 days later) and NOCs, as files under the inbound prefix on the
// day it sends them. It keeps its own count of
// what it received and returned, to hold drafter's return rates to.
type bank struct {
	cal         *jobs.CachedCalendar
	outbox      string                        // the SFTP server's folder drafter uploads to
	takenDir    string                        // where the bank moves each file it takes
	taken       map[int64]string              // file -> the bank's copy
	received    map[int64]string              // payment -> the file whose entry reached the bank
	pending     map[civil.Date][]answer       // by the day they are sent
	debits      map[civil.Date]int            // debits received, by the file's business date
	returned    map[civil.Date]map[string]int // returns sent, by the day they are sent and code
	answered    map[int64]string              // payment -> return code sent
	nocs        map[int64]string              // payment -> change code sent
	sentReturns map[int64]string              // payment -> return code, once sent
	sentNOCs    map[int64]string              // payment -> change code, once sent
	// newReturns and newNOCs are those sent since the last check.
	newReturns, newNOCs map[int64]string
	files               int
	// dishonors draws which returns are dishonored or contested later:
	// its own source, so that the rest of a seed's history is as it was
	// before the bank sent them.
	dishonors *rand.Rand
	// dishonored are the dishonored and contested returns sent, in order;
	// uncheckedDishonors how many at the end of it the check has not
	// held to the ledger yet.
	dishonored         []sentDishonor
	uncheckedDishonors int
}

func newBank(cal *jobs.CachedCalendar, outbox, takenDir string, seed int64) *bank {
	return &bank{cal: cal, outbox: outbox, takenDir: takenDir, dishonors: rand.New(rand.NewPCG(uint64(seed), 0xd15)),
		taken: map[int64]string{}, received: map[int64]string{}, pending: map[civil.Date][]answer{}, debits: map[civil.Date]int{},
		returned: map[civil.Date]map[string]int{}, answered: map[int64]string{}, nocs: map[int64]string{},
		sentReturns: map[int64]string{}, sentNOCs: map[int64]string{}, newReturns: map[int64]string{}, newNOCs: map[int64]string{}}
}

// late is a file the bank received that it should never have: handed
// over after its cutoff, voided, or back-dated; or an entry for a payment
// the bank was already sent.
type late struct{ invariant, detail string }

// take is the bank's pickup at the cutoff of business date d (atCutoff)
// or after it (the end of the night): it takes the files drafter renamed
// into the outbox (a temporary .part name is not a file yet), moves each
// to its own folder, and decides the fate of each entry from the file's
// bytes: the effective entry date of its batches, its traces. A file
// there after the cutoff, or for another business date, reached the bank
// late; so does a voided file; a debit effective on or before the day it
// arrives would settle back-dated; and a payment the bank already had an
// entry for would be debited twice: each is returned, not taken.
func (b *bank) take(ctx context.Context, st *ledger.Store, r *rand.Rand, d civil.Date, atCutoff bool) (*late, error) {
	dir, err := os.ReadDir(b.outbox)
	if err != nil {
		return nil, fmt.Errorf("bank: list the outbox: %w", err)
	}
	var names []string
	for _, e := range dir {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && !bankpkg.IsTempName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(b.outbox, name))
		if err != nil {
			return nil, fmt.Errorf("bank: read %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		var key, voided string
		var released bool
		if err := st.DB().QueryRowContext(ctx, `SELECT storage_key, released_at IS NOT NULL, COALESCE(released_reason, '') FROM ach_files WHERE sha256 = $1`,
			hex.EncodeToString(sum[:])).Scan(&key, &released, &voided); err != nil {
			return &late{"bank-takes-drafter-files", fmt.Sprintf("%s in the bank's outbox is no file of drafter's ledger (%v)", name, err)}, nil
		}
		f, err := st.FileByKey(ctx, key)
		if err != nil {
			return nil, err
		}
		switch {
		case !atCutoff || f.BusinessDate != d:
			return &late{"sent-by-cutoff", fmt.Sprintf("%s (%s, business date %s) reached the bank on %s after the cutoff of its business date", name, key, f.BusinessDate, d)}, nil
		case released:
			return &late{"voided-never-sent", fmt.Sprintf("%s (%s) reached the bank, but it was voided (%s)", name, key, voided)}, nil
		}
		eff, err := effectiveDate(data)
		if err != nil {
			return nil, fmt.Errorf("bank: %s: %w", name, err)
		}
		if !eff.After(d) {
			return &late{"not-back-dated", fmt.Sprintf("%s (%s) reached the bank on %s with effective entry date %s: it would settle back-dated", name, key, d, eff)}, nil
		}
		taken := filepath.Join(b.takenDir, name)
		if err := os.Rename(filepath.Join(b.outbox, name), taken); err != nil {
			return nil, fmt.Errorf("bank: take %s: %w", name, err)
		}
		b.taken[f.ID] = taken
		entries, err := st.FileEntries(ctx, f.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if prev, ok := b.received[e.PaymentID]; ok {
				return &late{"debited-once", fmt.Sprintf("payment %d (%s) reached the bank twice: in %s and in %s", e.PaymentID, e.AccountID, prev, key)}, nil
			}
			b.received[e.PaymentID] = key
			if e.Kind == "debit" {
				b.debits[f.BusinessDate]++
			}
			x := r.IntN(1000)
			switch {
			case e.Kind == "debit" && x < 40:
				a := answer{file: f.ID, trace: e.TraceNumber, payment: e.PaymentID, on: b.cal.AddBankingDays(eff, 1+r.IntN(2))}
				switch y := r.IntN(100); {
				case y < 55:
					a.code = "R01"
				case y < 65:
					a.code = "R09"
				case y < 77:
					a.code = "R02"
				case y < 87:
					a.code = "R03"
				case y < 92:
					a.code = "R10"
					a.on = b.cal.PreviousOrSameBankingDay(eff.AddDays(5 + r.IntN(55)))
				case y < 96:
					a.code = "R05"
					a.on = b.cal.PreviousOrSameBankingDay(eff.AddDays(5 + r.IntN(55)))
				default:
					a.code = "R07"
					a.on = b.cal.PreviousOrSameBankingDay(eff.AddDays(3 + r.IntN(20)))
				}
				b.pending[a.on] = append(b.pending[a.on], a)
				b.answered[e.PaymentID] = a.code
			case x < 48:
				c := ach.SimulatedCorrection{Trace: e.TraceNumber}
				switch y := r.IntN(100); {
				case y < 50:
					c.ChangeCode, c.AccountNumber = "C01", nextNumber(e.AccountNumber)
				case y < 80 && e.Kind == "debit":
					c.ChangeCode, c.TransactionCode = "C05", 37
					if e.TransactionCode/10 == 3 {
						c.TransactionCode = 27
					}
				default:
					c.ChangeCode, c.RoutingNumber = "C02", "011000015"
					if e.RDFIRouting == c.RoutingNumber {
						c.RoutingNumber = "021000021"
					}
				}
				a := answer{file: f.ID, trace: e.TraceNumber, payment: e.PaymentID, code: c.ChangeCode, noc: c,
					on: b.cal.AddBankingDays(eff, 1+r.IntN(2))}
				b.pending[a.on] = append(b.pending[a.on], a)
				b.nocs[e.PaymentID] = c.ChangeCode
			}
		}
	}
	return nil, nil
}

// effectiveDate is the one effective entry date of a NACHA file's
// batches (batch header, positions 70-75, YYMMDD).
func effectiveDate(data []byte) (civil.Date, error) {
	var eff civil.Date
	for _, rec := range strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n") {
		if len(rec) != 94 || rec[0] != '5' {
			continue
		}
		y, err1 := strconv.Atoi(rec[69:71])
		m, err2 := strconv.Atoi(rec[71:73])
		dd, err3 := strconv.Atoi(rec[73:75])
		if err := errors.Join(err1, err2, err3); err != nil {
			return eff, fmt.Errorf("batch header effective entry date %q: %w", rec[69:75], err)
		}
		e := civil.New(2000+y, time.Month(m), dd)
		if !eff.IsZero() && e != eff {
			return eff, fmt.Errorf("batches with effective entry dates %s and %s", eff, e)
		}
		eff = e
	}
	if eff.IsZero() {
		return eff, errors.New("no batch header")
	}
	return eff, nil
}

// nextNumber is a corrected account number: the last digit changed.
func nextNumber(n string) string {
	if n == "" {
		return "1"
	}
	last := n[len(n)-1]
	if last < '0' || last > '9' {
		return n[:len(n)-1] + "0"
	}
	return n[:len(n)-1] + string('0'+(last-'0'+1)%10)
}

// send stores the files the bank sends on d: one return file and one NOC
// file per origination file it answers, and one file of dishonored and
// contested returns per return file they are about. With twice, each is
// sent again under another name (the same bytes); late answers were moved
// to the next banking day by the caller.
func (b *bank) send(ctx context.Context, st *ledger.Store, docs storage.Store, d civil.Date, twice bool) (int, error) {
	due := b.pending[d]
	delete(b.pending, d)
	byFile := map[int64][]answer{}
	var ids []int64
	for _, a := range due {
		if a.dishonor != nil {
			// A dishonored return answers a return drafter applied: until
			// the ledger holds it (the returns job was down), it waits a
			// banking day, so that the payment as it was before the
			// dishonored return arrived is the payment returned.
			var n int
			if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM returns WHERE payment_id = $1`, a.payment).Scan(&n); err != nil {
				return 0, fmt.Errorf("bank: the return of payment %d: %w", a.payment, err)
			}
			if n == 0 {
				next := b.cal.NextBankingDay(d)
				b.pending[next] = append(b.pending[next], a)
				continue
			}
		}
		if _, ok := byFile[a.file]; !ok {
			ids = append(ids, a.file)
		}
		byFile[a.file] = append(byFile[a.file], a)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	sent := 0
	for _, id := range ids {
		f, err := fileByID(ctx, st, id)
		if err != nil {
			return sent, err
		}
		// The file as the bank received it.
		original, err := os.ReadFile(b.taken[id])
		if err != nil {
			return sent, fmt.Errorf("bank: read %s: %w", f.StorageKey, err)
		}
		var rets []ach.SimulatedReturn
		var nocs []ach.SimulatedCorrection
		var retAnswers []answer
		dis := map[civil.Date][]answer{} // by the day of the return file they are about
		var disDays []civil.Date
		for _, a := range byFile[id] {
			if a.dishonor != nil {
				if _, ok := dis[a.returnedOn]; !ok {
					disDays = append(disDays, a.returnedOn)
				}
				dis[a.returnedOn] = append(dis[a.returnedOn], a)
				continue
			}
			if a.code[0] == 'R' {
				retAnswers = append(retAnswers, a)
				rets = append(rets, ach.SimulatedReturn{Trace: a.trace, Code: a.code})
				if b.returned[d] == nil {
					b.returned[d] = map[string]int{}
				}
				b.returned[d][a.code]++
				b.sentReturns[a.payment] = a.code
				b.newReturns[a.payment] = a.code
			} else {
				nocs = append(nocs, a.noc)
				b.sentNOCs[a.payment] = a.code
				b.newNOCs[a.payment] = a.code
			}
		}
		put := func(kind string, body []byte) error {
			for i := range 1 + boolInt(twice) {
				key := fmt.Sprintf("%ssim-%s-%s-%s-%s-%d.ach", jobs.InboundPrefix, kind, f.BusinessDate, f.IDModifier, d, i)
				if _, err := docs.Put(ctx, key, body, storage.PutOptions{ContentType: "text/plain"}); err != nil {
					return fmt.Errorf("bank: store %s: %w", key, err)
				}
				b.files++
				sent++
			}
			return nil
		}
		if len(rets) > 0 {
			body, err := ach.BuildReturnFile(original, rets, d)
			if err != nil {
				return sent, fmt.Errorf("bank: returns for %s: %w", f.StorageKey, err)
			}
			if err := put("returns", body); err != nil {
				return sent, err
			}
			// Now and then the bank answers a return again, later: it
			// dishonors it (the ODFI refuses it), or contests its own
			// dishonor (the RDFI's answer). Drawn from the bank's own
			// source, one draw a return, in the order they were sent.
			for _, a := range retAnswers {
				if b.dishonors.IntN(100) >= dishonorPercent {
					continue
				}
				code := dishonorCodes[b.dishonors.IntN(len(dishonorCodes))]
				x := answer{file: id, trace: a.trace, payment: a.payment, code: code, returned: body, returnedOn: d,
					dishonor: &ach.SimulatedDishonor{Trace: a.trace, Code: code}, on: b.cal.AddBankingDays(d, 2+b.dishonors.IntN(4))}
				b.pending[x.on] = append(b.pending[x.on], x)
			}
		}
		for _, on := range disDays {
			if err := b.sendDishonors(ctx, st, original, dis[on], d, func(body []byte) error {
				return put(fmt.Sprintf("dishonored-%s", on), body)
			}); err != nil {
				return sent, fmt.Errorf("bank: dishonored returns for %s: %w", f.StorageKey, err)
			}
		}
		if len(nocs) > 0 {
			body, err := ach.BuildNOCFile(original, nocs, d)
			if err != nil {
				return sent, fmt.Errorf("bank: NOCs for %s: %w", f.StorageKey, err)
			}
			if err := put("noc", body); err != nil {
				return sent, err
			}
		}
	}
	return sent, nil
}

// sendDishonors builds and puts the file of dishonored and contested
// returns about the returns of one return file, and keeps what drafter
// must make of each: its exception's kind and reference, and the payment
// as the ledger has it before the file arrives.
func (b *bank) sendDishonors(ctx context.Context, st *ledger.Store, original []byte, due []answer, d civil.Date, put func([]byte) error) error {
	var ds []ach.SimulatedDishonor
	for _, a := range due {
		ds = append(ds, *a.dishonor)
	}
	body, err := ach.BuildDishonorFile(original, due[0].returned, ds, d)
	if err != nil {
		return err
	}
	// The entries' own traces, as drafter reads them, name the exceptions.
	in, err := ach.ParseInbound(bytes.NewReader(body), "dishonored")
	if err != nil {
		return err
	}
	own := map[string]string{}
	for _, r := range in.Returns {
		own[r.OriginalTrace] = r.Trace
	}
	var sent []sentDishonor
	for _, a := range due {
		p, _ := ach.ReturnPolicy(a.code)
		before, err := dishonorFacts(ctx, st, a.payment)
		if err != nil {
			return err
		}
		sent = append(sent, sentDishonor{payment: a.payment, code: a.code, kind: "return_" + string(p.Kind),
			reference: a.code + ":" + a.trace + ":" + own[a.trace] + ":" + in.Created.String(), trace: a.trace, before: before, on: d})
	}
	if err := put(body); err != nil {
		return err
	}
	b.dishonored = append(b.dishonored, sent...)
	b.uncheckedDishonors += len(sent)
	return nil
}

// delay moves what the bank would send on d to the next banking day: a
// late file.
func (b *bank) delay(d civil.Date) {
	next := b.cal.NextBankingDay(d)
	b.pending[next] = append(b.pending[next], b.pending[d]...)
	delete(b.pending, d)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fileByID(ctx context.Context, st *ledger.Store, id int64) (ledger.ACHFile, error) {
	var key string
	if err := st.DB().QueryRowContext(ctx, `SELECT storage_key FROM ach_files WHERE id = $1`, id).Scan(&key); err != nil {
		return ledger.ACHFile{}, fmt.Errorf("bank: file %d: %w", id, err)
	}
	return st.FileByKey(ctx, key)
}

// counts is the bank's own count for a window of business dates: debits
// received in files of those dates, and returns sent on those days.
func (b *bank) counts(from, through civil.Date) (debits int, byCode map[string]int) {
	byCode = map[string]int{}
	for d := from; !d.After(through); d = d.AddDays(1) {
		debits += b.debits[d]
		for c, n := range b.returned[d] {
			byCode[c] += n
		}
	}
	return debits, byCode
}
