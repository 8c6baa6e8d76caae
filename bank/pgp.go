package bank

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// ErrSignature is returned for a message from the bank that is not signed by
// the bank's key, or whose signature does not verify.
var ErrSignature = errors.New("bad or missing signature")

// PGP encrypts what drafter sends to the bank and decrypts what the bank
// sends back, as the bank requires: to the bank's public key, signed with
// drafter's private key; and from the bank, signed with its key.
type PGP struct {
	// Bank holds the bank's public key: outbound files are encrypted to it
	// and inbound files must be signed by it. Nil: no encryption to the bank.
	Bank openpgp.EntityList
	// Own is drafter's private key (decrypted): it signs outbound files and
	// decrypts inbound ones. Nil: outbound files are not signed.
	Own *openpgp.Entity
}

// LoadPGP reads the bank's public key file and drafter's private key file
// (armored or binary; either may be ""), opening the private key with
// passphrase. Its errors never include key material or the passphrase.
func LoadPGP(bankPublicFile, ownPrivateFile, passphrase string) (*PGP, error) {
	p := &PGP{}
	if bankPublicFile != "" {
		keys, err := readKeys(bankPublicFile)
		if err != nil {
			return nil, err
		}
		p.Bank = keys
	}
	if ownPrivateFile != "" {
		keys, err := readKeys(ownPrivateFile)
		if err != nil {
			return nil, err
		}
		e := keys[0]
		if e.PrivateKey == nil {
			return nil, fmt.Errorf("%s holds no private key", ownPrivateFile)
		}
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("%s: the passphrase does not open the private key", ownPrivateFile)
		}
		p.Own = e
	}
	return p, nil
}

func readKeys(file string) (openpgp.EntityList, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	if err != nil {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil || len(keys) == 0 {
		return nil, fmt.Errorf("%s is not an OpenPGP key (armored or binary)", file)
	}
	return keys, nil
}

// Seal encrypts data to the bank's key, signed with drafter's key when it
// is set, as a binary OpenPGP message; name is the file name inside it.
func (p *PGP) Seal(data []byte, name string) ([]byte, error) {
	if len(p.Bank) == 0 {
		return nil, errors.New("pgp: no bank public key to encrypt to (DRAFTER_BANK_PGP_PUBLIC_KEY)")
	}
	var out bytes.Buffer
	w, err := openpgp.Encrypt(&out, p.Bank[:1], p.Own, &openpgp.FileHints{IsBinary: true, FileName: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("pgp encrypt %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("pgp encrypt %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pgp encrypt %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// Open decrypts a message from the bank (armored or binary) with drafter's
// key and checks it is signed by the bank's key: an unsigned message, one
// signed by another key, or a signature that does not verify is refused
// with ErrSignature.
func (p *PGP) Open(msg []byte, name string) ([]byte, error) {
	if p.Own == nil {
		return nil, errors.New("pgp: no private key to decrypt with (DRAFTER_PGP_PRIVATE_KEY)")
	}
	var r io.Reader = bytes.NewReader(msg)
	if bytes.HasPrefix(bytes.TrimSpace(msg), []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(msg))
		if err != nil {
			return nil, fmt.Errorf("pgp decrypt %s: armor: %w", name, err)
		}
		r = block.Body
	}
	ring := append(openpgp.EntityList{p.Own}, p.Bank...)
	md, err := openpgp.ReadMessage(r, ring, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("pgp decrypt %s: %w", name, err)
	}
	body, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		// A signature that does not verify surfaces here, once the body
		// has been read.
		return nil, fmt.Errorf("pgp decrypt %s: %w: %v", name, ErrSignature, err)
	}
	if len(p.Bank) > 0 {
		switch {
		case !md.IsSigned:
			return nil, fmt.Errorf("pgp decrypt %s: %w: the message is not signed", name, ErrSignature)
		case md.SignedBy == nil || !isBankKey(p.Bank, md.SignedByKeyId):
			return nil, fmt.Errorf("pgp decrypt %s: %w: signed by key %016X, not the bank's", name, ErrSignature, md.SignedByKeyId)
		case md.SignatureError != nil:
			return nil, fmt.Errorf("pgp decrypt %s: %w: %v", name, ErrSignature, md.SignatureError)
		}
	}
	return body, nil
}

func isBankKey(bank openpgp.EntityList, id uint64) bool {
	return len(bank.KeysById(id)) > 0
}
