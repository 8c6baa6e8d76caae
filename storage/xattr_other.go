//go:build !linux

package storage

import "os"

// Extended attributes are used on Linux only; elsewhere the metadata stays
// in sidecar files.
func setMeta(*os.File, []byte) error { return errNoXattr }
func getMeta(string) ([]byte, error) { return nil, errNoXattr }
