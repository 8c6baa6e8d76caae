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

// Seal encrypts plain; the result is nonce || ciphertext.
func (c *Cipher) Seal(plain string) []byte { return seal(c.aead, []byte(plain)) }

// Open decrypts what Seal made.
func (c *Cipher) Open(sealed []byte) (string, error) {
	if c == nil {
		return "", ErrNoKey
	}
	ns := c.aead.NonceSize()
	if len(sealed) < ns {
		return "", errors.New("decrypt bank account number: ciphertext too short")
	}
	plain, err := c.aead.Open(nil, sealed[:ns], sealed[ns:], nil)
	if err != nil {
		return "", errors.New("decrypt bank account number: wrong encryption key or damaged data")
	}
	return string(plain), nil
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
