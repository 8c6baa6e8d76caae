package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
)

// TestStorageCommandArgs: flags anywhere, help that prints, and wrong usage
// that exits 2.
func TestStorageCommandArgs(t *testing.T) {
	d := civil.MustParse("2026-12-01")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 30, 4, d))
	mustDrafter(t, dir, nil, "run", "originate", "--date", d.String())
	for _, args := range [][]string{{"storage", "ls", "--json", "ach/"}, {"storage", "--json", "ls", "ach/"}, {"storage", "ls", "ach/", "--json"}} {
		var objs []struct {
			Key string `json:"key"`
		}
		out := mustDrafter(t, dir, nil, args...)
		if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) == 0 || !strings.HasPrefix(objs[0].Key, "ach/outbound/") {
			t.Errorf("drafter %s: %v %q; want the stored NACHA file as JSON", strings.Join(args, " "), err, out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"storage", "ls", "--help"}, 0, "Usage: drafter storage ls"},
		{[]string{"storage", "get", "--help"}, 0, "Usage: drafter storage ls"},
		{[]string{"storage"}, 2, "want ls or get"},
		{[]string{"storage", "foo"}, 2, `unknown verb "foo"`},
		{[]string{"storage", "get"}, 2, "want the object's key"},
		{[]string{"storage", "ls", "--jsn"}, 2, "unknown flag: --jsn"},
	} {
		r := drafter(t, dir, nil, tc.args...)
		got := r.stderr
		if tc.code == 0 {
			got = r.stdout // help goes to standard output
		}
		if r.code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("drafter %s: exit %d, stderr %q; want exit %d saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestStorageLsDescribesS3Objects: on S3, whose list carries no metadata,
// `storage ls --json` still shows each object's sha256 and content type.
func TestStorageLsDescribesS3Objects(t *testing.T) {
	bucket := testenv.S3(t)
	testenv.UseS3Credentials()
	d := civil.MustParse("2026-12-01")
	dir := t.TempDir()
	env := []string{"DRAFTER_STORAGE_URL=" + bucket}
	mustDrafter(t, dir, env, "import", writePortfolio(t, 30, 4, d))
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
	var objs []struct {
		Key         string `json:"key"`
		SHA256      string `json:"sha256"`
		ContentType string `json:"content_type"`
	}
	out := mustDrafter(t, dir, env, "storage", "ls", "ach/", "--json")
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) == 0 {
		t.Fatalf("storage ls: %v %q", err, out)
	}
	for _, o := range objs {
		if len(o.SHA256) != 64 || o.ContentType == "" {
			t.Errorf("storage ls on S3: %+v, want the sha256 and content type", o)
		}
	}
}
