//go:build !unix

package server

// FileLock does nothing where flock is missing: run one drafter serve per
// SQLite database.
func FileLock(path string) (unlock func(), err error) { return func() {}, nil }
