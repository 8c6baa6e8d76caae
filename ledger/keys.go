package ledger

import (
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

// ErrRotationUnfinished is returned to every command but rotate-key while a
// key rotation is begun and not finished: the ledger holds numbers under two
// keys.
var ErrRotationUnfinished = errors.New("a key rotation of the ledger is not finished")

// encryptedColumns are the columns that hold sealed account numbers, in the
// order rotate-key re-encrypts them. A new encrypted column must be listed
// here (TestEncryptedColumnsListed reads the migrations to make sure).
var encryptedColumns = []struct {
	table, column string
	intID         bool
}{
	{"bank_accounts", "number_enc", false},
	{"payments", "number_enc", true},
}

// keyRow is a row of ledger_keys.
type keyRow struct {
	version     int
	check, mac  []byte
	state       string
	cursorTable string
	cursorID    string
	rowsDone    int64
}

// readKeys returns the current key's row and the row of a rotation not yet
// finished; either may be nil.
// lock, on PostgreSQL, locks the rows read until the transaction ends
// (" FOR SHARE", " FOR UPDATE"); SQLite's one writer needs none.
func readKeys(ctx context.Context, q querier, lock string) (cur, rot *keyRow, err error) {
	rows, err := q.QueryContext(ctx, `SELECT version, check_value, mac_key_enc, state, cursor_table, cursor_id, rows_done
		FROM ledger_keys WHERE state IN ('current', 'rotating')`+lock)
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		k := &keyRow{}
		if err := rows.Scan(&k.version, &k.check, &k.mac, &k.state, &k.cursorTable, &k.cursorID, &k.rowsDone); err != nil {
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
func (s *Store) CheckKey(ctx context.Context) error {
	if s.cipher == nil {
		return nil
	}
	var c *Cipher
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		cur, rot, err := readKeys(ctx, tx, "")
		if err != nil {
			return err
		}
		if rot != nil {
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
		c, err = s.cipher.withWrappedMACKey(cur.mac)
		return err
	})
	if err != nil {
		return err
	}
	s.cipher = c
	return nil
}

// recordKey records the store's key as the ledger's first, after checking
// that the numbers the ledger already holds decrypt with it, and returns the
// current row (another process's, if one recorded its key first).
func (s *Store) recordKey(ctx context.Context, tx *sql.Tx) (*keyRow, error) {
	for _, ec := range encryptedColumns {
		order := "id"
		if ec.intID {
			// The newest snapshot: the one written last, if any was
			// written with another key.
			order = "id DESC"
		}
		var enc []byte
		err := tx.QueryRowContext(ctx, `SELECT `+ec.column+` FROM `+ec.table+` WHERE `+ec.column+` IS NOT NULL ORDER BY `+order+` LIMIT 1`).Scan(&enc)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("check encryption key: %w", err)
		}
		if _, err := s.cipher.Open(enc); err != nil {
			return nil, ErrWrongKey
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_keys (version, check_value, mac_key_enc, state, created_at)
		VALUES (1, $1, $2, 'current', $3) ON CONFLICT DO NOTHING`,
		s.cipher.check, s.cipher.wrapMACKey(s.cipher.macKey), now()); err != nil {
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
	return fmt.Errorf("run %d (%s %.10s) is running: stop drafter serve and let runs finish before rotating the key (a run whose process died counts as running until its heartbeat is older than DRAFTER_STALE_AFTER)", id, job, date)
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
	if cur != nil && !s.cipher.checks(cur.check) {
		return ErrWrongKey
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
// nothing. MACs stay as they are (see the top of this file).
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
	var macKey []byte
	var rot *keyRow
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if s.dialect.name == "postgres" {
			// Waits for imports under way (verifyKey) to commit.
			lock = " FOR UPDATE"
		}
		cur, r, err := readKeys(ctx, tx, lock)
		if err != nil {
			return err
		}
		if cur == nil && r == nil {
			if cur, err = s.recordKey(ctx, tx); err != nil {
				return err
			}
		}
		if r == nil && to.checks(cur.check) {
			p.AlreadyCurrent, p.Finished, p.Version = true, true, cur.version
			return nil
		}
		if !s.cipher.checks(cur.check) {
			return ErrWrongKey
		}
		from, err := s.cipher.withWrappedMACKey(cur.mac)
		if err != nil {
			return err
		}
		macKey = from.macKey
		if err := liveRun(ctx, tx, o.StaleAfter); err != nil {
			return err
		}
		if r != nil {
			if !to.checks(r.check) {
				return fmt.Errorf("a rotation to another new key (version %d) is not finished: run rotate-key again with that key as the new key", r.version)
			}
			rot, p.Resumed = r, true
			return nil
		}
		rot = &keyRow{version: cur.version + 1, check: to.check, mac: to.wrapMACKey(macKey), state: "rotating", cursorTable: encryptedColumns[0].table}
		_, err = tx.ExecContext(ctx, `INSERT INTO ledger_keys (version, check_value, mac_key_enc, state, cursor_table, cursor_id, created_at)
			VALUES ($1, $2, $3, 'rotating', $4, '', $5)`, rot.version, rot.check, rot.mac, rot.cursorTable, now())
		return err
	})
	if err != nil {
		return p, fmt.Errorf("rotate key: begin: %w", err)
	}
	if p.AlreadyCurrent {
		return p, nil
	}
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
			n, err := s.rotateBatch(ctx, to, rot, i, batch, next)
			if err != nil {
				return p, err
			}
			p.Done += int64(n)
			p.Step = ec.table
			after(p)
		}
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		t := now()
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_keys SET state = 'retired', completed_at = $1 WHERE state = 'current'`, t); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE ledger_keys SET state = 'current', completed_at = $1, cursor_table = '', cursor_id = '' WHERE state = 'rotating'`, t)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("rotate key: finish: %w", err)
	}
	c := *to
	c.macKey = macKey
	s.cipher = &c
	p.Step, p.Finished = "finish", true
	after(p)
	return p, nil
}

// rotateBatch re-encrypts the next batch rows of encryptedColumns[i] after
// the rotation's cursor and moves the cursor past them (to next, the
// following table, when the table is done), in one transaction.
func (s *Store) rotateBatch(ctx context.Context, to *Cipher, rot *keyRow, i, batch int, next string) (int, error) {
	ec := encryptedColumns[i]
	var after any = rot.cursorID
	if ec.intID {
		id := int64(0)
		if rot.cursorID != "" {
			v, err := strconv.ParseInt(rot.cursorID, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rotate key: cursor %q of %s: %w", rot.cursorID, ec.table, err)
			}
			id = v
		}
		after = id
	}
	var n int
	var cursor string
	table := ec.table
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, `+ec.column+` FROM `+ec.table+` WHERE id > $1 AND `+ec.column+` IS NOT NULL ORDER BY id LIMIT `+strconv.Itoa(batch), after)
		if err != nil {
			return err
		}
		type row struct {
			id  any
			enc []byte
		}
		var todo []row
		for rows.Next() {
			var r row
			var sid string
			var iid int64
			if ec.intID {
				err = rows.Scan(&iid, &r.enc)
				r.id, sid = iid, strconv.FormatInt(iid, 10)
			} else {
				err = rows.Scan(&sid, &r.enc)
				r.id = sid
			}
			if err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
			cursor = sid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE `+ec.table+` SET `+ec.column+` = $1 WHERE id = $2`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, r := range todo {
			plain, err := s.cipher.Open(r.enc)
			if err != nil {
				if _, err2 := to.Open(r.enc); err2 == nil {
					continue // already under the new key
				}
				return fmt.Errorf("%s id %v: the number decrypts with neither the current key nor the new one: it was written with a third key, and no key can debit it; correct that row (re-import the bank account, or ask for help with a payment's snapshot) and run rotate-key again", ec.table, r.id)
			}
			if _, err := upd.ExecContext(ctx, to.Seal(plain), r.id); err != nil {
				return err
			}
		}
		n = len(todo)
		if n < batch {
			table, cursor = next, ""
		}
		_, err = tx.ExecContext(ctx, `UPDATE ledger_keys SET cursor_table = $1, cursor_id = $2, rows_done = rows_done + $3 WHERE state = 'rotating'`, table, cursor, n)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rotate key: re-encrypt %s: %w", ec.table, err)
	}
	rot.cursorTable, rot.cursorID, rot.rowsDone = table, cursor, rot.rowsDone+int64(n)
	return n, nil
}

// MAC returns the keyed MAC of an account number, as bank_accounts.number_mac
// stores it.
func (s *Store) MAC(number string) string { return s.cipher.MAC(number) }
