package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
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
