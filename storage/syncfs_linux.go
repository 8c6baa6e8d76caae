package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole file system that holds dir (syncfs(2)): one call
// for the folder entries of many puts.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
