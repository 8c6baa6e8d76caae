package ledger

import "context"

// RunDetail is everything known about one run, as `drafter runs show
// --json` and GET /api/v1/runs/{id} print it: the run (with live counts
// while it runs), its failed items, its chunks, its timeline, and the
// cancel asked for it that it has not reached a safe point for yet.
type RunDetail struct {
	Run
	FailedItems []RunItem      `json:"failed_items"`
	Chunks      *ChunkProgress `json:"chunks,omitempty"`
	Timeline    []RunEvent     `json:"timeline"`
	// CancelRequested: a running run asked to cancel, by whom, when and
	// why; it stops at its next safe point. Absent once it stopped (the
	// timeline and the error say it then) or when none was asked.
	CancelRequested *CancelRequest `json:"cancel_requested,omitempty"`
}

// RunDetails returns run id with its failed items, chunks, timeline and
// pending cancel. The counts of a running chunked run are the chunks done
// so far, not its last heartbeat's.
func (s *Store) RunDetails(ctx context.Context, id int64) (RunDetail, error) {
	var d RunDetail
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return d, err
	}
	d.Run = r
	if d.FailedItems, err = s.RunItems(ctx, id); err != nil {
		return d, err
	}
	chunks, err := s.RunChunkProgress(ctx, id)
	if err != nil {
		return d, err
	}
	if chunks.Pending+chunks.Claimed+chunks.Done > 0 {
		d.Chunks = &chunks
	}
	if d.Timeline, err = s.RunEvents(ctx, id); err != nil {
		return d, err
	}
	if d.FailedItems == nil {
		d.FailedItems = []RunItem{}
	}
	if d.Timeline == nil {
		d.Timeline = []RunEvent{}
	}
	if r.Status == RunRunning {
		if d.Chunks != nil {
			live, err := s.ChunkCounts(ctx, id)
			if err != nil {
				return d, err
			}
			d.Selected, d.Done, d.Skipped, d.Failed = live.Selected, live.Done, live.Skipped, live.Failed
		}
		c, ok, err := s.CancelRequested(ctx, id)
		if err != nil {
			return d, err
		}
		if ok {
			d.CancelRequested = &c
		}
	}
	return d, nil
}
