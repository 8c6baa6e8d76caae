//go:build !unix

package storage

import "errors"

// syncFS has no portable whole-file-system flush here: deferred syncs are
// refused rather than pretended.
func syncFS(string) error {
	return errors.New("deferred sync needs a unix file system; put without DeferSync")
}
