package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FS is a Store in a local folder. The object KEY is the file ROOT/KEY, so
// an operator can read it directly; its sha256, content type and metadata
// (the sidecar JSON) are in the file's extended attribute user.drafter.meta,
// or, on a file system without user attributes, in the hidden sidecar file
// ROOT/DIR/.NAME.meta.json beside it. Files are 0600 and folders 0700.
// Every write goes to a temporary file in the same folder that is synced
// and renamed into place (an attribute is set on the temporary file, so it
// arrives with the data; a sidecar file is renamed in first), and the
// folder is synced; the data file is the truth: metadata whose sha256 does
// not match its file is ignored. Conditional writes are serialized within
// the process, so one process should own a root.
type FS struct {
	root  string
	locks [64]sync.Mutex
	// owesSync is set by a DeferSync put until Sync makes it durable.
	owesSync atomic.Bool
	// xattr is set when the root's file system keeps user extended
	// attributes: metadata goes there instead of a second file per object.
	xattr bool
}

var (
	// errNoXattr: the file system keeps no user extended attributes.
	errNoXattr = errors.New("extended attributes not supported")
	// errNoMeta: the file has no metadata attribute.
	errNoMeta = errors.New("no metadata attribute")
)

var _ Store = (*FS)(nil)

// sidecar is the JSON beside each object.
type sidecar struct {
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// OpenFS opens (creating it, 0700) the folder root as a Store. root must be
// absolute.
func OpenFS(root string) (*FS, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("open fs store %s: path must be absolute", root)
	}
	root = filepath.Clean(root)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("open fs store: %w", err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("open fs store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open fs store %s: not a folder", root)
	}
	return &FS{root: root, xattr: probeXattr(root)}, nil
}

// OpenFSReadOnly opens the folder root as a Store for reading only: it
// creates nothing, neither the folder nor the probe of OpenFS, so that a
// look-up leaves a data folder as it found it. Metadata is read from the
// extended attribute when there is one, else from the sidecar.
func OpenFSReadOnly(root string) (*FS, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("open fs store %s: path must be absolute", root)
	}
	root = filepath.Clean(root)
	if st, err := os.Stat(root); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("open fs store %s: not a folder", root)
	}
	return &FS{root: root}, nil
}

// probeXattr reports whether the file system of root keeps user extended
// attributes, by setting one on a temporary file. A root this process
// cannot write to (an operator's read-only look) reports false: reads
// look for the attribute anyway.
func probeXattr(root string) bool {
	f, err := os.CreateTemp(root, ".tmp-probe-*")
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return setMeta(f, []byte("{}")) == nil
}

// openFSURL opens file:///abs/path.
func openFSURL(_ context.Context, u *url.URL) (Store, error) {
	if err := checkFSURL(u); err != nil {
		return nil, err
	}
	return OpenFS(u.Path)
}

// checkFSURL checks the form of file:///abs/path without touching the folder.
func checkFSURL(u *url.URL) error {
	if u.Host != "" && u.Host != "localhost" {
		return fmt.Errorf("file url: host %q: expected file:///absolute/path", u.Host)
	}
	for name := range u.Query() {
		return fmt.Errorf("file url: unknown parameter %q: file URLs take none", name)
	}
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return fmt.Errorf("file url: path %q: expected file:///absolute/path", u.Path)
	}
	return nil
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := validateKey(key, false); err != nil {
		return err
	}
	if err := s.remove(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Root returns the folder the store keeps its files in.
func (s *FS) Root() string { return s.root }

// Put implements Store.
func (s *FS) Put(ctx context.Context, key string, body []byte, opts PutOptions) (PutResult, error) {
	res, err := put(ctx, s, key, body, opts)
	if err == nil && res.Unchanged {
		// Heal a sidecar lost or left stale by a crash between the two
		// renames of an earlier write.
		if err := s.healSidecar(key, res.SHA256, opts); err != nil {
			return PutResult{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	return res, err
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, key string) ([]byte, Object, error) { return get(ctx, s, key) }

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, key string) (Object, error) { return stat(ctx, s, key) }

// List implements Store.
func (s *FS) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	// Walk only the deepest folder the prefix names.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p == start {
				return nil
			}
			if key == strings.TrimSuffix(VersionsPrefix, "/") && strings.HasPrefix(prefix, VersionsPrefix) {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		// Sidecars and temporary files start with '.', which no key
		// segment may.
		if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
			return nil
		}
		if !strings.HasPrefix(key, prefix) || !listable(prefix, key) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		obj := Object{Key: key, Size: info.Size(), ModTime: info.ModTime().UTC()}
		if sc, ok := s.listedSidecar(key); ok {
			obj.SHA256, obj.ContentType, obj.Metadata = sc.SHA256, sc.ContentType, sc.Metadata
		}
		out = append(out, obj)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// MarkProcessed implements Store.
func (s *FS) MarkProcessed(ctx context.Context, key string) (string, error) {
	return markProcessed(ctx, s, key)
}

// URL implements Store: a file:// URL of the object's file; ttl is ignored.
func (s *FS) URL(ctx context.Context, key string, _ time.Duration) (string, error) {
	if err := validateKey(key, true); err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	if err := s.noSymlinks(key); err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	if _, err := os.Stat(s.file(key)); err != nil {
		return "", fmt.Errorf("url %s: %w", key, notFound(err))
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.file(key))}).String(), nil
}

// Close implements Store; FS holds no resources.
func (s *FS) Close() error { return nil }

func (s *FS) file(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// ErrSymlink is returned for a key whose path inside the store's folder
// passes through a symbolic link: a link planted there could point a read
// or a write anywhere this process may reach.
var ErrSymlink = errors.New("symbolic link inside the store's folder")

// noSymlinks refuses key when a folder on its path, or its file, is a
// symbolic link (the root itself may be one). Missing parts are fine: they
// are created as real folders and files.
func (s *FS) noSymlinks(key string) error {
	p := s.root
	for part := range strings.SplitSeq(key, "/") {
		p = filepath.Join(p, part)
		info, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %s is a %w; drafter does not follow it: replace it with the folder or file itself", key, p, ErrSymlink)
		}
	}
	return nil
}

func (s *FS) sidecarFile(key string) string {
	dir, name := path.Split(key)
	return filepath.Join(s.root, filepath.FromSlash(dir), "."+name+".meta.json")
}

func (s *FS) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// readSidecar returns the sidecar of key if it describes sha: from the
// file's attribute, else from a sidecar file (an object written where
// attributes were not kept, or copied in with its sidecar).
func (s *FS) readSidecar(key, sha string) (sidecar, bool) {
	b, err := getMeta(s.file(key))
	if err != nil {
		if b, err = os.ReadFile(s.sidecarFile(key)); err != nil {
			return sidecar{}, false
		}
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil || sc.SHA256 != sha {
		return sidecar{}, false
	}
	return sc, true
}

// listedSidecar returns what Put recorded of key (its attribute, else its
// sidecar file) without reading the file: List reports it as recorded;
// Stat and Get hash the bytes and check it.
func (s *FS) listedSidecar(key string) (sidecar, bool) {
	b, err := getMeta(s.file(key))
	if err != nil {
		if b, err = os.ReadFile(s.sidecarFile(key)); err != nil {
			return sidecar{}, false
		}
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil {
		return sidecar{}, false
	}
	return sc, true
}

func (s *FS) describe(key string, info fs.FileInfo, sha string) Object {
	obj := Object{Key: key, Size: info.Size(), ModTime: info.ModTime().UTC(), SHA256: sha, ContentType: defaultContentType}
	if sc, ok := s.readSidecar(key, sha); ok {
		obj.ContentType = sc.ContentType
		obj.Metadata = sc.Metadata
	}
	return obj
}

func (s *FS) stat(ctx context.Context, key string) (Object, error) {
	if err := s.noSymlinks(key); err != nil {
		return Object{}, err
	}
	f, err := os.Open(s.file(key))
	if err != nil {
		return Object{}, notFound(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Object{}, err
	}
	if !info.Mode().IsRegular() {
		return Object{}, ErrNotFound
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Object{}, err
	}
	return s.describe(key, info, hex.EncodeToString(h.Sum(nil))), nil
}

// Open implements Opener.
func (s *FS) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key, true); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := s.noSymlinks(key); err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	f, err := os.Open(s.file(key))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, notFound(err))
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, ErrNotFound)
	}
	return f, nil
}

func (s *FS) read(ctx context.Context, key string) ([]byte, Object, error) {
	if err := s.noSymlinks(key); err != nil {
		return nil, Object{}, err
	}
	f, err := os.Open(s.file(key))
	if err != nil {
		return nil, Object{}, notFound(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, Object{}, err
	}
	if !info.Mode().IsRegular() {
		return nil, Object{}, ErrNotFound
	}
	body, err := io.ReadAll(f)
	if err != nil {
		return nil, Object{}, err
	}
	return body, s.describe(key, info, sum256(body)), nil
}

func (s *FS) write(ctx context.Context, key string, body []byte, sha string, opts PutOptions, cond condition) error {
	defer s.lock(key)()
	if err := ctx.Err(); err != nil {
		return err
	}
	cur, err := s.stat(ctx, key)
	switch {
	case cond.absent && err == nil:
		return errPrecondition
	case cond.absent && errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case cur.SHA256 != cond.match.SHA256:
		return errPrecondition
	}
	return s.writeFiles(key, body, sidecar{SHA256: sha, ContentType: opts.ContentType, Metadata: opts.Metadata}, opts.DeferSync)
}

func (s *FS) copy(ctx context.Context, src, dst string) error {
	body, obj, err := s.read(ctx, src)
	if err != nil {
		return err
	}
	defer s.lock(dst)()
	if _, err := os.Lstat(s.file(dst)); err == nil {
		return errPrecondition
	}
	return s.writeFiles(dst, body, sidecar{SHA256: obj.SHA256, ContentType: obj.ContentType, Metadata: obj.Metadata}, false)
}

func (s *FS) remove(ctx context.Context, key string) error {
	defer s.lock(key)()
	if err := s.noSymlinks(key); err != nil {
		return err
	}
	if err := os.Remove(s.file(key)); err != nil {
		return notFound(err)
	}
	if err := os.Remove(s.sidecarFile(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(s.file(key)))
}

// healSidecar rewrites the sidecar of key when it does not describe sha.
func (s *FS) healSidecar(key, sha string, opts PutOptions) error {
	defer s.lock(key)()
	if err := s.noSymlinks(key); err != nil {
		return err
	}
	if _, ok := s.readSidecar(key, sha); ok {
		return nil
	}
	ct := opts.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	sc, err := json.Marshal(sidecar{SHA256: sha, ContentType: ct, Metadata: opts.Metadata})
	if err != nil {
		return err
	}
	if s.xattr {
		f, err := os.Open(s.file(key))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := setMeta(f, sc); err != nil {
			return err
		}
		return f.Sync()
	}
	dir := filepath.Dir(s.file(key))
	if err := writeAtomic(dir, filepath.Base(s.sidecarFile(key)), sc, nil, false); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeFiles writes the data atomically with its sidecar JSON in its
// attribute, or (without attributes) the sidecar file first and then the
// data, and syncs the folder. Only the data is synced before its rename:
// the data file is the truth (Stat hashes it and ignores a sidecar that
// does not match), so a sidecar file a crash lost costs its metadata until
// the next identical Put heals it, never the object.
func (s *FS) writeFiles(key string, body []byte, sc sidecar, deferSync bool) error {
	if err := s.noSymlinks(key); err != nil {
		return err
	}
	meta, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.file(key))
	if err := s.mkdirAll(dir, deferSync); err != nil {
		return err
	}
	attr := meta
	if !s.xattr {
		attr = nil
		if err := writeAtomic(dir, filepath.Base(s.sidecarFile(key)), meta, nil, false); err != nil {
			return err
		}
	}
	if err := writeAtomic(dir, filepath.Base(s.file(key)), body, attr, true); err != nil {
		return err
	}
	if deferSync {
		s.owesSync.Store(true)
		return nil
	}
	return syncDir(dir)
}

// Sync makes the folder entries of every put done with DeferSync durable:
// one syncfs of the store's file system instead of a folder fsync per put.
func (s *FS) Sync(ctx context.Context) error {
	if !s.owesSync.Swap(false) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		s.owesSync.Store(true)
		return err
	}
	if err := syncFS(s.root); err != nil {
		s.owesSync.Store(true)
		return fmt.Errorf("sync %s: %w", s.root, err)
	}
	return nil
}

// writeAtomic writes name in dir through a temporary file (0600) renamed
// into place, with the metadata attribute attr when not nil, synced first
// when sync is set; the caller syncs dir.
func writeAtomic(dir, name string, data, attr []byte, sync bool) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if attr != nil {
		if err := setMeta(f, attr); err != nil {
			return fmt.Errorf("set metadata attribute: %w", err)
		}
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// mkdirAll creates dir and its missing parents under the root, 0700,
// syncing each parent so the new folder survives a crash (or leaving that
// to Sync, with deferSync).
func (s *FS) mkdirAll(dir string, deferSync bool) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if dir == s.root || len(dir) < len(s.root) {
		return os.MkdirAll(dir, 0o700)
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirAll(parent, deferSync); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if deferSync {
		s.owesSync.Store(true)
		return nil
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
