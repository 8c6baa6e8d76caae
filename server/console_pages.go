package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/mask"
	"github.com/drafterhq/drafter/money"
)

// today is the business date now in the configured zone.
func (c *console) today() civil.Date { return civil.Of(time.Now().In(c.a.Env.Config.Zone)) }

// through reads ?through=YYYY-MM-DD, the last date a page shows (default
// today).
func (q *request) through() (civil.Date, error) {
	s := q.r.URL.Query().Get("through")
	if s == "" {
		return q.c.today(), nil
	}
	d, err := civil.Parse(s)
	if err != nil {
		return d, refuse(http.StatusBadRequest, "through: want a date as YYYY-MM-DD: %v", err)
	}
	return d, nil
}

func (q *request) int64Param(name string) int64 {
	n, _ := strconv.ParseInt(q.r.URL.Query().Get(name), 10, 64)
	return max(n, 0)
}

// Tonight.

type cell struct {
	Status string // a run status, "missing", or "" (nothing due)
	Run    *ledger.Run
	// Progress of a running run: "1,200 of 5,000, about 3m left".
	Progress string
}

type gridRow struct {
	Date  civil.Date
	Cells []cell
}

type nextFire struct {
	Job, Spec, At string
	Paused        *ledger.SchedulePause
}

type tonightData struct {
	Jobs             []string
	Rows             []gridRow
	Next             []nextFire
	Through, Earlier string
	Later            string
	Attention        []ledger.Run
}

// businessDates returns the n banking days up to through, newest first.
func (c *console) businessDates(through civil.Date, n int) []civil.Date {
	var out []civil.Date
	for d := through; len(out) < n; d = d.AddDays(-1) {
		if c.a.Env.Calendar.IsBankingDay(d) {
			out = append(out, d)
		}
	}
	return out
}

func (c *console) tonight(q *request) error {
	ctx := q.r.Context()
	through, err := q.through()
	if err != nil {
		return err
	}
	dates := c.businessDates(through, 14)
	latest, err := c.a.Env.Store.LatestRuns(ctx, dates[len(dates)-1], dates[0])
	if err != nil {
		return err
	}
	first, err := c.a.Env.Store.FirstRunDates(ctx)
	if err != nil {
		return err
	}
	data := tonightData{Jobs: c.a.Jobs.Names(), Through: through.String(), Earlier: dates[len(dates)-1].AddDays(-1).String()}
	if today := c.today(); through.Before(today) {
		later := through.AddDays(14)
		if later.After(today) {
			later = today
		}
		data.Later = later.String()
	}
	now := time.Now()
	for _, d := range dates {
		row := gridRow{Date: d}
		for _, job := range data.Jobs {
			var cl cell
			if r, ok := latest[job][d]; ok {
				cl.Status, cl.Run = r.Status, &r
				if r.Status == ledger.RunRunning {
					cl.Progress = progress(r, now)
				}
			} else if f, ran := first[job]; ran && !d.Before(f) && c.a.Schedule != nil {
				// Missing: the schedule fires the job for d, its time has
				// passed, and the job already ran for an earlier date.
				if at, ok := c.a.Schedule.FiresOn(job, d); ok && at.Before(now) {
					cl.Status = "missing"
				}
			}
			row.Cells = append(row.Cells, cl)
		}
		data.Rows = append(data.Rows, row)
	}
	if s := c.a.Schedule; s != nil {
		pauses, err := c.a.Env.Store.SchedulePauses(ctx)
		if err != nil {
			return err
		}
		for _, e := range s.Entries {
			if at, ok := s.NextFireOf(e.Job, now); ok {
				nf := nextFire{Job: e.Job, Spec: e.Spec, At: at.In(c.a.Env.Config.Zone).Format("Mon 2006-01-02 15:04 MST")}
				if p, paused := pauses[e.Job]; paused {
					nf.Paused = &p
				}
				data.Next = append(data.Next, nf)
			}
		}
	}
	if data.Attention, err = c.a.Env.Store.ListRuns(ctx, ledger.RunFilter{NeedsAttention: true, StaleAfter: c.a.Env.Config.StaleAfter, Limit: 20}); err != nil {
		return err
	}
	refresh := false
	for _, row := range data.Rows {
		for _, cl := range row.Cells {
			refresh = refresh || cl.Status == ledger.RunRunning
		}
	}
	c.render(q, http.StatusOK, "tonight", page{Title: "Tonight", Nav: "tonight", Refresh: refresh, Data: data})
	return nil
}

// progress says how far a running run is and, from its pace so far, how
// long it has left.
func progress(r ledger.Run, now time.Time) string {
	s := fmt.Sprintf("%d of %d done", r.Done+r.Skipped+r.Failed, r.Selected)
	done := r.Done + r.Skipped + r.Failed
	if done > 0 && r.Selected > done {
		left := time.Duration(float64(now.Sub(r.StartedAt)) / float64(done) * float64(r.Selected-done))
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	return s
}

// FiresOn returns when the schedule fires job for business date d, and
// false when it does not (not scheduled, intraday, or not a banking day).
func (s *Scheduler) FiresOn(job string, d civil.Date) (time.Time, bool) {
	for i := range s.Entries {
		if e := &s.Entries[i]; e.Job == job && !e.Intraday {
			return s.fireOn(e, d)
		}
	}
	return time.Time{}, false
}

// NextFireOf returns the schedule's next fire of job after now, by the
// scheduler's own calendar (NextFire).
func (s *Scheduler) NextFireOf(job string, now time.Time) (time.Time, bool) {
	for i := range s.Entries {
		if e := &s.Entries[i]; e.Job == job {
			f := s.NextFire(e, now)
			return f, !f.IsZero()
		}
	}
	return time.Time{}, false
}

// Run.

type kv struct{ Key, Value string }

type runData struct {
	Run    ledger.Run
	Events []ledger.RunEvent
	Groups []ledger.ItemGroup
	// GroupedItems is how many failed items (the first, in item order)
	// Groups counts; MoreItems says the run has more.
	GroupedItems int
	MoreItems    bool
	Summary      []kv
	Chunks       ledger.ChunkProgress
	Files        []ledger.ACHFile
	Audit        []ledger.AuditEntry
	Progress     string
	CanResume    bool
	CanRerun     bool
	CanCancel    bool
	RerunOf      int64
	Stale        bool
	Account      bool
	StaleAfter   string
}

// runItemsGrouped bounds the failed items a run's page reads and groups.
const runItemsGrouped = 10000

func (c *console) runPage(q *request) error {
	ctx := q.r.Context()
	id, err := q.id("id")
	if err != nil {
		return err
	}
	st := c.a.Env.Store
	r, err := st.GetRun(ctx, id)
	if err != nil {
		return err
	}
	d := runData{Run: r, StaleAfter: c.a.Env.Config.StaleAfter.String()}
	if d.Events, err = st.RunEvents(ctx, id); err != nil {
		return err
	}
	// Grouped from the first runItemsGrouped items: 10,000 group in about
	// 50 ms, 100,000 took half a second.
	items, more, err := st.RunItemsFirst(ctx, id, runItemsGrouped)
	if err != nil {
		return err
	}
	d.Groups = ledger.GroupFailedItems(items)
	d.GroupedItems, d.MoreItems = len(items), more
	d.Summary = flatten(r.Summary)
	if d.Chunks, err = st.RunChunkProgress(ctx, id); err != nil {
		return err
	}
	if r.Job == "originate" || r.Job == "transmit" {
		if d.Files, err = st.DayFiles(ctx, r.BusinessDate); err != nil {
			return err
		}
	}
	if d.Audit, err = st.RunAudit(ctx, id, 20); err != nil {
		return err
	}
	var params struct {
		RerunOf int64 `json:"rerun_of"`
	}
	_ = json.Unmarshal(r.Params, &params)
	d.RerunOf = params.RerunOf
	now := time.Now()
	d.Stale = r.Status == ledger.RunRunning && now.Sub(r.HeartbeatAt) > c.a.Env.Config.StaleAfter
	if r.Status == ledger.RunRunning {
		d.Progress = progress(r, now)
	}
	d.CanResume = !r.DryRun && (r.Status == ledger.RunFailed || r.Status == ledger.RunPartial || r.Status == ledger.RunCancelled || d.Stale)
	d.CanRerun = !r.DryRun && r.Completed()
	d.CanCancel = !r.DryRun && r.Status == ledger.RunRunning
	d.Account = accountScoped[r.Job]
	c.render(q, http.StatusOK, "run", page{Title: fmt.Sprintf("Run %d: %s %s", r.ID, r.Job, r.BusinessDate), Nav: "tonight",
		Refresh: r.Status == ledger.RunRunning, Data: d})
	return nil
}

// flatten turns a run's JSON summary into sorted key/value lines.
func flatten(raw json.RawMessage) []kv {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for k, v := range m {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			continue
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, kv{strings.ReplaceAll(k, "_", " "), s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (c *console) resume(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	run, err := c.a.Resume(q.r.Context(), q.who(), id)
	if err != nil {
		return err
	}
	return q.done(fmt.Sprintf("/runs/%d", run.ID), fmt.Sprintf("Run %d resumed by %s.", run.ID, q.who()))
}

// dryRun simulates one job for one business date, as `drafter run JOB
// --date D --dry-run` does (Env.DryRun: one rolled-back transaction;
// nothing stored, sent or mailed), and shows its run: the summary says what
// it would do.
func (c *console) dryRun(q *request) error {
	name := q.r.PostFormValue("job")
	job, ok := c.a.Jobs[name]
	if !ok {
		return refuse(http.StatusBadRequest, "no job %q: want one of %s", name, strings.Join(c.a.Jobs.Names(), ", "))
	}
	d, err := civil.Parse(q.r.PostFormValue("date"))
	if err != nil {
		return refuse(http.StatusBadRequest, "date %q: want YYYY-MM-DD", q.r.PostFormValue("date"))
	}
	res, errs := c.a.Env.DryRun(q.r.Context(), []jobs.DryStep{{Job: job, Spec: jobs.StartSpec{Date: d, DryRun: true, Trigger: "operator", TriggeredBy: q.who()}}})
	if res[0].Run.ID == 0 {
		return errs[0]
	}
	c.a.Log.Info().Str("operator", q.who()).Str("action", "dry run").Str("job", name).Str("date", d.String()).Int64("run", res[0].Run.ID).Msg("operator action")
	msg := fmt.Sprintf("Dry run of %s for %s by %s: nothing was written, stored, sent or mailed; the summary below is what it would do.", name, d, q.who())
	if errs[0] != nil {
		msg += " It would end " + res[0].Run.Status + ": " + errs[0].Error()
	}
	return q.done(fmt.Sprintf("/runs/%d", res[0].Run.ID), msg)
}

// pauseSchedule and resumeSchedule pause and resume a job's schedule, as
// `drafter schedule pause|resume` do: recorded with who and why, honoured
// by every replica's scheduler before each fire.
func (c *console) pauseSchedule(q *request) error { return c.changeSchedule(q, true) }

func (c *console) resumeSchedule(q *request) error { return c.changeSchedule(q, false) }

func (c *console) changeSchedule(q *request, pause bool) error {
	job := q.r.PathValue("job")
	if _, ok := c.a.Jobs[job]; !ok {
		return &ActionError{Code: http.StatusNotFound, Msg: fmt.Sprintf("no job %q", job)}
	}
	reason := strings.TrimSpace(q.r.PostFormValue("reason"))
	ctx := q.r.Context()
	if pause {
		if reason == "" {
			return &ActionError{Code: http.StatusBadRequest, Msg: "a reason is required to pause the schedule (it is recorded)"}
		}
		if err := c.a.Env.Store.PauseSchedule(ctx, []string{job}, q.who(), reason); err != nil {
			return err
		}
		c.a.Log.Info().Str("operator", q.who()).Str("action", "schedule pause").Str("job", job).Msg("operator action")
		return q.done("/", fmt.Sprintf("The schedule of %s is paused by %s: no replica fires it until it is resumed.", job, q.who()))
	}
	if _, err := c.a.Env.Store.ResumeSchedule(ctx, []string{job}, q.who(), reason); err != nil {
		return err
	}
	c.a.Log.Info().Str("operator", q.who()).Str("action", "schedule resume").Str("job", job).Msg("operator action")
	return q.done("/", fmt.Sprintf("The schedule of %s is resumed by %s.", job, q.who()))
}

// cancel stops a running run at its next safe point, as `drafter cancel`
// and the API do (Env.Cancel): what it did stays done; resume finishes it.
func (c *console) cancel(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(q.r.PostFormValue("reason"))
	if reason == "" {
		return &ActionError{Code: http.StatusBadRequest, Msg: "a reason is required to cancel a run (it is recorded)"}
	}
	run, err := c.a.Env.Cancel(q.r.Context(), id, q.who(), reason, c.a.Env.Config.StaleAfter)
	if err != nil {
		return err
	}
	c.a.Log.Info().Str("operator", q.who()).Str("action", "cancel").Int64("run", id).Str("job", run.Job).Str("status", run.Status).Msg("operator action")
	return q.done(fmt.Sprintf("/runs/%d", id), fmt.Sprintf("Cancel of run %d asked by %s: it stops at its next chunk or item boundary (now %s).", id, q.who(), run.Status))
}

func (c *console) rerunRun(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	run, err := c.a.Rerun(q.r.Context(), q.who(), id, q.r.PostFormValue("reason"), strings.TrimSpace(q.r.PostFormValue("account")))
	if err != nil {
		return err
	}
	return q.done(fmt.Sprintf("/runs/%d", run.ID), fmt.Sprintf("Run %d is the rerun of run %d, started by %s.", run.ID, id, q.who()))
}

// Exceptions.

type exceptionRow struct {
	ledger.Exception
	Raw string
	Age string
}

type exceptionsData struct {
	Kinds           []kindCount
	Kind, Code, Age string
	All             bool
	Rows            []exceptionRow
	Next            string
	AgeChoices      []kv
	FilterQuery     string
}

type kindCount struct {
	Kind  string
	Count int
}

var ageChoices = []kv{{"", "any age"}, {"1d", "older than a day"}, {"7d", "older than a week"}, {"30d", "older than 30 days"}}

func (c *console) exceptionsPage(q *request) error {
	ctx := q.r.Context()
	v := q.r.URL.Query()
	f := ledger.ExceptionFilter{Kind: v.Get("kind"), Code: strings.TrimSpace(v.Get("code")), All: v.Get("all") == "1",
		AfterID: q.int64Param("after"), Limit: pageSize}
	now := time.Now()
	switch v.Get("age") {
	case "1d":
		f.Before = now.Add(-24 * time.Hour)
	case "7d":
		f.Before = now.Add(-7 * 24 * time.Hour)
	case "30d":
		f.Before = now.Add(-30 * 24 * time.Hour)
	}
	kinds, err := c.a.Env.Store.OpenExceptionKinds(ctx)
	if err != nil {
		return err
	}
	exs, err := c.a.Env.Store.ListExceptions(ctx, f)
	if err != nil {
		return err
	}
	d := exceptionsData{Kind: f.Kind, Code: f.Code, Age: v.Get("age"), All: f.All, AgeChoices: ageChoices}
	for k, n := range kinds {
		d.Kinds = append(d.Kinds, kindCount{k, n})
	}
	sort.Slice(d.Kinds, func(i, j int) bool { return d.Kinds[i].Kind < d.Kinds[j].Kind })
	for _, e := range exs {
		d.Rows = append(d.Rows, exceptionRow{Exception: e, Raw: MaskRaw(e.Raw), Age: age(now.Sub(e.CreatedAt))})
	}
	fq := v
	fq.Del("after")
	fq.Del("flash")
	d.FilterQuery = fq.Encode()
	if len(exs) == pageSize {
		fq.Set("after", strconv.FormatInt(exs[len(exs)-1].ID, 10))
		d.Next = "/exceptions?" + fq.Encode()
	}
	c.render(q, http.StatusOK, "exceptions", page{Title: "Exceptions", Nav: "exceptions", Data: d})
	return nil
}

func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// MaskRaw masks, with package mask's rule, the DFI account number of any
// NACHA entry detail record (type 6, 94 characters) in raw: records stored
// before every raw record was masked show masked too.
func MaskRaw(raw string) string {
	lines := strings.Split(raw, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if len(l) == 94 && l[0] == '6' {
			lines[i] = l[:12] + mask.InPlace(l[12:29]) + l[29:]
		}
	}
	return strings.Join(lines, "\n")
}

func (c *console) resolve(q *request) error {
	note := strings.TrimSpace(q.r.PostFormValue("note"))
	back := "/exceptions"
	if fq := q.r.PostFormValue("filter"); fq != "" {
		back += "?" + fq
	}
	ids := q.r.PostForm["id"]
	if len(ids) == 0 {
		return refuse(http.StatusBadRequest, "choose at least one exception to resolve")
	}
	if note == "" {
		return refuse(http.StatusBadRequest, "a note is required: say what was done (for example \"bank account corrected by phone, ticket 4411\")")
	}
	n := 0
	var already []string
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return refuse(http.StatusBadRequest, "exception id %q: want a number", s)
		}
		_, err = c.a.Env.Store.ResolveException(q.r.Context(), id, q.who(), note)
		switch {
		case errors.Is(err, ledger.ErrAlreadyResolved):
			already = append(already, s)
		case err != nil:
			return err
		default:
			n++
		}
	}
	msg := fmt.Sprintf("%d exception(s) resolved by %s.", n, q.who())
	if len(already) > 0 {
		msg += " Already resolved before: " + strings.Join(already, ", ") + "."
	}
	return q.done(back, msg)
}

// Returns and risk.

type rateView struct {
	ach.Rate
	Percent, Threshold string
	State              string
}

type codeCount struct {
	Code, Title, Category string
	Count                 int
}

type returnsData struct {
	From, Through civil.Date
	Debits        int
	Rates         []rateView
	RatesChart    template.HTML
	ByCode        []codeCount
	CodesChart    template.HTML
	DaysChart     template.HTML
	Repeated      []ledger.RepeatedReturn
	Stopped       []ledger.StoppedAutopay
}

func (c *console) returnsPage(q *request) error {
	ctx := q.r.Context()
	through, err := q.through()
	if err != nil {
		return err
	}
	from := through.AddDays(-59)
	st := c.a.Env.Store
	debits, byCode, err := st.ReturnCounts(ctx, from, through)
	if err != nil {
		return err
	}
	rates := ach.ReturnRates(debits, byCode)
	d := returnsData{From: from, Through: through, Debits: debits}
	for _, r := range []ach.Rate{rates.Unauthorized, rates.Administrative, rates.Overall} {
		state := "ok"
		switch {
		case r.Exceeded:
			state = "exceeded"
		case r.Warning:
			state = "warning"
		}
		d.Rates = append(d.Rates, rateView{Rate: r, Percent: fmt.Sprintf("%.2f%%", r.BasisPoints()/100),
			Threshold: fmt.Sprintf("%.2f%%", float64(r.ThresholdBP)/100), State: state})
	}
	d.RatesChart = rateChart(d.Rates)
	for code, n := range byCode {
		cc := codeCount{Code: code, Count: n}
		if p, ok := ach.ReturnPolicy(code); ok {
			cc.Title, cc.Category = p.Title, string(p.Category)
		}
		d.ByCode = append(d.ByCode, cc)
	}
	sort.Slice(d.ByCode, func(i, j int) bool {
		if d.ByCode[i].Count != d.ByCode[j].Count {
			return d.ByCode[i].Count > d.ByCode[j].Count
		}
		return d.ByCode[i].Code < d.ByCode[j].Code
	})
	d.CodesChart = codeChart(d.ByCode)
	days, err := st.ReturnsByDay(ctx, from, through, func(code string) string {
		if p, ok := ach.ReturnPolicy(code); ok {
			return string(p.Category)
		}
		return ""
	})
	if err != nil {
		return err
	}
	d.DaysChart = dayChart(days)
	if d.Repeated, err = st.RepeatedReturns(ctx, from, through, pageSize); err != nil {
		return err
	}
	if d.Stopped, err = st.StoppedAutopays(ctx, pageSize); err != nil {
		return err
	}
	c.render(q, http.StatusOK, "returns", page{Title: "Returns and risk", Nav: "returns", Data: d})
	return nil
}

// Files.

type fileDay struct {
	Date    civil.Date
	Files   []ledger.ACHFile
	Entries int
	Debits  money.Cents
}

type filesData struct {
	Through, Earlier string
	Days             []fileDay
	Inbound          []ledger.InboundFile
	InboundNext      string
}

func (c *console) filesPage(q *request) error {
	ctx := q.r.Context()
	through, err := q.through()
	if err != nil {
		return err
	}
	files, err := c.a.Env.Store.FilesBefore(ctx, through, 14)
	if err != nil {
		return err
	}
	d := filesData{Through: through.String(), Earlier: through.AddDays(-14).String()}
	for _, f := range files {
		if n := len(d.Days); n == 0 || d.Days[n-1].Date != f.BusinessDate {
			d.Days = append(d.Days, fileDay{Date: f.BusinessDate})
		}
		day := &d.Days[len(d.Days)-1]
		day.Files = append(day.Files, f)
		day.Entries += f.Entries
		day.Debits += f.DebitTotal
	}
	if d.Inbound, err = c.a.Env.Store.InboundFiles(ctx, q.int64Param("inbound_before"), pageSize); err != nil {
		return err
	}
	if len(d.Inbound) == pageSize {
		d.InboundNext = fmt.Sprintf("/files?through=%s&inbound_before=%d", through, d.Inbound[len(d.Inbound)-1].ID)
	}
	c.render(q, http.StatusOK, "files", page{Title: "Files", Nav: "files", Data: d})
	return nil
}

// download sends a stored NACHA file. It holds full account numbers, so
// it needs role operator and is audited.
func (c *console) download(q *request) error {
	if !q.sess.Operator.Can(ledger.RoleOperator) {
		return refuse(http.StatusForbidden, "operator %s has role %s: downloading a NACHA file (it holds full account numbers) needs role operator", q.who(), q.sess.Operator.Role)
	}
	id, err := q.id("id")
	if err != nil {
		return err
	}
	f, err := c.a.Env.Store.ACHFileByID(q.r.Context(), id)
	if err != nil {
		return err
	}
	b, _, err := c.a.Env.Docs.Get(q.r.Context(), f.StorageKey)
	if err != nil {
		return fmt.Errorf("file %d at %s: %w", id, f.StorageKey, err)
	}
	if err := c.a.Env.Store.Audit(q.r.Context(), q.who(), "file download", fmt.Sprintf("file %d: %s", id, f.StorageKey), ""); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "text/plain; charset=us-ascii")
	q.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", path.Base(f.StorageKey)))
	_, _ = q.w.Write(b)
	return nil
}

// Accounts.

type accountsData struct {
	Q    string
	By   string
	Hits []ledger.AccountHit
	Next string
}

func (c *console) accountsPage(q *request) error {
	v := q.r.URL.Query()
	s := strings.TrimSpace(v.Get("q"))
	d := accountsData{Q: s}
	if s != "" {
		after := v.Get("after")
		hits, by, err := c.a.Env.Store.SearchAccounts(q.r.Context(), ledger.AccountSearch{Q: s, By: v.Get("by"), After: after, Limit: pageSize})
		if err != nil {
			return refuse(http.StatusBadRequest, "%v", err)
		}
		if len(hits) == 1 && after == "" {
			http.Redirect(q.w, q.r, "/accounts/"+hits[0].ID, http.StatusSeeOther)
			return nil
		}
		d.Hits, d.By = hits, by
		if len(hits) == pageSize {
			d.Next = "/accounts?" + url.Values{"q": {s}, "by": {by}, "after": {hits[len(hits)-1].ID}}.Encode()
		}
	}
	c.render(q, http.StatusOK, "accounts", page{Title: "Accounts", Nav: "accounts", Data: d})
	return nil
}

type accountData struct {
	Account      ledger.DocumentAccount
	Payments     []ledger.AccountPayment
	PaymentsNext string
	Documents    []ledger.Document
	Emails       []ledger.OutboxMessage
	EmailsMore   string
	Exceptions   []ledger.Exception
	// ExceptionsMore is the Exceptions page of them all, when there are
	// more than the page shows.
	ExceptionsMore string
	Audit          []ledger.AuditEntry
}

func (c *console) accountPage(q *request) error {
	ctx := q.r.Context()
	id := q.r.PathValue("id")
	st := c.a.Env.Store
	acct, err := st.DocumentAccount(ctx, id)
	if err != nil {
		return err
	}
	d := accountData{Account: acct}
	if d.Payments, err = st.AccountPayments(ctx, id, q.int64Param("payments_before"), pageSize); err != nil {
		return err
	}
	if len(d.Payments) == pageSize {
		d.PaymentsNext = fmt.Sprintf("/accounts/%s?payments_before=%d", id, d.Payments[len(d.Payments)-1].ID)
	}
	if d.Documents, err = st.AccountDocuments(ctx, id, pageSize); err != nil {
		return err
	}
	if d.Emails, err = st.ListOutboxPage(ctx, ledger.OutboxPage{AccountID: id, Limit: pageSize}); err != nil {
		return err
	}
	if len(d.Emails) == pageSize {
		d.EmailsMore = "/outbox?" + url.Values{"account": {id}, "before": {strconv.FormatInt(d.Emails[len(d.Emails)-1].ID, 10)}}.Encode()
	}
	if d.Exceptions, err = st.ListExceptions(ctx, ledger.ExceptionFilter{Code: id, All: true, Limit: pageSize}); err != nil {
		return err
	}
	if len(d.Exceptions) == pageSize {
		d.ExceptionsMore = "/exceptions?" + url.Values{"code": {id}, "all": {"1"}, "after": {strconv.FormatInt(d.Exceptions[len(d.Exceptions)-1].ID, 10)}}.Encode()
	}
	if d.Audit, err = st.AccountAudit(ctx, id, 20); err != nil {
		return err
	}
	c.render(q, http.StatusOK, "account", page{Title: "Account " + id, Nav: "accounts", Data: d})
	return nil
}

// document sends a stored document (a statement or notice PDF) to open in
// the browser.
func (c *console) document(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	doc, err := c.a.Env.Store.Document(q.r.Context(), id)
	if err != nil {
		return err
	}
	b, _, err := c.a.Env.Docs.Get(q.r.Context(), doc.StorageKey)
	if err != nil {
		return fmt.Errorf("document %d at %s: %w", id, doc.StorageKey, err)
	}
	h := q.w.Header()
	// The browser's PDF viewer is not a page of ours: no CSP for it.
	h.Del("Content-Security-Policy")
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", path.Base(doc.StorageKey)))
	_, _ = q.w.Write(b)
	return nil
}

// Outbox.

type outboxData struct {
	Counts       map[string]int
	Status, Kind string
	// Account narrows the list to one account's email (from its page).
	Account  string
	Statuses []string
	Kinds    []string
	Oldest   *ledger.OutboxMessage
	Rows     []ledger.OutboxMessage
	Next     string
}

func (c *console) outboxPage(q *request) error {
	ctx := q.r.Context()
	v := q.r.URL.Query()
	st := c.a.Env.Store
	d := outboxData{Status: v.Get("status"), Kind: v.Get("kind"), Account: v.Get("account"),
		Statuses: []string{ledger.OutboxQueued, ledger.OutboxSending, ledger.OutboxSent, ledger.OutboxFailed},
		Kinds:    []string{"statement_ready", "lease_end_notice", "payment_scheduled", "payment_returned"}}
	var err error
	if d.Counts, err = st.OutboxWaiting(ctx); err != nil {
		return err
	}
	if m, err := st.OldestQueued(ctx); err == nil {
		d.Oldest = &m
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	if d.Rows, err = st.ListOutboxPage(ctx, ledger.OutboxPage{Status: d.Status, Kind: d.Kind, AccountID: d.Account, BeforeID: q.int64Param("before"), Limit: pageSize}); err != nil {
		return err
	}
	if len(d.Rows) == pageSize {
		next := url.Values{"before": {strconv.FormatInt(d.Rows[len(d.Rows)-1].ID, 10)}}
		for k, val := range map[string]string{"status": d.Status, "kind": d.Kind, "account": d.Account} {
			if val != "" {
				next.Set(k, val)
			}
		}
		d.Next = "/outbox?" + next.Encode()
	}
	c.render(q, http.StatusOK, "outbox", page{Title: "Outbox", Nav: "outbox", Data: d})
	return nil
}

func (c *console) retry(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	m, err := c.a.Env.Store.RetryOutbox(q.r.Context(), id, time.Now())
	if errors.Is(err, ledger.ErrOutboxState) {
		return refuse(http.StatusConflict, "%v", err)
	}
	if err != nil {
		return err
	}
	if err := c.a.Env.Store.Audit(q.r.Context(), q.who(), "outbox retry", fmt.Sprintf("outbox %d", id), q.r.PostFormValue("reason")); err != nil {
		return err
	}
	return q.done(backTo(q, "/outbox"), fmt.Sprintf("Outbox %d (%s to %s) queued again by %s.", m.ID, m.Kind, m.Recipient, q.who()))
}

func (c *console) resend(q *request) error {
	id, err := q.id("id")
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(q.r.PostFormValue("reason"))
	if reason == "" {
		return refuse(http.StatusBadRequest, "a reason is required to send an email again (it is recorded)")
	}
	m, err := c.a.Env.Store.ResendOutbox(q.r.Context(), id, q.who(), reason)
	if err != nil {
		return err
	}
	return q.done(backTo(q, "/outbox"), fmt.Sprintf("Outbox %d queued again as outbox %d (%s to %s) by %s.", id, m.ID, m.Kind, m.Recipient, q.who()))
}

// backTo is the form's "back" field when it is a path of this site.
func backTo(q *request, def string) string {
	b := q.r.PostFormValue("back")
	if strings.HasPrefix(b, "/") && !strings.HasPrefix(b, "//") && !strings.HasPrefix(b, "/\\") {
		return b
	}
	return def
}

// Operators.

type operatorsData struct {
	Operators []ledger.Operator
	// NewToken is shown once, after add or rotate.
	NewToken, NewTokenFor string
	Roles                 []string
}

func (c *console) operatorsPage(q *request) error {
	if !q.sess.Operator.Can(ledger.RoleAdmin) {
		return refuse(http.StatusForbidden, "operator %s has role %s: the operators page needs role admin", q.who(), q.sess.Operator.Role)
	}
	return c.showOperators(q, "", "")
}

func (c *console) showOperators(q *request, token, name string) error {
	ops, err := c.a.Env.Store.Operators(q.r.Context())
	if err != nil {
		return err
	}
	d := operatorsData{Operators: ops, NewToken: token, NewTokenFor: name, Roles: []string{ledger.RoleViewer, ledger.RoleOperator, ledger.RoleAdmin}}
	c.render(q, http.StatusOK, "operators", page{Title: "Operators", Nav: "operators", Data: d})
	return nil
}

func (c *console) addOperator(q *request) error {
	name := strings.TrimSpace(q.r.PostFormValue("name"))
	o, token, err := c.a.Env.Store.AddOperator(q.r.Context(), name, q.r.PostFormValue("role"), q.who())
	if errors.Is(err, ledger.ErrOperatorExists) {
		return refuse(http.StatusConflict, "%v", err)
	}
	if err != nil {
		return refuse(http.StatusBadRequest, "%v", err)
	}
	return c.showOperators(q, token, o.Name)
}

func (c *console) changeOperator(q *request) error {
	name, verb := q.r.PathValue("name"), q.r.PathValue("verb")
	st := c.a.Env.Store
	switch verb {
	case "disable", "enable":
		if name == q.who() && verb == "disable" {
			return refuse(http.StatusBadRequest, "you cannot disable yourself: ask another admin")
		}
		status := ledger.OperatorDisabled
		if verb == "enable" {
			status = ledger.OperatorActive
		}
		if err := st.SetOperatorStatus(q.r.Context(), name, status, q.who()); err != nil {
			return err
		}
		return q.done("/operators", fmt.Sprintf("Operator %s %sd by %s.", name, verb, q.who()))
	case "rotate":
		token, err := st.RotateOperator(q.r.Context(), name, q.who())
		if err != nil {
			return err
		}
		return c.showOperators(q, token, name)
	}
	return refuse(http.StatusNotFound, "no operator action %q: want disable, enable or rotate", verb)
}
