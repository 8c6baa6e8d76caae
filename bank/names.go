package bank

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// FileName is what a remote name is made from.
type FileName struct {
	ID           int64
	BusinessDate civil.Date
	EffectiveOn  civil.Date
	Modifier     string
}

// RemoteName makes a file's name on the bank's server from pattern:
// {date} is the business date as YYYYMMDD, {yymmdd} as YYMMDD,
// {effective} the effective entry date as YYYYMMDD, {modifier} the file ID
// modifier (A-Z, 0-9) and {id} drafter's file id.
func RemoteName(pattern string, f FileName) string {
	return strings.NewReplacer(
		"{date}", compact(f.BusinessDate),
		"{yymmdd}", compact(f.BusinessDate)[2:],
		"{effective}", compact(f.EffectiveOn),
		"{modifier}", f.Modifier,
		"{id}", strconv.FormatInt(f.ID, 10),
	).Replace(pattern)
}

// TempName is the name a file is uploaded under before it is renamed to
// its final name: hidden (a leading dot) and ending .part, which banks'
// pickup jobs ignore, so the bank never takes a half-written file.
func TempName(final string) string { return ".drafter-" + final + ".part" }

// IsTempName says whether a remote name is one of drafter's temporary names.
func IsTempName(name string) bool {
	return strings.HasPrefix(name, ".drafter-") && strings.HasSuffix(name, ".part")
}

func compact(d civil.Date) string { return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day) }

// CheckNamePattern says whether pattern makes a distinct, plain file name
// for every file: {id}, or {modifier} with the date.
func CheckNamePattern(pattern string) error {
	for _, tok := range strings.SplitAfter(pattern, "}") {
		if i := strings.Index(tok, "{"); i >= 0 {
			switch tok[i:] {
			case "{date}", "{yymmdd}", "{effective}", "{modifier}", "{id}":
			default:
				return fmt.Errorf("unknown field %s", tok[i:])
			}
		}
	}
	if strings.ContainsAny(pattern, "/\\") || strings.HasPrefix(pattern, ".") || strings.TrimSpace(pattern) != pattern {
		return fmt.Errorf("not a plain file name (no slash, no leading dot or space)")
	}
	has := func(s string) bool { return strings.Contains(pattern, s) }
	if !has("{id}") && !(has("{modifier}") && (has("{date}") || has("{yymmdd}"))) {
		return fmt.Errorf("two files would get the same name")
	}
	return nil
}

// Cutoff is one of the bank's daily cutoff times, in DRAFTER_ZONE.
type Cutoff struct {
	Hour, Minute int
}

func (c Cutoff) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// ParseCutoffs reads HH:MM[,HH:MM...]; "" is none. The result is sorted
// and has no repeats.
func ParseCutoffs(s string) ([]Cutoff, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Cutoff
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		t, err := time.Parse("15:04", part)
		if err != nil || len(part) != 5 {
			return nil, fmt.Errorf("%q is not HH:MM", part)
		}
		c := Cutoff{t.Hour(), t.Minute()}
		i := 0
		for i < len(out) && (out[i].Hour*60+out[i].Minute) < c.Hour*60+c.Minute {
			i++
		}
		if i < len(out) && out[i] == c {
			return nil, fmt.Errorf("%s given twice", part)
		}
		out = append(out[:i], append([]Cutoff{c}, out[i:]...)...)
	}
	return out, nil
}

// Deadline is the moment the files of business date d must be on the
// bank's server by: the day's last cutoff, in zone. ok is false without
// cutoffs.
func Deadline(d civil.Date, cutoffs []Cutoff, zone *time.Location) (t time.Time, ok bool) {
	if len(cutoffs) == 0 {
		return time.Time{}, false
	}
	last := cutoffs[len(cutoffs)-1]
	return time.Date(d.Year, d.Month, d.Day, last.Hour, last.Minute, 0, 0, zone), true
}

// NextCutoff is the first cutoff of business date d at or after now (the
// window a file sent now makes), and false when the day's last has passed.
func NextCutoff(d civil.Date, cutoffs []Cutoff, zone *time.Location, now time.Time) (time.Time, bool) {
	for _, c := range cutoffs {
		t := time.Date(d.Year, d.Month, d.Day, c.Hour, c.Minute, 0, 0, zone)
		if !now.After(t) {
			return t, true
		}
	}
	return time.Time{}, false
}
