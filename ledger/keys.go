package ledger

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The ledger remembers which encryption key it is used with (ledger_keys,
// migration 0020), so that a command started with another key stops before
// it writes a number no other command can read.
//
// The key check value is recorded the first time a key opens the ledger
// (CheckKey): at once for a new ledger; for a ledger made before drafter
// kept one, only after the first stored number of each encrypted column
// decrypts with the key. From then on a key whose check value differs is
// refused, in constant time, before any data is read or written.
//
// The same row keeps the ledger's MAC key sealed under the master key. The
// MAC of an account number is how drafter matches numbers without
// decrypting them: bank_accounts.number_mac, the NOC marker
// replaced_details built from it, and the source key of every prenote
// payment (bank account id and a MAC prefix). A rotation keeps the MAC key
// and only seals it again under the new key: rewriting the MACs would give
// each bank account still waiting for its prenote a second prenote, and the
// NOC markers cannot be recomputed (they are MACs of numbers no longer
// stored). The cost: a MAC key that leaked with an old master key stays
// valid after the rotation.

// ErrWrongKey is returned when the key opening the ledger is not the key the
// ledger was created with (or rotated to).
var ErrWrongKey = errors.New("the ledger was created with another encryption key")

// ErrKeyChanged is returned to a process whose store was opened before the
// ledger's key version changed under it: a rotation to the same key, or
// the binding of the ledger's numbers to their rows, finished meanwhile.
var ErrKeyChanged = errors.New("the ledger's key version changed since this process opened it (a key rotation or the binding of numbers to their rows finished): start it again")

// errRunLive is returned by RotateKey when a run is working.
var errRunLive = errors.New("a run is running")

// ErrRotationUnfinished is returned to every command but rotate-key while a
// key rotation is begun and not finished: the ledger holds numbers under two
// keys.
var ErrRotationUnfinished = errors.New("a key rotation of the ledger is not finished")

// encryptedColumns are the columns that hold sealed account numbers, in the
// order rotate-key re-encrypts them. A new encrypted column must be listed
// here (TestEncryptedColumnsListed reads the migrations to make sure).
var encryptedColumns = []encryptedColumn{
	{table: "bank_accounts", column: "number_enc"},
	{table: "payments", column: "number_enc", intID: true},
	// An originations record's number is bound to its payment, as the
	// payment's own snapshot is (migration 0039).
	{table: "originations", column: "number_enc", intID: true, idColumn: "payment_id", boundTo: "payments"},
}

// encryptedColumn is a column of sealed account numbers.
type encryptedColumn struct {
	table, column string
	// intID: the row's key is an integer (else text).
	intID bool
	// idColumn is the row's key column ("" for id), and boundTo the table
	// its numbers are bound to ("" for table): see rowOf.
	idColumn, boundTo string
}

// id is the column of the row's key.
func (ec encryptedColumn) id() string { return cmp.Or(ec.idColumn, "id") }

// row is the sealedRow of the row whose key is id.
func (ec encryptedColumn) row(id string) sealedRow { return rowOf(cmp.Or(ec.boundTo, ec.table), id) }

// keyRow is a row of ledger_keys.
type keyRow struct {
	version     int
	check, mac  []byte
	state       string
	cursorTable string
	cursorID    string
	rowsDone    int64
	// binds: the version seals numbers bound to their rows (migration
	// 0029); every version rotate-key or CheckKey writes does.
	binds bool
}

// readKeys returns the current key's row and the row of a rotation not yet
// finished; either may be nil.
// lock, on PostgreSQL, locks the rows read until the transaction ends
// (" FOR SHARE", " FOR UPDATE"); SQLite's one writer needs none.
func readKeys(ctx context.Context, q querier, lock string) (cur, rot *keyRow, err error) {
	rows, err := q.QueryContext(ctx, `SELECT version, check_value, mac_key_enc, state, cursor_table, cursor_id, rows_done, binds_rows
		FROM ledger_keys WHERE state IN ('current', 'rotating')`+lock)
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		k := &keyRow{}
		if err := rows.Scan(&k.version, &k.check, &k.mac, &k.state, &k.cursorTable, &k.cursorID, &k.rowsDone, &k.binds); err != nil {
			return nil, nil, fmt.Errorf("read ledger keys: %w", err)
		}
		if k.state == "current" {
			cur = k
		} else {
			rot = k
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read ledger keys: %w", err)
	}
	return cur, rot, nil
}

func unfinished(rot *keyRow) error {
	return fmt.Errorf("%w (to key version %d, %d numbers re-encrypted so far)", ErrRotationUnfinished, rot.version, rot.rowsDone)
}

// CheckKey compares the store's key with the ledger's key check value. It
// refuses another key (ErrWrongKey) and a ledger whose key rotation is not
// finished (ErrRotationUnfinished), and records the key of a ledger that has
// none yet (see the top of this file). A store opened without a key has
// nothing to check. Every command that opens the ledger with a key calls it
// before anything else.
//
// On a ledger whose numbers are not bound to their rows yet (written
// before migration 0029), it binds them first: it re-seals every number
// under the same key with its row as associated data, as a rotation to a
// new key version would (RotateKey), and goes on with a binding begun and
// killed earlier. While a run is working the binding waits for a later
// start, and the store seals and opens numbers the old way
// (NumbersUnbound).
func (s *Store) CheckKey(ctx context.Context) error {
	if s.cipher == nil {
		return nil
	}
	cur, rot, err := s.checkKey(ctx)
	if err != nil {
		return err
	}
	if rot != nil || !cur.binds {
		_, err := s.RotateKey(ctx, s.cipher, s.binding)
		switch {
		case errors.Is(err, errRunLive) && rot == nil:
			// Bound at a later start; until then the old format.
		case err != nil:
			return fmt.Errorf("bind the sealed account numbers to their rows: %w", err)
		}
		if cur, rot, err = s.checkKey(ctx); err != nil {
			return err
		}
		if rot != nil {
			return unfinished(rot)
		}
	}
	c, err := s.cipher.withWrappedMACKey(cur.mac)
	if err != nil {
		return err
	}
	c.unbound, c.version = !cur.binds, cur.version
	s.cipher = c
	return nil
}

// checkKey reads the ledger's keys, recording the store's key if there is
// none, and refuses another key and a rotation to another key that is not
// finished. rot, when not nil, is a binding of this key under way.
func (s *Store) checkKey(ctx context.Context) (cur, rot *keyRow, err error) {
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if cur, rot, err = readKeys(ctx, tx, ""); err != nil {
			return err
		}
		if rot != nil && (cur == nil || !bytes.Equal(rot.check, cur.check)) {
			return unfinished(rot)
		}
		if cur == nil {
			if cur, err = s.recordKey(ctx, tx); err != nil {
				return err
			}
		}
		if !s.cipher.checks(cur.check) {
			return ErrWrongKey
		}
		return nil
	})
	return cur, rot, err
}

// OnBinding sets the options of CheckKey's binding of an old ledger's
// numbers (migration 0029): its batch, what counts as a live run, and what
// to call after every write it commits.
func (s *Store) OnBinding(o RotateOptions) { s.binding = o }

// NumbersUnbound reports whether the store seals numbers the way drafter
// did before migration 0029 (bound to no row): after CheckKey, on a ledger
// whose binding waits for a time when no run is working.
func (s *Store) NumbersUnbound() bool { return s.cipher != nil && s.cipher.unbound }

// recordKey records the store's key as the ledger's first, after checking
// that the numbers the ledger already holds decrypt with it, and returns the
// current row (another process's, if one recorded its key first).
func (s *Store) recordKey(ctx context.Context, tx *sql.Tx) (*keyRow, error) {
	binds := true
	for _, ec := range encryptedColumns {
		order := ec.id()
		if ec.intID {
			// The newest snapshot: the one written last, if any was
			// written with another key.
			order += " DESC"
		}
		var id string
		var enc []byte
		err := tx.QueryRowContext(ctx, `SELECT CAST(`+ec.id()+` AS TEXT), `+ec.column+` FROM `+ec.table+` WHERE `+ec.column+` IS NOT NULL ORDER BY `+order+` LIMIT 1`).Scan(&id, &enc)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("check encryption key: %w", err)
		}
		row := ec.row(id)
		if _, err := s.cipher.bound().openRow(enc, row); err == nil {
			continue
		}
		// Written before migration 0029: CheckKey binds them next.
		if _, err := s.cipher.Unbound().openRow(enc, row); err != nil {
			return nil, ErrWrongKey
		}
		binds = false
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_keys (version, check_value, mac_key_enc, state, created_at, binds_rows)
		VALUES (1, $1, $2, 'current', $3, $4) ON CONFLICT DO NOTHING`,
		s.cipher.check, s.cipher.wrapMACKey(s.cipher.macKey), now(), binds); err != nil {
		return nil, fmt.Errorf("record encryption key check value: %w", err)
	}
	cur, rot, err := readKeys(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	if rot != nil {
		return nil, unfinished(rot)
	}
	if cur == nil {
		return nil, errors.New("record encryption key check value: no current key after recording one")
	}
	return cur, nil
}

// KeyRotation is the progress of a key rotation.
type KeyRotation struct {
	// Version is the new key's version in ledger_keys.
	Version int
	// Step is what was just committed: "begin", a table name, or "finish".
	Step string
	// Done counts the numbers re-encrypted so far, over every run of the
	// rotation; Total the numbers stored when this run began.
	Done, Total int64
	// Resumed is true when this run continued a rotation begun earlier.
	Resumed bool
	// Finished is true once the new key is the ledger's key.
	Finished bool
	// AlreadyCurrent is true when the ledger already used the new key:
	// nothing was done.
	AlreadyCurrent bool
}

// RotateOptions are the settings of a key rotation.
type RotateOptions struct {
	// Batch is how many numbers one transaction re-encrypts (default 1000).
	Batch int
	// StaleAfter: a running run whose heartbeat is younger is alive, and
	// the rotation does not begin or go on beside it; zero counts every
	// running run as alive.
	StaleAfter time.Duration
	// After is called after every committed write: the beginning, each
	// batch, the end.
	After func(KeyRotation)
}

// liveRun refuses a rotation while a run is working: a process that began
// before the rotation holds the old key and would seal numbers with it.
// (Runs begun later are refused by verifyKey.)
func liveRun(ctx context.Context, tx *sql.Tx, staleAfter time.Duration) error {
	q := `SELECT id, job, business_date FROM runs WHERE status = 'running'`
	var args []any
	if staleAfter > 0 {
		q += ` AND heartbeat_at >= $1`
		args = append(args, now().Add(-staleAfter))
	}
	var id int64
	var job, date string
	err := tx.QueryRowContext(ctx, q+` ORDER BY id LIMIT 1`, args...).Scan(&id, &job, &date)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for running runs: %w", err)
	}
	return fmt.Errorf("%w: run %d (%s %.10s): stop drafter serve and let runs finish before rotating the key (a run whose process died counts as running until its heartbeat is older than DRAFTER_STALE_AFTER)", errRunLive, id, job, date)
}

// verifyKey is CheckKey without writing: it refuses a store whose key is no
// longer the ledger's (rotated away under a process that kept running) or
// a ledger in the middle of a rotation. Beginning, resuming and claiming
// work call it, so that a long-running drafter serve started with the old
// key never seals a number with it. A ledger with no key recorded passes.
//
// With share set (in a transaction that writes sealed numbers, such as an
// import), PostgreSQL keeps the key row locked until the transaction ends,
// so a rotation begins only after it commits and then re-encrypts its rows.
func (s *Store) verifyKey(ctx context.Context, q querier, share bool) error {
	if s.cipher == nil {
		return nil
	}
	lock := ""
	if share && s.dialect.name == "postgres" {
		lock = " FOR SHARE"
	}
	cur, rot, err := readKeys(ctx, q, lock)
	if err != nil {
		return err
	}
	if rot != nil {
		return unfinished(rot)
	}
	if cur == nil {
		return nil
	}
	if !s.cipher.checks(cur.check) {
		return ErrWrongKey
	}
	// The same key in another version: a binding (or a rotation to the
	// same key) finished after this store opened the ledger.
	if (s.cipher.version != 0 && cur.version != s.cipher.version) || cur.binds == s.cipher.unbound {
		return ErrKeyChanged
	}
	return nil
}

// RotateKey re-encrypts every stored account number from the store's key
// (the ledger's current key) to the key of to, o.Batch rows a transaction,
// calling o.After once every write commits. Each batch commits its rows with
// the rotation's cursor, so a run killed at any point is resumed by running
// RotateKey again with the same two keys; until it finishes, CheckKey
// refuses both keys. The last step makes the new key current; from then on
// the store uses to (with the ledger's MAC key) and the old key opens
// nothing. MACs stay as they are (see the top of this file). The new
// version seals every number bound to its row (migration 0029); to the
// same key, RotateKey is the binding of a ledger whose numbers are not
// (CheckKey runs it), and does nothing on a ledger whose numbers are.
// Several processes may resume the same rotation at once: each batch
// takes the cursor as the last one committed it.
func (s *Store) RotateKey(ctx context.Context, to *Cipher, o RotateOptions) (KeyRotation, error) {
	var p KeyRotation
	if s.cipher == nil || to == nil {
		return p, errors.New("rotate key: both the current and the new key are needed")
	}
	batch, after := o.Batch, o.After
	if batch <= 0 {
		batch = 1000
	}
	if after == nil {
		after = func(KeyRotation) {}
	}
	var from *Cipher
	var rot *keyRow
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		cur, r, err := readKeys(ctx, tx, s.forUpdate())
		if err != nil {
			return err
		}
		if cur == nil && r == nil {
			if cur, err = s.recordKey(ctx, tx); err != nil {
				return err
			}
		}
		if r == nil && to.checks(cur.check) && cur.binds {
			p.AlreadyCurrent, p.Finished, p.Version = true, true, cur.version
			return nil
		}
		if !s.cipher.checks(cur.check) {
			return ErrWrongKey
		}
		if from, err = s.cipher.withWrappedMACKey(cur.mac); err != nil {
			return err
		}
		from.unbound = !cur.binds
		if err := liveRun(ctx, tx, o.StaleAfter); err != nil {
			return err
		}
		if r != nil {
			if !to.checks(r.check) {
				if bytes.Equal(r.check, cur.check) {
					return fmt.Errorf("the binding of the ledger's numbers to their rows (version %d) is not finished: run any drafter command with the current key (it goes on where it stopped), then rotate-key", r.version)
				}
				return fmt.Errorf("a rotation to another new key (version %d) is not finished: run rotate-key again with that key as the new key", r.version)
			}
			rot, p.Resumed = r, true
			return nil
		}
		rot = &keyRow{version: cur.version + 1, check: to.check, mac: to.wrapMACKey(from.macKey), state: "rotating",
			cursorTable: encryptedColumns[0].table, binds: true}
		_, err = tx.ExecContext(ctx, `INSERT INTO ledger_keys (version, check_value, mac_key_enc, state, cursor_table, cursor_id, created_at, binds_rows)
			VALUES ($1, $2, $3, 'rotating', $4, '', $5, $6)`, rot.version, rot.check, rot.mac, rot.cursorTable, now(), rot.binds)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("rotate key: begin: %w", err)
	}
	if p.AlreadyCurrent {
		return p, nil
	}
	// A rotation begun before migration 0029 seals the old way to its end;
	// CheckKey binds its numbers after.
	into := *to
	into.unbound = !rot.binds
	p.Version, p.Done, p.Step = rot.version, rot.rowsDone, "begin"
	for _, ec := range encryptedColumns {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+ec.table+` WHERE `+ec.column+` IS NOT NULL`).Scan(&n); err != nil {
			return p, fmt.Errorf("rotate key: count %s: %w", ec.table, err)
		}
		p.Total += n
	}
	if !p.Resumed {
		after(p)
	}
	for i, ec := range encryptedColumns {
		// The cursor moves through the tables in this order: a table it
		// has passed is done, and "done" follows the last one.
		for rot.cursorTable == ec.table {
			next := "done"
			if i+1 < len(encryptedColumns) {
				next = encryptedColumns[i+1].table
			}
			n, err := s.rotateBatch(ctx, from, &into, rot, i, batch, next)
			if err != nil {
				return p, err
			}
			p.Done += int64(n)
			p.Step = ec.table
			after(p)
		}
	}
	finished := false
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM ledger_keys WHERE state = 'rotating'`+s.forUpdate()).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // finished by another process
		}
		if err != nil {
			return err
		}
		if v != rot.version {
			return fmt.Errorf("another rotation (version %d) began meanwhile", v)
		}
		t := now()
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_keys SET state = 'retired', completed_at = $1 WHERE state = 'current'`, t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE ledger_keys SET state = 'current', completed_at = $1, cursor_table = '', cursor_id = '' WHERE state = 'rotating'`, t)
		finished = err == nil
		return err
	})
	if err != nil {
		return p, fmt.Errorf("rotate key: finish: %w", err)
	}
	c := into
	c.macKey, c.version = from.macKey, rot.version
	s.cipher = &c
	p.Step, p.Finished = "finish", true
	if finished {
		after(p)
	}
	return p, nil
}

// forUpdate locks the rows a PostgreSQL query reads until the transaction
// ends; SQLite's one writer needs no lock.
func (s *Store) forUpdate() string {
	if s.dialect.name == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

// rotateBatch re-encrypts, from from to to, the next batch rows of
// encryptedColumns[i] after the rotation's cursor and moves the cursor past
// them (to next, the following table, when the table is done), in one
// transaction. The cursor is read, locked, in that transaction: another
// process resuming the same rotation waits for the batch and goes on
// after it.
func (s *Store) rotateBatch(ctx context.Context, from, to *Cipher, rot *keyRow, i, batch int, next string) (int, error) {
	ec := encryptedColumns[i]
	var n int
	table, cursor := ec.table, ""
	var rowsDone int64
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version, cursor_table, cursor_id, rows_done FROM ledger_keys WHERE state = 'rotating'`+s.forUpdate()).
			Scan(&v, &table, &cursor, &rowsDone)
		if errors.Is(err, sql.ErrNoRows) {
			table, cursor = "done", "" // finished by another process
			return nil
		}
		if err != nil {
			return err
		}
		if v != rot.version {
			return fmt.Errorf("another rotation (version %d) began meanwhile", v)
		}
		if table != ec.table {
			return nil // another process finished this table
		}
		var after any = cursor
		if ec.intID {
			id := int64(0)
			if cursor != "" {
				v, err := strconv.ParseInt(cursor, 10, 64)
				if err != nil {
					return fmt.Errorf("cursor %q of %s: %w", cursor, ec.table, err)
				}
				id = v
			}
			after = id
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+ec.id()+`, `+ec.column+` FROM `+ec.table+` WHERE `+ec.id()+` > $1 AND `+ec.column+` IS NOT NULL ORDER BY `+ec.id()+` LIMIT `+strconv.Itoa(batch), after)
		if err != nil {
			return err
		}
		type row struct {
			id  any
			sid string
			enc []byte
		}
		var todo []row
		for rows.Next() {
			var r row
			var iid int64
			if ec.intID {
				err = rows.Scan(&iid, &r.enc)
				r.id, r.sid = iid, strconv.FormatInt(iid, 10)
			} else {
				err = rows.Scan(&r.sid, &r.enc)
				r.id = r.sid
			}
			if err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
			cursor = r.sid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE `+ec.table+` SET `+ec.column+` = $1 WHERE `+ec.id()+` = $2`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, r := range todo {
			sr := ec.row(r.sid)
			plain, err := from.openRow(r.enc, sr)
			if err != nil {
				if _, err2 := to.openRow(r.enc, sr); err2 == nil {
					continue // already under the new key
				}
				return fmt.Errorf("%s id %v: the number opens with neither the current key nor the new one for its row: it was written with a third key or copied from another row, and no key can debit it; correct that row (re-import the bank account, or ask for help with a payment's snapshot) and run again", ec.table, r.id)
			}
			if _, err := upd.ExecContext(ctx, to.sealRow(plain, sr), r.id); err != nil {
				return err
			}
		}
		n = len(todo)
		if n < batch {
			table, cursor = next, ""
		}
		rowsDone += int64(n)
		_, err = tx.ExecContext(ctx, `UPDATE ledger_keys SET cursor_table = $1, cursor_id = $2, rows_done = $3 WHERE state = 'rotating'`, table, cursor, rowsDone)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rotate key: re-encrypt %s: %w", ec.table, err)
	}
	rot.cursorTable, rot.cursorID, rot.rowsDone = table, cursor, rowsDone
	return n, nil
}

// MAC returns the keyed MAC of an account number, as bank_accounts.number_mac
// stores it.
func (s *Store) MAC(number string) string { return s.cipher.MAC(number) }
