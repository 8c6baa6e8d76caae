package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestOpenRedactsURL: a database URL that does not parse, or whose server
// refuses, is named in the error without its password, wherever the
// password is (user information, a password parameter, a broken escape).
func TestOpenRedactsURL(t *testing.T) {
	c, err := ledger.NewCipher(ledgertest.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, url string }{
		{"bad port", "postgres://drafter:hunter2@127.0.0.1:54x2/drafter"},
		{"bad escape", "postgres://drafter:hunter2%zz@127.0.0.1:5432/drafter"},
		{"password parameter, refused", "postgres://drafter@127.0.0.1:1/drafter?password=hunter2&connect_timeout=2"},
		{"user information, refused", "postgres://drafter:hunter2@127.0.0.1:1/drafter?connect_timeout=2"},
		{"slash in the password", "postgres://drafter:12/hunter2@127.0.0.1:1/drafter"},
		{"unknown scheme", "mysql://drafter:hunter2@127.0.0.1/drafter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := ledger.Open(context.Background(), tc.url, c)
			if err == nil {
				st.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestSQLiteFilesPrivate: the database and its -wal and -shm files are
// 0600 while drafter writes, whether drafter creates the database or finds
// it open to others.
func TestSQLiteFilesPrivate(t *testing.T) {
	for _, existing := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "drafter.db")
		if existing {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{"-wal", "-shm"} {
				if err := os.WriteFile(path+side, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		st := ledgertest.OpenURL(t, "sqlite:"+path) // migrates: writes
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatalf("existing %v: %v", existing, err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("existing %v: %s: %o, want 600", existing, filepath.Base(p), info.Mode().Perm())
			}
		}
		st.Close()
	}
}
