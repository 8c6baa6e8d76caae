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
)

// Cipher encrypts bank account numbers at rest with AES-256-GCM and makes a
// keyed MAC of them, so that a number can be matched without decrypting it.
// The encryption and MAC keys are derived from one 32-byte master key.
type Cipher struct {
	aead   cipher.AEAD
	macKey []byte
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
	block, err := aes.NewCipher(derive("drafter bank account encryption v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead, macKey: derive("drafter bank account mac v1")}, nil
}

// Seal encrypts plain; the result is nonce || ciphertext.
func (c *Cipher) Seal(plain string) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no randomness: nothing is safe
	}
	return c.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// Open decrypts what Seal made.
func (c *Cipher) Open(sealed []byte) (string, error) {
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

// Mask shows only the last four digits of an account number: ****6789.
func Mask(last4 string) string { return "****" + last4 }

// Last4 returns the last four characters of an account number.
func Last4(number string) string {
	if len(number) <= 4 {
		return number
	}
	return number[len(number)-4:]
}
