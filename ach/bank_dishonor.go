package ach

import (
	"bytes"
	"fmt"
	"time"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
)

// SimulatedDishonor names one entry the simulated bank returned earlier,
// by the original entry's trace number, and the dishonored (R61, R62,
// R67-R70) or contested (R71-R77) return it sends about that return.
type SimulatedDishonor struct {
	Trace string // trace number of the original entry
	Code  string // R61, R62, R67-R70: dishonored; R71-R77: contested
	// AddendaInformation is a dishonored return's note, up to 21
	// characters; a contested return has none.
	AddendaInformation string
	// DishonoredOn is, for a contested return, the day the dishonored
	// return it answers settled; zero means the day before the file is
	// created.
	DishonoredOn civil.Date
}

// dishonorContests is the dishonored return each contested return answers
// (NACHA Appendix Four): R73 says the original return was timely after
// all, so it answers R68, and so on.
var dishonorContests = map[string]string{
	"R71": "R61", "R72": "R68", "R73": "R68", "R74": "R69",
	"R75": "R67", "R76": "R69", "R77": "R62",
}

// BuildDishonorFile returns a NACHA file of dishonored and contested
// returns about entries of original that were returned in returned (a
// return file BuildReturnFile made for original): one Addenda 99 each, in
// the dishonored or contested layout, naming the original trace and RDFI,
// the return's trace, settlement day and code, and for a contested return
// the dishonored return it answers. Entries are batched like
// BuildReturnFile's.
func BuildDishonorFile(original, returned []byte, dishonors []SimulatedDishonor, created civil.Date) ([]byte, error) {
	if created.IsZero() {
		return nil, fmt.Errorf("build dishonor file: no creation date")
	}
	src, err := bankReadOriginal(original)
	if err != nil {
		return nil, fmt.Errorf("build dishonor file: %w", err)
	}
	rets, err := ParseInbound(bytes.NewReader(returned), "return file")
	if err != nil {
		return nil, fmt.Errorf("build dishonor file: %w", err)
	}
	byTrace := make(map[string]ReturnEntry, len(rets.Returns))
	for _, r := range rets.Returns {
		if r.Kind == KindReturn {
			byTrace[r.OriginalTrace] = r
		}
	}
	chosen := make(map[string]SimulatedDishonor, len(dishonors))
	traces := make(map[string]bool, len(dishonors))
	for _, d := range dishonors {
		p, ok := ReturnPolicy(d.Code)
		_, returnedHere := byTrace[d.Trace]
		switch {
		case !ok:
			return nil, fmt.Errorf("build dishonor file: trace %s: %q is not a return code", d.Trace, d.Code)
		case p.Kind != KindDishonored && p.Kind != KindContested:
			return nil, fmt.Errorf("build dishonor file: trace %s: %s is not a dishonored or contested return", d.Trace, d.Code)
		case !returnedHere:
			return nil, fmt.Errorf("build dishonor file: trace %s was not returned in the return file", d.Trace)
		case len(d.AddendaInformation) > 21:
			return nil, fmt.Errorf("build dishonor file: trace %s: addenda information is longer than 21 characters", d.Trace)
		case p.Kind == KindContested && d.AddendaInformation != "":
			return nil, fmt.Errorf("build dishonor file: trace %s: a contested return carries no addenda information", d.Trace)
		}
		if _, dup := chosen[d.Trace]; dup {
			return nil, fmt.Errorf("build dishonor file: trace %s is dishonored twice", d.Trace)
		}
		chosen[d.Trace] = d
		traces[d.Trace] = true
	}
	// The dishonored returns' own traces, for the contested ones: the
	// ODFI sent them, so its routing heads them.
	dishonorSeq := 0
	// A batch holds dishonored or contested returns, never both (moov-io/ach
	// refuses a batch of two categories): each kind is batched apart.
	kindOf := func(trace string) string {
		p, _ := ReturnPolicy(chosen[trace].Code)
		return string(p.Kind)
	}
	return bankBuild(src, created, "", traces, kindOf, func(ed, orig *moov.EntryDetail, trace string) error {
		d, ret := chosen[orig.TraceNumber], byTrace[orig.TraceNumber]
		retCode := ret.Code[1:] // the layout holds the return code's two digits
		retDay := dishonorJulian(ret.EffectiveDate)
		if ret.EffectiveDate.IsZero() {
			retDay = dishonorJulian(rets.Created)
		}
		if p, _ := ReturnPolicy(d.Code); p.Kind == KindDishonored {
			a := moov.NewAddenda99Dishonored()
			a.DishonoredReturnReasonCode = d.Code
			a.OriginalEntryTraceNumber = orig.TraceNumber
			a.OriginalReceivingDFIIdentification = orig.RDFIIdentification
			a.ReturnTraceNumber = ret.Trace
			a.ReturnSettlementDate = retDay
			a.ReturnReasonCode = retCode
			a.AddendaInformation = d.AddendaInformation
			a.TraceNumber = trace
			ed.Addenda99Dishonored = a
			ed.Category = moov.CategoryDishonoredReturn
			return nil
		}
		on := d.DishonoredOn
		if on.IsZero() {
			on = created.AddDays(-1)
		}
		dishonorSeq++
		a := moov.NewAddenda99Contested()
		a.ContestedReturnCode = d.Code
		a.OriginalEntryTraceNumber = orig.TraceNumber
		a.DateOriginalEntryReturned = rets.Created.Compact()
		a.OriginalReceivingDFIIdentification = orig.RDFIIdentification
		a.OriginalSettlementDate = dishonorJulian(bankEffectiveDate(src, orig.TraceNumber))
		a.ReturnTraceNumber = ret.Trace
		a.ReturnSettlementDate = retDay
		a.ReturnReasonCode = retCode
		a.DishonoredReturnTraceNumber = ed.RDFIIdentification + fmt.Sprintf("%07d", dishonorSeq)
		a.DishonoredReturnSettlementDate = dishonorJulian(on)
		a.DishonoredReturnReasonCode = dishonorContests[d.Code][1:]
		a.TraceNumber = trace
		ed.Addenda99Contested = a
		ed.Category = moov.CategoryDishonoredReturnContested
		return nil
	})
}

// dishonorJulian is a settlement day as NACHA writes it: the day of the
// year, three digits.
func dishonorJulian(d civil.Date) string {
	if d.IsZero() {
		return "   "
	}
	return fmt.Sprintf("%03d", d.In(time.UTC).YearDay())
}

// bankEffectiveDate is the effective entry date of the batch that holds
// trace; zero when its header's date is not a date.
func bankEffectiveDate(f moov.File, trace string) civil.Date {
	for _, b := range f.Batches {
		for _, e := range b.GetEntries() {
			if e.TraceNumber == trace {
				d, _ := inboundYYMMDD(b.GetHeader().EffectiveEntryDate, civil.Date{})
				return d
			}
		}
	}
	return civil.Date{}
}
