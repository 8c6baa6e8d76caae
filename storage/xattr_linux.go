package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// metaAttr is the extended attribute that holds an object's sidecar JSON
// on file systems that keep user attributes (ext4, xfs, btrfs, tmpfs on
// recent kernels).
const metaAttr = "user.drafter.meta"

// setMeta writes the sidecar JSON into f's extended attribute.
func setMeta(f *os.File, meta []byte) error {
	return xattrErr(unix.Fsetxattr(int(f.Fd()), metaAttr, meta, 0))
}

// getMeta reads the sidecar JSON from the file at path: errNoMeta when it
// has none.
func getMeta(path string) ([]byte, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Getxattr(path, metaAttr, buf)
		if errors.Is(err, unix.ERANGE) && len(buf) < 1<<16 {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return nil, xattrErr(err)
		}
		return buf[:n], nil
	}
}

func xattrErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
		return errNoXattr
	case errors.Is(err, unix.ENODATA):
		return errNoMeta
	}
	return err
}
