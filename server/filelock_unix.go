//go:build unix

package server

import (
	"fmt"
	"os"
	"syscall"
)

// FileLock takes an exclusive lock on the file at path without waiting
// (flock), creating the file if needed: the single drafter serve of an
// SQLite database. The kernel releases it when the process dies. It fails
// with ErrLocked when another process holds it.
func FileLock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
