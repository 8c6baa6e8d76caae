package ledger

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/drafterhq/drafter/mask"
)

// Cipher encrypts bank account numbers at rest with AES-256-GCM and makes a
// keyed MAC of them, so that a number can be matched without decrypting it.
// The encryption and MAC keys are derived from one 32-byte master key; once
// a ledger records its MAC key (keys.go), the MAC key is the ledger's, kept
// across key rotations, and the master key only unwraps it.
type Cipher struct {
	aead   cipher.AEAD
	macKey []byte
	// wrap seals the ledger's MAC key in ledger_keys.
	wrap cipher.AEAD
	// check is the key check value: an HMAC of a fixed label under a key
	// derived from the master key. It tells one master key from another
	// and reveals nothing of either.
	check []byte
	// unbound is the format of ledgers from before migration 0029: no
	// associated data, so a sealed number opens in any row. CheckKey sets
	// it while the ledger's key version is not bound yet (keys.go).
	unbound bool
	// version is the ledger_keys version CheckKey found this key to be;
	// 0 until then.
	version int
}

// ErrNotThisRow is returned when a sealed account number does not open for
// the row it is read from: it was copied from another row, damaged, or
// sealed with another key.
var ErrNotThisRow = errors.New("the sealed account number does not belong to this row: copied from another row, damaged, or sealed with another key")

// sealedRow names the row and column a sealed number belongs to. It is the
// number's associated data: AES-GCM opens a ciphertext only for the row it
// was sealed for, so a number copied to another row (another customer's
// bank account, another payment) does not decrypt there.
type sealedRow string

// rowOf is the sealedRow of table's number_enc in the row with primary
// key id (a payment's id in decimal).
func rowOf(table, id string) sealedRow {
	return sealedRow("drafter:" + table + ".number_enc:" + id)
}

func bankAccountRow(id string) sealedRow { return rowOf("bank_accounts", id) }

func paymentRow(id int64) sealedRow { return sealedRow(paymentRowPrefix + strconv.FormatInt(id, 10)) }

// paymentRowPrefix is what rowOf puts before a payment's id.
const paymentRowPrefix = "drafter:payments.number_enc:"

// name is the row as messages show it: "payments 42".
func (r sealedRow) name() string {
	s := strings.TrimPrefix(string(r), "drafter:")
	table, id, _ := strings.Cut(s, ":")
	return strings.TrimSuffix(table, ".number_enc") + " " + id
}

// ParseKey reads a 32-byte key written as 64 hex digits or as base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("want a 32-byte key as 64 hex digits or base64 (generate one with: openssl rand -hex 32)")
}

// NewCipher returns a Cipher for the 32-byte master key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("encryption key: want 32 bytes, got %d", len(key))
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	aead, err := newGCM(derive("drafter bank account encryption v1"))
	if err != nil {
		return nil, err
	}
	wrap, err := newGCM(derive("drafter mac key wrap v1"))
	if err != nil {
		return nil, err
	}
	check := hmac.New(sha256.New, derive("drafter key check v1"))
	check.Write([]byte("drafter ledger key check value"))
	return &Cipher{aead: aead, macKey: derive("drafter bank account mac v1"), wrap: wrap, check: check.Sum(nil)}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(aead cipher.AEAD, plain []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no randomness: nothing is safe
	}
	return aead.Seal(nonce, nonce, plain, nil)
}

// checks reports, in constant time, whether value is c's key check value.
func (c *Cipher) checks(value []byte) bool { return hmac.Equal(c.check, value) }

// wrapMACKey seals the MAC key k under c's master key.
func (c *Cipher) wrapMACKey(k []byte) []byte { return seal(c.wrap, k) }

// withWrappedMACKey returns a copy of c whose MAC key is the one sealed in
// wrapped by wrapMACKey under the same master key.
func (c *Cipher) withWrappedMACKey(wrapped []byte) (*Cipher, error) {
	ns := c.wrap.NonceSize()
	if len(wrapped) < ns {
		return nil, errors.New("ledger MAC key: sealed value too short")
	}
	k, err := c.wrap.Open(nil, wrapped[:ns], wrapped[ns:], nil)
	if err != nil {
		return nil, errors.New("ledger MAC key: cannot unseal it with this key (damaged ledger_keys row?)")
	}
	cc := *c
	cc.macKey = k
	return &cc, nil
}

// ad is the associated data of row under c: none in the unbound format.
func (c *Cipher) ad(row sealedRow) []byte {
	if c.unbound {
		return nil
	}
	return []byte(row)
}

// Seal encrypts an account number for the number_enc column of table in
// the row whose primary key is id; the result is nonce || ciphertext.
func (c *Cipher) Seal(plain, table, id string) []byte { return c.sealRow(plain, rowOf(table, id)) }

// Open decrypts what Seal made for the same table and row.
func (c *Cipher) Open(sealed []byte, table, id string) (string, error) {
	return c.openRow(sealed, rowOf(table, id))
}

// sealRow encrypts plain for row.
func (c *Cipher) sealRow(plain string, row sealedRow) []byte {
	return c.appendSealed(make([]byte, 0, c.aead.NonceSize()+len(plain)+c.aead.Overhead()), plain, c.ad(row))
}

// appendSealed appends to dst what sealRow makes for the row whose
// associated data is ad (c.ad of it): nonce || ciphertext.
func (c *Cipher) appendSealed(dst []byte, plain string, ad []byte) []byte {
	ns := c.aead.NonceSize()
	at := len(dst)
	dst = append(dst, make([]byte, ns)...)
	nonce := dst[at : at+ns : at+ns]
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no randomness: nothing is safe
	}
	var pb [64]byte
	return c.aead.Seal(dst, nonce, append(pb[:0], plain...), ad)
}

// appendPaymentAD appends the associated data that binds a sealed number
// to payment id (c.ad of paymentRow(id)), nothing in the unbound format.
func (c *Cipher) appendPaymentAD(dst []byte, id int64) []byte {
	if c.unbound {
		return dst
	}
	return strconv.AppendInt(append(dst, paymentRowPrefix...), id, 10)
}

// openRow decrypts what sealRow made for the same row.
func (c *Cipher) openRow(sealed []byte, row sealedRow) (string, error) {
	if c == nil {
		return "", ErrNoKey
	}
	ns := c.aead.NonceSize()
	if len(sealed) < ns {
		return "", fmt.Errorf("decrypt the account number of %s: ciphertext too short", row.name())
	}
	plain, err := c.aead.Open(nil, sealed[:ns], sealed[ns:], c.ad(row))
	if err != nil {
		return "", fmt.Errorf("decrypt the account number of %s: %w", row.name(), ErrNotThisRow)
	}
	return string(plain), nil
}

// Unbound returns a copy of c that seals and opens numbers the way drafter
// did before migration 0029, bound to no row. Tests build such ledgers
// with it, to show the binding that CheckKey runs on them.
func (c *Cipher) Unbound() *Cipher {
	cc := *c
	cc.unbound = true
	return &cc
}

// bound returns a copy of c in the bound format (the default).
func (c *Cipher) bound() *Cipher {
	cc := *c
	cc.unbound = false
	return &cc
}

// MAC returns a hex HMAC-SHA256 of plain under the store's MAC key.
func (c *Cipher) MAC(plain string) string {
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte(plain))
	return hex.EncodeToString(m.Sum(nil))
}

// Mask shows the stored tail of an account number (Last4): ****6789.
func Mask(last4 string) string { return mask.Stored(last4) }

// Last4 returns the part of an account number that may be shown and is
// stored beside its ciphertext (mask.Tail): the last four characters, fewer
// for a short number (a 5-digit number keeps 2), never the whole number.
func Last4(number string) string { return mask.Tail(number) }
