// Package storage keeps drafter's files and documents (NACHA files, inbound
// bank files, statements, notices) behind one small interface, Store, with a
// filesystem backend (fs.go) and an S3 backend (s3.go) chosen by URL (Open).
// Every object carries the sha256 of its bytes, so a rerun can verify what is
// stored instead of writing it again, and nothing stored is ever overwritten
// without keeping the previous version.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors; the backends wrap them with the key and the detail.
var (
	// ErrNotFound: no object has the key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the key already holds different bytes and the caller did
	// not ask to replace them.
	ErrConflict = errors.New("conflict")
	// ErrInvalidKey: the key is not a valid storage key (see ValidateKey).
	ErrInvalidKey = errors.New("invalid key")
	// ErrAccessDenied: the storage service refused the credentials or the
	// permission for the request.
	ErrAccessDenied = errors.New("access denied")
)

// Opener is a Store that also reads an object as a stream, for objects too
// large to hold whole (a bank's return file). Both backends implement it.
type Opener interface {
	// Open returns the object's bytes as a stream; ErrNotFound when there
	// is none. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Store keeps objects (bytes with a content type and metadata) under
// slash-separated keys. Implementations are safe for concurrent use.
type Store interface {
	// Put stores body under key. Storing the same bytes under the same key
	// again does nothing and reports Unchanged. Different bytes under an
	// existing key fail with ErrConflict unless opts.Replace is set; a
	// replaced object stays readable under PutResult.PreviousKey. A Put that
	// fails leaves the key as it was.
	Put(ctx context.Context, key string, body []byte, opts PutOptions) (PutResult, error)
	// Get returns the bytes stored under key and their description, or
	// ErrNotFound. It fails when the bytes do not match their recorded
	// sha256.
	Get(ctx context.Context, key string) ([]byte, Object, error)
	// Stat describes the object stored under key, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// List describes every object whose key starts with prefix, sorted by
	// key, with Key, Size and ModTime set; the folder backend also sets
	// SHA256 and ContentType as Put recorded them (Stat checks the bytes;
	// use it for the rest, and on S3). Previous
	// versions (under VersionsPrefix) are listed only when prefix asks for
	// them.
	List(ctx context.Context, prefix string) ([]Object, error)
	// MarkProcessed moves an inbound object into the "processed" folder
	// beside it (ach/inbound/x.ach to ach/inbound/processed/x.ach) and
	// returns the new key. It copies, verifies the copy, then deletes the
	// original, so a crash at any point leaves the file in at least one
	// place; calling it again finishes the move. A key already inside a
	// processed folder is returned unchanged. If the processed key holds
	// different bytes it fails with ErrConflict.
	MarkProcessed(ctx context.Context, key string) (newKey string, err error)
	// Delete removes the object under key (not the previous versions kept
	// of it); a key that holds nothing is not an error. drafter deletes
	// only what it wrote to check that storage takes writes (a probe).
	Delete(ctx context.Context, key string) error
	// URL returns a link to read the object: a presigned GET valid for ttl
	// on S3 (signed without asking the server, so a missing object fails
	// only when the link is used), a file:// URL on the filesystem (where
	// ttl is ignored and a missing object is ErrNotFound).
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
	// Close releases the store's resources.
	Close() error
}

// PutOptions describe the object being stored.
type PutOptions struct {
	// ContentType defaults to application/octet-stream.
	ContentType string
	// Metadata is stored with the object. Names are lowercase letters,
	// digits and '-'; values printable ASCII. The name "sha256" is reserved.
	Metadata map[string]string
	// Replace allows different bytes to replace an existing object (a forced
	// rerun). The previous object is kept under PutResult.PreviousKey.
	Replace bool
	// DeferSync lets a backend that makes writes durable with fsync (the
	// filesystem) leave the folder entries to one Sync call for many puts.
	// The bytes of each object are synced before it becomes visible, but
	// the object may vanish in a crash until Sync returns: call Sync before
	// recording that the object is stored. Backends whose puts are durable
	// when they return (S3) ignore it.
	DeferSync bool
}

// Sync makes every put done with DeferSync durable, on backends that defer
// anything; on the others it does nothing.
func Sync(ctx context.Context, s Store) error {
	if sy, ok := s.(interface{ Sync(context.Context) error }); ok {
		return sy.Sync(ctx)
	}
	return nil
}

// PutResult says what Put did.
type PutResult struct {
	Key string
	// SHA256 is the hex sha256 of the stored bytes.
	SHA256 string
	Size   int64
	// Unchanged reports that the key already held these bytes, so nothing
	// was written.
	Unchanged bool
	// PreviousKey is where the replaced object is kept (VersionKey), set
	// only when Put replaced different bytes.
	PreviousKey string
}

// Object describes a stored object.
type Object struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	// SHA256 is hex; "" when unknown (an object not written by Put, or a
	// List of a backend that does not return metadata with the list).
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	// Metadata holds the caller's metadata, without the sha256.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// VersionsPrefix is the key prefix under which Put keeps replaced objects.
// Callers cannot Put under it.
const VersionsPrefix = ".versions/"

// ProcessedDir is the folder MarkProcessed moves objects into.
const ProcessedDir = "processed"

// metaSHA256 is the metadata name of the recorded sha256.
const metaSHA256 = "sha256"

const defaultContentType = "application/octet-stream"

// VersionKey is the key under which Put keeps the object with the given
// sha256 when it is replaced: .versions/KEY.v<first 16 hex digits>. It
// depends only on the content, so repeating a replacement is idempotent.
func VersionKey(key, sha string) string {
	if len(sha) > 16 {
		sha = sha[:16]
	}
	return VersionsPrefix + key + ".v" + sha
}

// ProcessedKey is the key MarkProcessed moves key to.
func ProcessedKey(key string) string {
	dir, name := path.Split(key)
	if path.Base(path.Clean("/"+dir)) == ProcessedDir {
		return key
	}
	return dir + ProcessedDir + "/" + name
}

// ValidateKey reports whether key can name an object: non-empty, at most
// 1024 bytes, valid UTF-8, relative, slash-separated segments that are not
// empty, do not start with '.', are at most 200 bytes, and contain no
// backslash or control character. Keys under VersionsPrefix are valid
// for reading.
func ValidateKey(key string) error {
	return validateKey(key, true)
}

// validateKey checks key; reserved allows keys under VersionsPrefix.
func validateKey(key string, reserved bool) error {
	if reserved && strings.HasPrefix(key, VersionsPrefix) {
		if err := validateKey(strings.TrimPrefix(key, VersionsPrefix), false); err != nil {
			return err
		}
		return nil
	}
	bad := func(problem string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, problem)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute (starts with '/')")
	case strings.HasSuffix(key, "/"):
		return bad("ends with '/'")
	}
	for _, r := range key {
		switch {
		case r == 0:
			return bad("contains NUL")
		case r == '\\':
			return bad("contains a backslash")
		case r < 0x20 || r == 0x7f:
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("has an empty segment ('//')")
		case seg == "." || seg == "..":
			return bad("has a '" + seg + "' segment")
		case strings.HasPrefix(seg, "."):
			return bad("has a segment starting with '.' (reserved)")
		case len(seg) > 200:
			return bad("has a segment longer than 200 bytes")
		}
	}
	return nil
}

// validatePrefix checks a List prefix: "" or the start of a valid key.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := validateKey(prefix+"x", true); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	return nil
}

// validatePut checks what Put is given and returns the metadata to store.
func validatePut(key string, opts PutOptions) error {
	if err := validateKey(key, false); err != nil {
		return err
	}
	for name, value := range opts.Metadata {
		if name == "" || name == metaSHA256 {
			return fmt.Errorf("metadata name %q for %s: reserved or empty", name, key)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("metadata name %q for %s: use lowercase letters, digits and '-'", name, key)
			}
		}
		for _, r := range value {
			if r < 0x20 || r > 0x7e {
				return fmt.Errorf("metadata %s for %s: value must be printable ASCII", name, key)
			}
		}
		if strings.TrimSpace(value) != value {
			return fmt.Errorf("metadata %s for %s: value has leading or trailing spaces", name, key)
		}
	}
	size := 0
	for name, value := range opts.Metadata {
		size += len(name) + len(value)
	}
	if size > 1800 {
		return fmt.Errorf("metadata for %s: %d bytes, at most 1800 (S3 allows 2 KB with the sha256)", key, size)
	}
	if len(opts.ContentType) > 255 {
		return fmt.Errorf("content type for %s: longer than 255 bytes", key)
	}
	return nil
}

func sum256(body []byte) string {
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])
}

// backend is what a Store is made of; put and markProcessed implement the
// shared semantics on top of it.
type backend interface {
	stat(ctx context.Context, key string) (Object, error)
	read(ctx context.Context, key string) ([]byte, Object, error)
	// write stores body under key if the key is still as cond says.
	write(ctx context.Context, key string, body []byte, sha string, opts PutOptions, cond condition) error
	// copy copies src with its metadata to dst if dst does not exist.
	copy(ctx context.Context, src, dst string) error
	remove(ctx context.Context, key string) error
}

// condition is what a write requires of the key's current state.
type condition struct {
	// absent: the key must not exist.
	absent bool
	// match: the key must still be this object (compared by etag on S3 and
	// by sha256 on the filesystem).
	match Object
	// etag identifies match on S3.
	etag string
}

// errPrecondition reports that a conditional write found the key changed.
var errPrecondition = errors.New("precondition failed")

// knownSum returns obj's sha256, reading the object when it has none
// recorded (an object put there by something else than Put).
func knownSum(ctx context.Context, b backend, obj Object) (string, error) {
	if obj.SHA256 != "" {
		return obj.SHA256, nil
	}
	body, _, err := b.read(ctx, obj.Key)
	if err != nil {
		return "", err
	}
	return sum256(body), nil
}

// put implements Store.Put on b.
// get is Store.Get for every backend: the key checked, the error named.
func get(ctx context.Context, b backend, key string) ([]byte, Object, error) {
	if err := validateKey(key, true); err != nil {
		return nil, Object{}, fmt.Errorf("get: %w", err)
	}
	body, obj, err := b.read(ctx, key)
	if err != nil {
		return nil, Object{}, fmt.Errorf("get %s: %w", key, err)
	}
	return body, obj, nil
}

// stat is Store.Stat for every backend.
func stat(ctx context.Context, b backend, key string) (Object, error) {
	if err := validateKey(key, true); err != nil {
		return Object{}, fmt.Errorf("stat: %w", err)
	}
	obj, err := b.stat(ctx, key)
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return obj, nil
}

func put(ctx context.Context, b backend, key string, body []byte, opts PutOptions) (PutResult, error) {
	if err := validatePut(key, opts); err != nil {
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	if opts.ContentType == "" {
		opts.ContentType = defaultContentType
	}
	res := PutResult{Key: key, SHA256: sum256(body), Size: int64(len(body))}
	// Two rounds: a concurrent writer can change the key between stat and
	// the conditional write; the second round decides against its bytes.
	for range 2 {
		cur, etag, err := statEtag(ctx, b, key)
		switch {
		case errors.Is(err, ErrNotFound):
			err = b.write(ctx, key, body, res.SHA256, opts, condition{absent: true})
			if errors.Is(err, errPrecondition) {
				continue
			}
			if err != nil {
				return PutResult{}, fmt.Errorf("put %s: %w", key, err)
			}
			return res, nil
		case err != nil:
			return PutResult{}, fmt.Errorf("put %s: %w", key, err)
		}
		old, err := knownSum(ctx, b, cur)
		if err != nil {
			return PutResult{}, fmt.Errorf("put %s: %w", key, err)
		}
		if old == res.SHA256 {
			res.Unchanged = true
			return res, nil
		}
		if !opts.Replace {
			return PutResult{}, fmt.Errorf("put %s: %w: the key holds different bytes (sha256 %s, new %s); set Replace to keep the old version and write the new one", key, ErrConflict, short(old), short(res.SHA256))
		}
		prev := VersionKey(key, old)
		if err := keepVersion(ctx, b, key, prev, old); err != nil {
			return PutResult{}, fmt.Errorf("put %s: keep previous version: %w", key, err)
		}
		cur.SHA256 = old
		err = b.write(ctx, key, body, res.SHA256, opts, condition{match: cur, etag: etag})
		if errors.Is(err, errPrecondition) {
			continue
		}
		if err != nil {
			return PutResult{}, fmt.Errorf("put %s: %w", key, err)
		}
		res.PreviousKey = prev
		return res, nil
	}
	return PutResult{}, fmt.Errorf("put %s: %w: the key changed while writing (a concurrent writer)", key, ErrConflict)
}

// keepVersion copies key to prev unless prev already holds the same bytes.
func keepVersion(ctx context.Context, b backend, key, prev, sha string) error {
	err := b.copy(ctx, key, prev)
	if !errors.Is(err, errPrecondition) {
		return err
	}
	// prev exists: a repeated replacement, or the same old bytes kept before.
	obj, err := b.stat(ctx, prev)
	if err != nil {
		return err
	}
	got, err := knownSum(ctx, b, obj)
	if err != nil {
		return err
	}
	if got != sha {
		return fmt.Errorf("%w: %s holds other bytes than %s", ErrConflict, prev, key)
	}
	return nil
}

// etagStater is implemented by backends that identify versions by etag.
type etagStater interface {
	statEtag(ctx context.Context, key string) (Object, string, error)
}

func statEtag(ctx context.Context, b backend, key string) (Object, string, error) {
	if e, ok := b.(etagStater); ok {
		return e.statEtag(ctx, key)
	}
	obj, err := b.stat(ctx, key)
	return obj, "", err
}

// markProcessed implements Store.MarkProcessed on b.
func markProcessed(ctx context.Context, b backend, key string) (string, error) {
	if err := validateKey(key, false); err != nil {
		return "", fmt.Errorf("mark processed: %w", err)
	}
	dst := ProcessedKey(key)
	if dst == key {
		if _, err := b.stat(ctx, key); err != nil {
			return "", fmt.Errorf("mark processed %s: %w", key, err)
		}
		return key, nil
	}
	if err := validateKey(dst, false); err != nil {
		return "", fmt.Errorf("mark processed: %w", err)
	}
	src, err := b.stat(ctx, key)
	if errors.Is(err, ErrNotFound) {
		// Already moved by an earlier call.
		if _, derr := b.stat(ctx, dst); derr == nil {
			return dst, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("mark processed %s: %w", key, err)
	}
	if err := b.copy(ctx, key, dst); err != nil && !errors.Is(err, errPrecondition) {
		return "", fmt.Errorf("mark processed %s: copy to %s: %w", key, dst, err)
	}
	// Verify the copy (or what an earlier, interrupted call copied) before
	// deleting the original.
	moved, err := b.stat(ctx, dst)
	if err != nil {
		return "", fmt.Errorf("mark processed %s: check %s: %w", key, dst, err)
	}
	want, err := knownSum(ctx, b, src)
	if err != nil {
		return "", fmt.Errorf("mark processed %s: %w", key, err)
	}
	got, err := knownSum(ctx, b, moved)
	if err != nil {
		return "", fmt.Errorf("mark processed %s: %w", key, err)
	}
	if got != want {
		return "", fmt.Errorf("mark processed %s: %w: %s already holds different bytes (sha256 %s, inbound %s); rename the inbound file", key, ErrConflict, dst, short(got), short(want))
	}
	if err := b.remove(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("mark processed %s: delete original: %w", key, err)
	}
	return dst, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// listable reports whether List(prefix) shows key: versions only when the
// prefix asks for them.
func listable(prefix, key string) bool {
	if strings.HasPrefix(key, VersionsPrefix) {
		return strings.HasPrefix(prefix, VersionsPrefix)
	}
	return true
}
