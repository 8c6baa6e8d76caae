package ach

import (
	"bytes"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
)

func TestBuildDishonorFile(t *testing.T) {
	orig, entries := bankTestOrigination(t, 12)
	returned, err := BuildReturnFile(orig, []SimulatedReturn{
		{Trace: entries[0].Trace, Code: "R01"},
		{Trace: entries[1].Trace, Code: "R02"},
		{Trace: entries[4].Trace, Code: "R03"}, // savings
		{Trace: entries[7].Trace, Code: "R07"},
		{Trace: entries[10].Trace, Code: "R10"}, // WEB batch
	}, bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	rets, err := ParseInbound(bytes.NewReader(returned), "returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	returnOf := map[string]ReturnEntry{}
	for _, r := range rets.Returns {
		returnOf[r.OriginalTrace] = r
	}
	created := civil.MustParse("2026-12-03")
	tests := []struct {
		name      string
		dishonors []SimulatedDishonor
	}{
		{"one dishonored", []SimulatedDishonor{{Trace: entries[0].Trace, Code: "R68", AddendaInformation: "UNTIMELY"}}},
		{"one contested", []SimulatedDishonor{{Trace: entries[1].Trace, Code: "R73", DishonoredOn: civil.MustParse("2026-12-01")}}},
		{"every dishonored code", []SimulatedDishonor{
			{Trace: entries[0].Trace, Code: "R61"}, {Trace: entries[1].Trace, Code: "R62"},
			{Trace: entries[4].Trace, Code: "R67"}, {Trace: entries[7].Trace, Code: "R69"},
			{Trace: entries[10].Trace, Code: "R70"},
		}},
		{"dishonored and contested, both batches", []SimulatedDishonor{
			{Trace: entries[0].Trace, Code: "R71"}, {Trace: entries[1].Trace, Code: "R72"},
			{Trace: entries[4].Trace, Code: "R74"}, {Trace: entries[7].Trace, Code: "R75"},
			{Trace: entries[10].Trace, Code: "R77"},
		}},
		{"contested R76 beside dishonored R68", []SimulatedDishonor{
			{Trace: entries[4].Trace, Code: "R76"}, {Trace: entries[10].Trace, Code: "R68"},
		}},
		// One original batch and RDFI, both kinds: two batches (moov-io/ach
		// refuses a batch of both categories).
		{"dishonored and contested of one batch and RDFI", []SimulatedDishonor{
			{Trace: entries[0].Trace, Code: "R68"}, {Trace: entries[1].Trace, Code: "R73"},
			{Trace: entries[4].Trace, Code: "R69"}, {Trace: entries[7].Trace, Code: "R74"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := BuildDishonorFile(orig, returned, tt.dishonors, created)
			if err != nil {
				t.Fatal(err)
			}
			bankTestMoovValid(t, out)
			// moov-io/ach reads each entry in the layout its code calls for.
			mf, err := moov.NewReader(bytes.NewReader(out)).Read()
			if err != nil {
				t.Fatal(err)
			}
			moovKinds := 0
			for _, b := range mf.Batches {
				for _, e := range b.GetEntries() {
					if e.Addenda99Dishonored != nil || e.Addenda99Contested != nil {
						moovKinds++
					}
				}
			}
			if moovKinds != len(tt.dishonors) {
				t.Errorf("moov-io/ach reads %d dishonored or contested addenda, want %d", moovKinds, len(tt.dishonors))
			}
			in, err := ParseInbound(bytes.NewReader(out), "dishonored.ach")
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Returns) != len(tt.dishonors) || len(in.Corrections) != 0 {
				t.Fatalf("%d returns, %d corrections; want %d, 0", len(in.Returns), len(in.Corrections), len(tt.dishonors))
			}
			if in.Created != created || in.ImmediateDestination != "987654320" {
				t.Errorf("header: created %s, destination %s", in.Created, in.ImmediateDestination)
			}
			got := map[string]ReturnEntry{}
			for _, r := range in.Returns {
				got[r.OriginalTrace] = r
			}
			for _, want := range tt.dishonors {
				r, ok := got[want.Trace]
				if !ok {
					t.Errorf("%s: no entry names the original trace", want.Trace)
					continue
				}
				p, _ := ReturnPolicy(want.Code)
				ret := returnOf[want.Trace]
				d := r.Dishonor
				switch {
				case r.Code != want.Code || r.Kind != p.Kind:
					t.Errorf("%s: %s %s, want %s %s", want.Trace, r.Code, r.Kind, want.Code, p.Kind)
				case r.RepeatOf != 0:
					t.Errorf("%s: marked a repeat of line %d", want.Trace, r.RepeatOf)
				case d == nil:
					t.Errorf("%s: no dishonor detail", want.Trace)
				case d.ReturnTrace != ret.Trace || d.ReturnCode != ret.Code || d.ReturnSettlementDay != "329":
					t.Errorf("%s: detail %+v, want the return %s %s settled on day 329", want.Trace, d, ret.Trace, ret.Code)
				case r.OriginalRDFI != ret.OriginalRDFI || r.Amount != ret.Amount || r.AccountNumberSHA256 != ret.AccountNumberSHA256:
					t.Errorf("%s: entry %+v does not match the return %+v", want.Trace, r, ret)
				case r.AddendaInformation != want.AddendaInformation:
					t.Errorf("%s: addenda information %q", want.Trace, r.AddendaInformation)
				}
				if p.Kind != KindContested || d == nil {
					continue
				}
				wantDay := "336" // the day before 2026-12-03
				if !want.DishonoredOn.IsZero() {
					wantDay = "335"
				}
				if d.DishonoredReturnCode != dishonorContests[want.Code] || d.DishonoredReturnSettlementDay != wantDay ||
					!strings.HasPrefix(d.DishonoredReturnTrace, bankTestODFI[:8]) || d.OriginalSettlementDay != "329" ||
					d.DateOriginalEntryReturned != bankTestCreated {
					t.Errorf("%s: contested detail %+v", want.Trace, d)
				}
			}
		})
	}
}

func TestBuildDishonorFileRejects(t *testing.T) {
	orig, entries := bankTestOrigination(t, 4)
	returned, err := BuildReturnFile(orig, []SimulatedReturn{{Trace: entries[0].Trace, Code: "R01"}}, bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	tr := entries[0].Trace
	tests := []struct {
		name string
		d    []SimulatedDishonor
		want string
	}{
		{"a plain return code", []SimulatedDishonor{{Trace: tr, Code: "R01"}}, "not a dishonored or contested"},
		{"unknown code", []SimulatedDishonor{{Trace: tr, Code: "R63"}}, "not a return code"},
		{"an entry not returned", []SimulatedDishonor{{Trace: entries[1].Trace, Code: "R68"}}, "was not returned"},
		{"long information", []SimulatedDishonor{{Trace: tr, Code: "R68", AddendaInformation: strings.Repeat("X", 22)}}, "longer than 21"},
		{"contested with information", []SimulatedDishonor{{Trace: tr, Code: "R73", AddendaInformation: "X"}}, "no addenda information"},
		{"twice", []SimulatedDishonor{{Trace: tr, Code: "R68"}, {Trace: tr, Code: "R73"}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildDishonorFile(orig, returned, tt.d, bankTestCreated)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := BuildDishonorFile(orig, []byte("not a file"), nil, bankTestCreated); err == nil {
		t.Error("a return file that is not NACHA built a dishonor file")
	}
	if _, err := BuildDishonorFile(orig, returned, nil, civil.Date{}); err == nil {
		t.Error("no creation date built a dishonor file")
	}
}
