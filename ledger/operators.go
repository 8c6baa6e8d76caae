package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Operator roles, each allowed what the one before it is and more.
const (
	RoleViewer   = "viewer"   // sees every page and endpoint
	RoleOperator = "operator" // and resumes, reruns, resolves, resends, retries
	RoleAdmin    = "admin"    // and manages operators
)

// Operator statuses.
const (
	OperatorActive   = "active"
	OperatorDisabled = "disabled"
)

// Operator is a named person who signs in to the console or calls the API.
type Operator struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
}

// RoleRank orders the roles: viewer 1, operator 2, admin 3, anything else 0.
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Can reports whether the operator's role is at least role.
func (o Operator) Can(role string) bool {
	return RoleRank(o.Role) >= RoleRank(role) && RoleRank(role) > 0
}

// Errors of the operator table that callers branch on.
var (
	ErrOperatorExists = errors.New("an operator of that name exists")
	// ErrBadToken: no active operator has the token.
	ErrBadToken = errors.New("unknown or disabled token")
)

var operatorName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckOperatorName refuses a name that is not 1 to 64 letters, digits,
// '.', '_', '@' or '-' (it is written into audit rows and logs).
func CheckOperatorName(name string) error {
	if !operatorName.MatchString(name) {
		return fmt.Errorf("operator name %q: want 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

// NewToken returns a fresh random token (32 bytes, 64 hex characters) and
// the SHA-256 the table keeps of it.
func NewToken() (token, digest string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	token = hex.EncodeToString(b)
	return token, TokenDigest(token)
}

// TokenDigest is the hex SHA-256 of a token: what the tables keep.
func TokenDigest(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

const operatorCols = `id, name, role, status, created_at, created_by, rotated_at, last_seen_at`

func scanOperator(row rowScanner) (Operator, error) {
	var o Operator
	var rotated, seen sql.NullTime
	if err := row.Scan(&o.ID, &o.Name, &o.Role, &o.Status, &o.CreatedAt, &o.CreatedBy, &rotated, &seen); err != nil {
		return o, err
	}
	if rotated.Valid {
		t := rotated.Time
		o.RotatedAt = &t
	}
	if seen.Valid {
		t := seen.Time
		o.LastSeenAt = &t
	}
	return o, nil
}

// AddOperator records a new operator and returns it with its token, which
// is shown once and never stored. by is the operator who added it.
func (s *Store) AddOperator(ctx context.Context, name, role, by string) (Operator, string, error) {
	if err := CheckOperatorName(name); err != nil {
		return Operator{}, "", err
	}
	if RoleRank(role) == 0 {
		return Operator{}, "", fmt.Errorf("role %q: want viewer, operator or admin", role)
	}
	token, digest := NewToken()
	var o Operator
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `INSERT INTO operators (name, role, token_sha256, status, created_at, created_by)
			VALUES ($1, $2, $3, 'active', $4, $5) RETURNING `+operatorCols, name, role, digest, now(), by)
		var err error
		if o, err = scanOperator(row); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("operator %q: %w", name, ErrOperatorExists)
			}
			return err
		}
		return audit(ctx, tx, by, "operator add", "operator "+name, "role "+role)
	})
	if err != nil {
		return Operator{}, "", fmt.Errorf("add operator: %w", err)
	}
	return o, token, nil
}

// Operators returns every operator by name.
func (s *Store) Operators(ctx context.Context) ([]Operator, error) {
	os, err := queryAll(ctx, s.q, scanOperator, `SELECT `+operatorCols+` FROM operators ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	return os, nil
}

// OperatorByName returns the operator of that name, or ErrNotFound.
func (s *Store) OperatorByName(ctx context.Context, name string) (Operator, error) {
	o, err := scanOperator(s.q.QueryRowContext(ctx, `SELECT `+operatorCols+` FROM operators WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("operator %q: %w", name, ErrNotFound)
	}
	return o, err
}

// OperatorByToken returns the active operator whose token this is, or
// ErrBadToken. It records when the operator was last seen (at most once a
// minute, so that reading pages does not write every time).
func (s *Store) OperatorByToken(ctx context.Context, token string) (Operator, error) {
	o, err := scanOperator(s.q.QueryRowContext(ctx, `SELECT `+operatorCols+` FROM operators
		WHERE token_sha256 = $1 AND status = 'active'`, TokenDigest(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrBadToken
	}
	if err != nil {
		return o, fmt.Errorf("operator by token: %w", err)
	}
	s.seen(ctx, &o)
	return o, nil
}

func (s *Store) seen(ctx context.Context, o *Operator) {
	t := now()
	if o.LastSeenAt != nil && t.Sub(*o.LastSeenAt) < time.Minute {
		return
	}
	// Best effort: a failed write of last_seen_at must not refuse a sign-in.
	_, _ = s.q.ExecContext(ctx, `UPDATE operators SET last_seen_at = $1 WHERE id = $2`, t, o.ID)
	o.LastSeenAt = &t
}

// SetOperatorStatus disables or enables an operator; disabling ends its
// console sessions. by is the operator who did it (audited).
func (s *Store) SetOperatorStatus(ctx context.Context, name, status, by string) error {
	if status != OperatorActive && status != OperatorDisabled {
		return fmt.Errorf("operator status %q: want active or disabled", status)
	}
	return s.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `UPDATE operators SET status = $1 WHERE name = $2 RETURNING id`, status, name).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("operator %q: %w", name, ErrNotFound)
			}
			return err
		}
		if status == OperatorDisabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE operator_id = $1`, id); err != nil {
				return err
			}
		}
		action := "operator disable"
		if status == OperatorActive {
			action = "operator enable"
		}
		return audit(ctx, tx, by, action, "operator "+name, "")
	})
}

// RotateOperator gives an operator a new token (returned once), ends its
// console sessions, and makes the old token worthless.
func (s *Store) RotateOperator(ctx context.Context, name, by string) (string, error) {
	token, digest := NewToken()
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `UPDATE operators SET token_sha256 = $1, rotated_at = $2 WHERE name = $3 RETURNING id`,
			digest, now(), name).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("operator %q: %w", name, ErrNotFound)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE operator_id = $1`, id); err != nil {
			return err
		}
		return audit(ctx, tx, by, "operator rotate", "operator "+name, "")
	})
	if err != nil {
		return "", fmt.Errorf("rotate operator: %w", err)
	}
	return token, nil
}

// Session is a signed-in console browser.
type Session struct {
	Operator Operator
	// CSRF is the token every form of the session carries.
	CSRF      string
	ExpiresAt time.Time
}

// BeginSession signs an operator in for at most ttl and returns the
// cookie's value (kept only as its SHA-256) and the session.
func (s *Store) BeginSession(ctx context.Context, o Operator, ttl time.Duration) (string, Session, error) {
	id, digest := NewToken()
	csrf, _ := NewToken()
	t := now()
	sess := Session{Operator: o, CSRF: csrf, ExpiresAt: t.Add(ttl)}
	if _, err := s.q.ExecContext(ctx, `INSERT INTO console_sessions (id_sha256, operator_id, csrf, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, digest, o.ID, csrf, t, sess.ExpiresAt); err != nil {
		return "", Session{}, fmt.Errorf("begin session: %w", err)
	}
	if err := s.Audit(ctx, o.Name, "sign in", "console", ""); err != nil {
		return "", Session{}, fmt.Errorf("begin session: %w", err)
	}
	return id, sess, nil
}

// ErrNoSession: the cookie names no live session (never was, signed out,
// expired, idle too long, or its operator was disabled or rotated).
var ErrNoSession = errors.New("no live session")

// SessionByID returns the live session of a cookie value, ending it when
// it has been idle longer than idle, and marks it seen.
func (s *Store) SessionByID(ctx context.Context, id string, idle time.Duration) (Session, error) {
	var sess Session
	var last time.Time
	digest := TokenDigest(id)
	row := s.q.QueryRowContext(ctx, `SELECT s.csrf, s.expires_at, s.last_seen_at, o.id, o.name, o.role, o.status, o.created_at, o.created_by, o.rotated_at, o.last_seen_at
		FROM console_sessions s JOIN operators o ON o.id = s.operator_id WHERE s.id_sha256 = $1`, digest)
	var rotated, seen sql.NullTime
	o := &sess.Operator
	err := row.Scan(&sess.CSRF, &sess.ExpiresAt, &last, &o.ID, &o.Name, &o.Role, &o.Status, &o.CreatedAt, &o.CreatedBy, &rotated, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, ErrNoSession
	}
	if err != nil {
		return sess, fmt.Errorf("session: %w", err)
	}
	t := now()
	if o.Status != OperatorActive || !t.Before(sess.ExpiresAt) || t.Sub(last) > idle {
		_ = s.EndSession(ctx, id)
		return Session{}, ErrNoSession
	}
	if t.Sub(last) > 30*time.Second {
		_, _ = s.q.ExecContext(ctx, `UPDATE console_sessions SET last_seen_at = $1 WHERE id_sha256 = $2`, t, digest)
	}
	return sess, nil
}

// EndSession signs a session out (nothing when there is none).
func (s *Store) EndSession(ctx context.Context, id string) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_sha256 = $1`, TokenDigest(id))
	return err
}
