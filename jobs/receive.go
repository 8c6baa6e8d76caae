package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// Receive is the receive job: it brings each file in the bank's SFTP inbox
// (returns, NOCs, acknowledgements) into storage under InboundPrefix, where
// the returns job applies it, and deletes it on the bank's server only
// once the stored copy is durable and verified against the sha256 of the
// bytes downloaded. A crash between the store and the delete downloads the
// file again next time: storing the same bytes again changes nothing, and
// the returns job applies a file's bytes once (by sha256), so nothing is
// applied twice.
type Receive struct{}

// Name implements Job.
func (Receive) Name() string { return "receive" }

// Receive outcomes of one file.
const (
	ReceiveStored    = "stored"  // stored under InboundPrefix, removed from the bank
	ReceiveKnown     = "known"   // its bytes were applied before; removed from the bank
	ReceiveFailed    = "failed"  // left on the bank's server for the next run
	ReceiveDryRun    = "dry-run" // listed only
	receiveMaxLength = 100 << 20 // a bank file larger than this is not a NACHA return file
)

// ReceiveSummary is what a receive run did.
type ReceiveSummary struct {
	Bank  string        `json:"bank,omitempty"`
	Files []FileReceipt `json:"files"`
}

// AckPrefix is where receive keeps what the bank sends that is not a NACHA
// file: acknowledgement and reject files, and anything it cannot read,
// kept as is for a person. The returns job does not look there.
const AckPrefix = "ach/acks/"

// Kinds of file from the bank.
const (
	BankFileNACHA   = "nacha"   // returns, NOCs: under InboundPrefix for the returns job
	BankFileAck     = "ack"     // an acknowledgement file drafter reads (bank.ParseAck)
	BankFileUnknown = "unknown" // kept under AckPrefix as is; exception bank_file_unknown
)

// Exceptions raised for the bank's acknowledgements.
const (
	ExceptionBankReject      = "bank_reject"       // the bank rejected a file drafter sent
	ExceptionBankFileUnknown = "bank_file_unknown" // a file from the bank drafter cannot read
)

// FileReceipt is one file from the bank's inbox.
type FileReceipt struct {
	RemoteName string `json:"remote_name"`
	// Kind is what the file is: BankFileNACHA, BankFileAck, BankFileUnknown.
	Kind string `json:"kind,omitempty"`
	// Acks are the lines of an acknowledgement file.
	Acks    []bank.Ack `json:"acks,omitempty"`
	Key     string     `json:"key,omitempty"`
	SHA256  string     `json:"sha256,omitempty"`
	Bytes   int64      `json:"bytes"`
	Outcome string     `json:"outcome"`
	Error   string     `json:"error,omitempty"`
}

// Run implements Job.
func (Receive) Run(ctx context.Context, r *Run) (any, error) {
	sum := &ReceiveSummary{Files: []FileReceipt{}}
	b := r.Env.Config.Bank
	if b == nil {
		r.Log.Info().Msg("no bank configured (DRAFTER_BANK_URL): nothing to receive")
		return sum, nil
	}
	sum.Bank = b.String()
	conn, err := bank.Dial(ctx, *b)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	listing, err := conn.List(b.Inbox)
	if err != nil {
		return sum, err
	}
	for _, rf := range listing {
		if strings.HasPrefix(rf.Name, ".") {
			// Hidden: a file the bank is still writing, by convention.
			continue
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if err := r.CheckCancel(ctx); err != nil {
			return sum, err
		}
		r.Selected(1)
		fr := FileReceipt{RemoteName: rf.Name, Bytes: rf.Size}
		if r.DryRun {
			fr.Outcome = ReceiveDryRun
			sum.Files = append(sum.Files, fr)
			r.Done(1)
			continue
		}
		if err := receiveFile(ctx, r, conn, path.Join(b.Inbox, rf.Name), &fr); err != nil {
			fr.Outcome, fr.Error = ReceiveFailed, err.Error()
			r.ItemFailed(rf.Name, err)
		} else {
			r.Done(1)
		}
		sum.Files = append(sum.Files, fr)
	}
	return sum, nil
}

// receiveFile downloads one file, stores it (durably, verified) and then
// removes it from the bank's server.
func receiveFile(ctx context.Context, r *Run, conn *bank.Conn, remotePath string, fr *FileReceipt) error {
	if fr.Bytes > receiveMaxLength {
		return fmt.Errorf("%s has %d bytes, more than a bank's return file; left on the server for a person", remotePath, fr.Bytes)
	}
	data, err := conn.Read(remotePath)
	if err != nil {
		return err
	}
	name := path.Base(remotePath)
	if b := r.Env.Config.Bank; b.PGP != nil && b.PGP.Own != nil {
		// Decrypted and verified before anything is kept: a file not
		// signed by the bank stays on its server for a person.
		plain, err := b.PGP.Open(data, name)
		if err != nil {
			ex := ledger.Exception{Kind: "inbound_pgp_refused", Reference: remotePath,
				Detail: fmt.Sprintf("%s from the bank was not stored: %v. It stays on the bank's server; ask the bank, and check DRAFTER_BANK_PGP_PUBLIC_KEY is its current key", remotePath, err)}
			if _, xerr := r.Store.RaiseException(ctx, ex); xerr != nil {
				r.Log.Error().Err(xerr).Msg("record exception")
			}
			return err
		}
		data = plain
		for _, ext := range []string{".pgp", ".gpg", ".asc"} {
			if n := strings.TrimSuffix(name, ext); n != name && n != "" {
				name = n
				break
			}
		}
	}
	sum := sha256.Sum256(data)
	fr.SHA256, fr.Bytes = hex.EncodeToString(sum[:]), int64(len(data))
	log := r.Log.With().Str("remote", remotePath).Str("sha256", fr.SHA256).Logger()
	prev, err := r.Store.InboundFileBySHA(ctx, fr.SHA256)
	switch {
	case err == nil:
		// Applied (or rejected) before: a download again after a crash
		// before the delete, or the bank sending the same file twice.
		fr.Outcome, fr.Key = ReceiveKnown, prev.StorageKey
		log.Info().Int64("inbound_file", prev.ID).Msg("file from the bank already known; removing it there")
	case !errors.Is(err, ledger.ErrNotFound):
		return err
	default:
		prefix := InboundPrefix
		fr.Kind = BankFileNACHA
		if !bank.LooksLikeNACHA(name, data) {
			prefix, fr.Kind = AckPrefix, BankFileUnknown
			if acks, ok := bank.ParseAck(data); ok {
				fr.Kind, fr.Acks = BankFileAck, acks
			}
		}
		key, err := storeInbound(ctx, r, prefix, name, data, fr.SHA256)
		if err != nil {
			return err
		}
		fr.Outcome, fr.Key = ReceiveStored, key
		r.Checkpoint("inbound file stored")
		if fr.Kind != BankFileNACHA {
			if err := flagAck(ctx, r, fr); err != nil {
				return err
			}
		}
		// Delete on the bank's side only what storage verifiably holds.
		obj, err := r.Env.Docs.Stat(ctx, key)
		if err != nil {
			return fmt.Errorf("verify stored %s: %w", key, err)
		}
		if obj.SHA256 != fr.SHA256 || obj.Size != fr.Bytes {
			return fmt.Errorf("stored %s has sha256 %s and %d bytes, not the %s and %d downloaded: left on the bank's server", key, obj.SHA256, obj.Size, fr.SHA256, fr.Bytes)
		}
		log.Info().Str("key", key).Int64("bytes", fr.Bytes).Msg("file from the bank stored")
	}
	if err := conn.Remove(remotePath); err != nil {
		return err
	}
	r.Checkpoint("bank file removed")
	return nil
}

// storeInbound stores a file from the bank under InboundPrefix with its
// name; if a different file already has the name (banks reuse names such as
// RETURNS.ACH), under the name with a short sha256 added.
func storeInbound(ctx context.Context, r *Run, prefix, name string, data []byte, sha string) (string, error) {
	name = printable(strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' {
			return '_'
		}
		return c
	}, name), 150)
	opts := storage.PutOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"received-as": name,
		"business-date": r.Date.String(), "source": "bank-sftp"}}
	key := prefix + name
	var err error
	// A file of the name processed before holds other bytes: the returns
	// job could not move this one beside it.
	if obj, serr := r.Env.Docs.Stat(ctx, storage.ProcessedKey(key)); serr == nil && obj.SHA256 != sha {
		err = storage.ErrConflict
	} else {
		_, err = r.Env.Docs.Put(ctx, key, data, opts)
	}
	if errors.Is(err, storage.ErrConflict) {
		ext := path.Ext(name)
		key = prefix + strings.TrimSuffix(name, ext) + "-" + sha[:12] + ext
		_, err = r.Env.Docs.Put(ctx, key, data, opts)
	}
	if err != nil {
		return "", fmt.Errorf("store %s from the bank: %w", name, err)
	}
	return key, nil
}

// flagAck logs what an acknowledgement file says and raises an exception
// for each rejection, or one for a file drafter cannot read (kept as is
// under AckPrefix). An exception is raised once per file and line, so a
// file downloaded again after a crash raises nothing new.
func flagAck(ctx context.Context, r *Run, fr *FileReceipt) error {
	log := r.Log.With().Str("remote", fr.RemoteName).Str("key", fr.Key).Logger()
	if fr.Kind == BankFileUnknown {
		log.Warn().Int64("bytes", fr.Bytes).Msg("file from the bank is neither a NACHA file nor an acknowledgement drafter reads: kept as is for a person")
		_, err := r.Store.RaiseException(ctx, ledger.Exception{Kind: ExceptionBankFileUnknown, Reference: fr.Key,
			Detail: fmt.Sprintf("the bank sent %s (%d bytes, sha256 %s): neither a NACHA file nor an acknowledgement drafter reads. It is kept as is at %s; "+
				"read it (`drafter storage get %s`), act on what it says (a rejected file? ask the bank), then resolve this exception with what you did",
				fr.RemoteName, fr.Bytes, fr.SHA256, fr.Key, fr.Key)})
		return err
	}
	for _, a := range fr.Acks {
		if a.Accepted {
			log.Info().Str("file", a.File).Str("detail", a.Detail).Msg("the bank acknowledged a file")
			continue
		}
		log.Error().Str("file", a.File).Str("detail", a.Detail).Msg("the bank REJECTED a file")
		if _, err := r.Store.RaiseException(ctx, ledger.Exception{Kind: ExceptionBankReject, Reference: fmt.Sprintf("%s:%d", fr.Key, a.Line),
			Detail: fmt.Sprintf("the bank rejected %s (%s, line %d of %s): %s. Its debits will not settle: find out why with the bank; "+
				"once it is corrected, send it again with `drafter rerun RUN --resend KEY --reason ...` of the day's transmit run, then resolve this exception",
				a.File, fr.RemoteName, a.Line, fr.Key, printable(a.Detail, 300))}); err != nil {
			return err
		}
	}
	return nil
}
