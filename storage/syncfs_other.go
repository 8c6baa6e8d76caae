//go:build unix && !linux

package storage

import "syscall"

// syncFS flushes the file systems: sync(2), where syncfs(2) is not there.
func syncFS(string) error {
	syscall.Sync()
	return nil
}
