package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
)

// Progress is how far a run has come: its items done of selected so far,
// over every chunk and every worker. A running run reports it to
// Env.Progress every ProgressEvery, and once more when it ends, Finished,
// with the counts the run ledger recorded.
type Progress struct {
	RunID int64
	Job   string
	Date  civil.Date
	ledger.Counts
	// Expected is the run's estimated total of items: what a job
	// announced (Run.Expect), or for a chunked run the items its done
	// chunks selected scaled to all its chunks, and never below Selected
	// once known. 0 while nothing tells it (the total is unknown).
	Expected int
	// Chunks and ChunksDone count a chunked run's chunks; 0 otherwise.
	Chunks, ChunksDone int
	// Elapsed is the time since this process began the run.
	Elapsed  time.Duration
	Finished bool
	// Status is the run's recorded status, once Finished.
	Status string
}

// ProgressEvery is how often a running run reports its progress.
var ProgressEvery = 250 * time.Millisecond

// Expect tells the run's progress how many items it is expected to select
// in all (a bar's total before they are selected one batch at a time).
func (r *Run) Expect(n int) { r.expected.Store(int64(n)) }

// finalProgress is the progress of a run the ledger recorded finished.
func finalProgress(lr ledger.Run, start time.Time) Progress {
	return Progress{RunID: lr.ID, Job: lr.Job, Date: lr.BusinessDate,
		Counts:   ledger.Counts{Selected: lr.Selected, Done: lr.Done, Skipped: lr.Skipped, Failed: lr.Failed},
		Expected: lr.Selected, Elapsed: time.Since(start), Finished: true, Status: lr.Status}
}

// reportProgress calls e.Progress with sample() every ProgressEvery until
// the returned stop is called; stop reports its final progress and returns
// once no report is under way. Without e.Progress it does nothing.
func (e *Env) reportProgress(sample func() (Progress, bool)) (stop func(final Progress)) {
	report := e.Progress
	if report == nil {
		return func(Progress) {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if p, ok := sample(); ok {
					report(p)
				}
			}
		}
	})
	var once sync.Once
	return func(final Progress) {
		once.Do(func() {
			close(done)
			wg.Wait()
			report(final)
		})
	}
}

// runProgress samples a run worked in this process in one piece.
func runProgress(r *Run, start time.Time) func() (Progress, bool) {
	return func() (Progress, bool) {
		c := r.Counts()
		p := Progress{RunID: r.ID, Job: r.Job, Date: r.Date, Counts: c, Elapsed: time.Since(start)}
		if e := int(r.expected.Load()); e > 0 {
			p.Expected = max(e, c.Selected)
		}
		return p, true
	}
}

// chunkTracker follows the chunks of a run this process works, so that its
// progress counts the items of chunks still being worked, not only of the
// chunks done.
type chunkTracker struct {
	mu        sync.Mutex
	working   map[int]*Run
	finishing *Run
}

// chunkTrackers holds the tracker of each chunked run this process
// coordinates, by runLockKey.
var chunkTrackers sync.Map

// trackChunk registers a chunk's run with the run's tracker, if this
// process coordinates the run; the returned func unregisters it.
func trackChunk(e *Env, lr ledger.Run, chunk int, r *Run) func() {
	v, ok := chunkTrackers.Load(runLockKey{e.Store.DB(), lr.ID})
	if !ok {
		return func() {}
	}
	t := v.(*chunkTracker)
	t.mu.Lock()
	t.working[chunk] = r
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.working, chunk)
		t.mu.Unlock()
	}
}

// trackFinish registers the run of a chunked run's single step.
func trackFinish(e *Env, lr ledger.Run, r *Run) {
	if v, ok := chunkTrackers.Load(runLockKey{e.Store.DB(), lr.ID}); ok {
		t := v.(*chunkTracker)
		t.mu.Lock()
		t.finishing = r
		t.mu.Unlock()
	}
}

// chunkedProgress starts tracking a chunked run coordinated here and
// returns its sampler and the func that stops tracking.
func (e *Env) chunkedProgress(ctx context.Context, lr ledger.Run, start time.Time) (func() (Progress, bool), func()) {
	key := runLockKey{e.Store.DB(), lr.ID}
	t := &chunkTracker{working: map[int]*Run{}}
	chunkTrackers.Store(key, t)
	sample := func() (Progress, bool) {
		p := Progress{RunID: lr.ID, Job: lr.Job, Date: lr.BusinessDate, Elapsed: time.Since(start)}
		// The chunks being worked first, then the ledger's done chunks: a
		// chunk that completes in between is in both and counted once,
		// from the ledger.
		t.mu.Lock()
		fin := t.finishing
		live := make(map[int]ledger.Counts, len(t.working))
		for chunk, r := range t.working {
			live[chunk] = r.Counts()
		}
		t.mu.Unlock()
		done, n, err := e.Store.DoneChunkCounts(ctx, lr.ID)
		if err != nil {
			return p, false
		}
		p.Chunks, p.ChunksDone = n, len(done)
		if fin != nil {
			// The single step's run starts from every chunk's counts.
			p.Counts = fin.Counts()
			if e := int(fin.expected.Load()); e > 0 {
				p.Expected = max(e, p.Selected)
			}
			return p, true
		}
		doneSelected := 0
		for _, c := range done {
			p.Counts = addCounts(p.Counts, c)
			doneSelected += c.Selected
		}
		for chunk, c := range live {
			if _, ok := done[chunk]; !ok {
				p.Counts = addCounts(p.Counts, c)
			}
		}
		if len(done) > 0 {
			p.Expected = max(doneSelected*n/len(done), p.Selected)
		}
		return p, true
	}
	return sample, func() { chunkTrackers.Delete(key) }
}

func addCounts(a, b ledger.Counts) ledger.Counts {
	return ledger.Counts{Selected: a.Selected + b.Selected, Done: a.Done + b.Done, Skipped: a.Skipped + b.Skipped, Failed: a.Failed + b.Failed}
}
