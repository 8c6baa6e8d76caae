package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/ledger"
)

// Transmit is the transmit job: it carries the business date's stored
// NACHA files to the bank's SFTP outbox, each exactly once, in modifier
// order. A file is read from storage and checked against the ledger's
// sha256, uploaded under a temporary name, checked on the server (size,
// and content where the server lets it be read back), recorded as being
// handed over, renamed to its final name and recorded sent. After a crash
// the rerun looks at the outbox first: a final name already there with the
// right size is recorded sent and never uploaded again, a leftover
// temporary name is removed and the upload redone. A file whose bytes
// differ from the ledger's is never sent. Past the day's last cutoff
// (DRAFTER_BANK_CUTOFF) a file not yet handed over is held, not sent late:
// an exception and an ERROR log say so, and the operator decides.
type Transmit struct {
	// Now is the clock for the cutoff; nil means time.Now.
	Now func() time.Time
}

// Name implements Job.
func (Transmit) Name() string { return "transmit" }

// Transmit outcomes of one file.
const (
	TransmitSent         = "sent"          // uploaded and renamed by this run
	TransmitFound        = "found"         // its final name was on the server already
	TransmitTaken        = "taken"         // renamed, then gone: the bank picked it up
	TransmitAlreadySent  = "already sent"  // recorded sent before this run
	TransmitCutoffMissed = "cutoff missed" // held: not sent late
	TransmitResent       = "resent"        // sent again on an operator's --resend
	TransmitFailed       = "failed"
	TransmitDryRun       = "dry-run"
)

// TransmitSummary is what a transmit run did.
type TransmitSummary struct {
	// Bank is the server, sftp://USER@HOST:PORT; empty when no bank is
	// configured and the job did nothing.
	Bank  string             `json:"bank,omitempty"`
	Files []FileTransmission `json:"files"`
	// CutoffMissed counts the files held because the day's last cutoff
	// passed (the server adds it to drafter_bank_cutoff_missed_total).
	CutoffMissed int `json:"cutoff_missed"`
}

// FileTransmission is one file's outcome.
type FileTransmission struct {
	Modifier   string `json:"modifier"`
	Key        string `json:"key"`
	RemoteName string `json:"remote_name"`
	Bytes      int64  `json:"bytes"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
}

// ExceptionCutoffMissed is the kind of exception raised for a file held
// because the bank's last cutoff of its business date passed.
const ExceptionCutoffMissed = "cutoff_missed"

func (t Transmit) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Run implements Job.
func (t Transmit) Run(ctx context.Context, r *Run) (any, error) {
	sum := &TransmitSummary{Files: []FileTransmission{}}
	b := r.Env.Config.Bank
	resend, err := resendParam(r.Run.Params)
	if err != nil {
		return sum, err
	}
	if b == nil {
		if resend != "" {
			return sum, fmt.Errorf("--resend %s: no bank is configured (DRAFTER_BANK_URL), so nothing can be sent", resend)
		}
		r.Log.Info().Msg("no bank configured (DRAFTER_BANK_URL): files stay in storage")
		return sum, nil
	}
	sum.Bank = b.String()
	files, err := r.Store.DayFiles(ctx, r.Date)
	if err != nil {
		return sum, err
	}
	sent, err := r.Store.DayTransmissions(ctx, r.Date)
	if err != nil {
		return sum, err
	}
	var resendFile *ledger.ACHFile
	var pending []ledger.ACHFile
	for _, f := range files {
		if resend != "" && f.StorageKey == resend {
			tr, ok := sent[f.ID]
			if !ok || tr.State != ledger.TransmissionSent {
				return sum, fmt.Errorf("--resend %s: the file was never sent, so there is nothing to send again: rerun without --resend and it is sent once", resend)
			}
			resendFile = &f
			continue
		}
		if f.Status == ledger.FileAllocated {
			// Not stored yet: originate has not finished it.
			continue
		}
		if tr, ok := sent[f.ID]; ok && tr.State == ledger.TransmissionSent {
			r.Skipped(1)
			sum.Files = append(sum.Files, FileTransmission{Modifier: f.IDModifier, Key: f.StorageKey, RemoteName: tr.RemoteName,
				Bytes: tr.Bytes, Outcome: TransmitAlreadySent})
			continue
		}
		pending = append(pending, f)
	}
	if resend != "" && resendFile == nil {
		return sum, fmt.Errorf("--resend %s: no stored file of %s has that key (`drafter bank status --date %s` lists them)", resend, r.Date, r.Date)
	}
	if resendFile != nil {
		pending = append([]ledger.ACHFile{*resendFile}, pending...)
	}
	r.Selected(len(pending))
	if len(pending) == 0 {
		return sum, nil
	}
	deadline, hasCutoff := bank.Deadline(r.Date, b.Cutoffs, r.Env.Config.Zone)
	late := hasCutoff && t.now().After(deadline)
	if r.DryRun {
		for _, f := range pending {
			out := TransmitDryRun
			if _, handing := sent[f.ID]; late && !handing {
				out = TransmitCutoffMissed
			}
			sum.Files = append(sum.Files, FileTransmission{Modifier: f.IDModifier, Key: f.StorageKey, Bytes: f.Size,
				RemoteName: bank.RemoteName(b.NamePattern, remoteFileName(f)), Outcome: out})
		}
		return sum, nil
	}
	conn, err := bank.Dial(ctx, *b)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	listing, err := conn.List(b.Outbox)
	if err != nil {
		return sum, err
	}
	remote := map[string]int64{}
	for _, f := range listing {
		remote[f.Name] = f.Size
	}
	for _, f := range pending {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if err := r.CheckCancel(ctx); err != nil {
			return sum, err
		}
		prev, handing := sent[f.ID]
		ft := FileTransmission{Modifier: f.IDModifier, Key: f.StorageKey, RemoteName: bank.RemoteName(b.NamePattern, remoteFileName(f)), Bytes: f.Size}
		if resendFile != nil && f.ID == resendFile.ID {
			if err := t.resend(ctx, r, conn, b, f, ft.RemoteName, remote, late); err != nil {
				ft.Outcome, ft.Error = TransmitFailed, err.Error()
				r.ItemFailed(f.StorageKey, err)
				sum.Files = append(sum.Files, ft)
				continue
			}
			ft.Outcome = TransmitResent
			r.Done(1)
			sum.Files = append(sum.Files, ft)
			continue
		}
		if late && !handing {
			// Not handed over by the last cutoff: sending it now would
			// settle on a day the entries do not say. Held for a person.
			ft.Outcome = TransmitCutoffMissed
			t.cutoffMissed(ctx, r, f, ft, deadline)
			sum.CutoffMissed++
			sum.Files = append(sum.Files, ft)
			continue
		}
		var p *ledger.Transmission
		if handing {
			p = &prev
		}
		out, err := t.send(ctx, r, conn, b, f, ft.RemoteName, p, remote)
		ft.Outcome = out
		if err != nil {
			ft.Outcome, ft.Error = TransmitFailed, err.Error()
			r.ItemFailed(f.StorageKey, err)
			sum.Files = append(sum.Files, ft)
			if errors.Is(err, bank.ErrHostKey) || errors.Is(err, bank.ErrAuth) {
				return sum, err
			}
			continue
		}
		r.Done(1)
		sum.Files = append(sum.Files, ft)
	}
	return sum, nil
}

// resendParam reads the file key a rerun asked to send again, "" for none.
func resendParam(params json.RawMessage) (string, error) {
	if len(params) == 0 {
		return "", nil
	}
	var p struct {
		Resend string `json:"resend"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return "", nil // parameters of another kind: no resend
	}
	return p.Resend, nil
}

// resend sends again a file recorded sent, because an operator asked for
// it with a reason (drafter rerun RUN --resend KEY --reason): the bank
// may debit every entry twice, so it is logged at ERROR, recorded in the
// audit log and in the run's timeline. A file still in the bank's outbox
// is not sent again: the bank has not taken it yet.
func (t Transmit) resend(ctx context.Context, r *Run, conn *bank.Conn, b *bank.Settings, f ledger.ACHFile, final string, remote map[string]int64, late bool) error {
	tmp := bank.TempName(final)
	finalPath, tmpPath := path.Join(b.Outbox, final), path.Join(b.Outbox, tmp)
	reason := r.Run.Reason
	log := r.Log.With().Str("key", f.StorageKey).Str("remote", finalPath).Str("operator", r.Run.TriggeredBy).Str("reason", reason).Logger()
	if _, ok := remote[final]; ok {
		return fmt.Errorf("--resend %s: %s is still in the bank's outbox: the bank has not taken it yet, so it is not sent again", f.StorageKey, finalPath)
	}
	log.Error().Bool("after_cutoff", late).Msg("RESENDING a file already sent to the bank, as an operator asked: the bank may debit its entries twice")
	data, _, err := r.Env.Docs.Get(ctx, f.StorageKey)
	if err != nil {
		return fmt.Errorf("read %s from storage: %w", f.StorageKey, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
		return fmt.Errorf("--resend %s: the stored bytes differ from what the ledger recorded: not sent", f.StorageKey)
	}
	payload := data
	if b.PGP != nil && len(b.PGP.Bank) > 0 {
		if payload, err = b.PGP.Seal(data, path.Base(f.StorageKey)); err != nil {
			return err
		}
	}
	if _, ok := remote[tmp]; ok {
		if err := conn.Remove(tmpPath); err != nil {
			return err
		}
	}
	if err := conn.Upload(tmpPath, payload); err != nil {
		return err
	}
	if n, err := conn.Size(tmpPath); err != nil || n != int64(len(payload)) {
		_ = conn.Remove(tmpPath)
		return fmt.Errorf("%s has %d bytes on the server after the upload (%v), want %d: removed; not resent", tmpPath, n, err, len(payload))
	}
	if err := conn.Rename(tmpPath, finalPath); err != nil {
		return err
	}
	psum := sha256.Sum256(payload)
	tr := ledger.Transmission{FileID: f.ID, RemoteName: final, Bytes: int64(len(payload)), SHA256: hex.EncodeToString(psum[:]), RunID: r.ID}
	if err := r.Store.RecordResend(ctx, tr, r.Run.TriggeredBy, reason); err != nil {
		return err
	}
	log.Error().Int64("bytes", tr.Bytes).Msg("file RESENT to the bank")
	return nil
}

func remoteFileName(f ledger.ACHFile) bank.FileName {
	return bank.FileName{ID: f.ID, BusinessDate: f.BusinessDate, EffectiveOn: f.EffectiveOn, Modifier: f.IDModifier}
}

// send hands one file to the bank, or finishes handing it over (prev, a
// transmission recorded renaming), and records it sent.
func (t Transmit) send(ctx context.Context, r *Run, conn *bank.Conn, b *bank.Settings, f ledger.ACHFile, final string,
	prev *ledger.Transmission, remote map[string]int64) (string, error) {
	tmp := bank.TempName(final)
	finalPath, tmpPath := path.Join(b.Outbox, final), path.Join(b.Outbox, tmp)
	log := r.Log.With().Str("key", f.StorageKey).Str("remote", finalPath).Logger()
	data, _, err := r.Env.Docs.Get(ctx, f.StorageKey)
	if err != nil {
		return "", fmt.Errorf("read %s from storage: %w", f.StorageKey, err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if sha != f.SHA256 || int64(len(data)) != f.Size {
		ex := ledger.Exception{Kind: "transmit_mismatch", Reference: f.StorageKey,
			Detail: fmt.Sprintf("file %s in storage has sha256 %s and %d bytes, but the ledger recorded %s and %d bytes when it was stored: it was not sent. Rebuild it with `drafter run originate --date %s` (the ledger's entries give the recorded bytes) and run transmit again",
				f.StorageKey, sha, len(data), f.SHA256, f.Size, f.BusinessDate)}
		if _, err := r.Store.RaiseException(ctx, ex); err != nil {
			log.Error().Err(err).Msg("record exception")
		}
		return "", errors.New(ex.Detail)
	}
	// What is sent: the file, or with PGP the file encrypted to the bank
	// and signed. A file handed over before (prev) is what was recorded
	// then: encryption makes other bytes each time.
	payload := data
	if b.PGP != nil && len(b.PGP.Bank) > 0 && prev == nil {
		if payload, err = b.PGP.Seal(data, path.Base(f.StorageKey)); err != nil {
			return "", err
		}
	}
	psum := sha256.Sum256(payload)
	tr := ledger.Transmission{FileID: f.ID, RemoteName: final, Bytes: int64(len(payload)), SHA256: hex.EncodeToString(psum[:]), RunID: r.ID}
	if prev != nil {
		tr.Bytes, tr.SHA256 = prev.Bytes, prev.SHA256
	}
	size, atFinal := remote[final]
	if atFinal {
		if size != tr.Bytes {
			return "", fmt.Errorf("%s on the bank's server has %d bytes, not the %d of %s: another file holds the name; it is never replaced, so a person must find out what it is (DRAFTER_BANK_FILE_NAME may be shared with another sender)",
				finalPath, size, tr.Bytes, f.StorageKey)
		}
		// Where the server lets the file be read back, the content must
		// match too; a bank that does not allow reading is taken on size.
		if got, err := conn.Read(finalPath); err == nil {
			if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != tr.SHA256 {
				return "", fmt.Errorf("%s on the bank's server has the size of %s but other bytes: it is never replaced, a person must find out what it is", finalPath, f.StorageKey)
			}
		}
		how := TransmitFound
		if prev != nil {
			how = TransmitSent
		}
		if err := r.Store.MarkTransmitted(ctx, tr, how); err != nil {
			return "", err
		}
		r.Checkpoint("transmission recorded")
		log.Info().Str("how", how).Int64("bytes", tr.Bytes).Msg("file on the bank's server; recorded sent")
		return how, nil
	}
	if prev != nil {
		if _, atTmp := remote[tmp]; !atTmp {
			// Renamed, and the final name is gone: the bank's pickup took
			// it (banks that move files away once they have them).
			if err := r.Store.MarkTransmitted(ctx, tr, TransmitTaken); err != nil {
				return "", err
			}
			r.Checkpoint("transmission recorded")
			log.Warn().Msg("file was renamed for the bank and is gone from its outbox: the bank took it; recorded sent")
			return TransmitTaken, nil
		}
		// Uploaded and verified, not yet renamed.
		if n, err := conn.Size(tmpPath); err != nil || n != tr.Bytes {
			return "", fmt.Errorf("%s has %d bytes (%v), want %d: remove it on the server only after checking it was never renamed, then run transmit again", tmpPath, n, err, tr.Bytes)
		}
	} else {
		if _, atTmp := remote[tmp]; atTmp {
			// A crash after the upload: the bank never saw a temporary
			// name as a file, so it is redone from the start.
			if err := conn.Remove(tmpPath); err != nil {
				return "", err
			}
			r.Checkpoint("leftover temporary file removed")
		}
		if err := conn.Upload(tmpPath, payload); err != nil {
			return "", err
		}
		r.Checkpoint("file uploaded")
		n, err := conn.Size(tmpPath)
		if err != nil {
			return "", err
		}
		if n != tr.Bytes {
			_ = conn.Remove(tmpPath)
			return "", fmt.Errorf("%s has %d bytes on the server after the upload, want %d: removed; run transmit again", tmpPath, n, tr.Bytes)
		}
		if got, err := conn.Read(tmpPath); err == nil {
			if s := sha256.Sum256(got); hex.EncodeToString(s[:]) != tr.SHA256 {
				_ = conn.Remove(tmpPath)
				return "", fmt.Errorf("%s reads back different bytes after the upload: removed; run transmit again", tmpPath)
			}
		}
		if err := r.Store.BeginTransmission(ctx, tr); err != nil {
			// Never renamed, so never the bank's: a released file leaves
			// nothing behind.
			_ = conn.Remove(tmpPath)
			return "", err
		}
		r.Checkpoint("transmission begun")
	}
	if err := conn.Rename(tmpPath, finalPath); err != nil {
		return "", err
	}
	r.Checkpoint("file renamed")
	if err := r.Store.MarkTransmitted(ctx, tr, TransmitSent); err != nil {
		return "", err
	}
	r.Checkpoint("transmission recorded")
	log.Info().Int64("bytes", tr.Bytes).Str("sha256", tr.SHA256).Bool("pgp", tr.SHA256 != sha).Msg("file sent to the bank")
	return TransmitSent, nil
}

// cutoffMissed raises the exception, logs at ERROR and counts a file held
// because the day's last cutoff passed.
func (t Transmit) cutoffMissed(ctx context.Context, r *Run, f ledger.ACHFile, ft FileTransmission, deadline time.Time) {
	detail := fmt.Sprintf("file %s (business date %s, effective %s, %d entries, %s) was not sent by the bank's last cutoff %s: it is held, not sent late. "+
		"Either re-originate it for a new effective date (see docs/operations.md, \"A missed cutoff\") or, only if the bank agrees to take it late, send it as it is with DRAFTER_BANK_CUTOFF= (empty) drafter run transmit --date %s",
		f.StorageKey, f.BusinessDate, f.EffectiveOn, f.Entries, f.DebitTotal, deadline.Format(time.RFC3339), f.BusinessDate)
	if _, err := r.Store.RaiseException(ctx, ledger.Exception{Kind: ExceptionCutoffMissed, Reference: f.StorageKey, Detail: detail}); err != nil {
		r.Log.Error().Err(err).Msg("record exception")
	}
	r.ItemFailed(f.StorageKey, errors.New(detail))
	r.Log.Error().Str("key", f.StorageKey).Str("remote", ft.RemoteName).Time("cutoff", deadline).Msg("cutoff missed: file held, not sent")
}
