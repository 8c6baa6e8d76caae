package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestOperatorsCommand: add prints a token once, list shows the operator
// without it, rotate replaces it, disable and enable are recorded, and bad
// input is a usage error.
func TestOperatorsCommand(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DRAFTER_OPERATOR=root"}
	out := mustDrafter(t, dir, env, "operators", "add", "alice", "--role", "operator")
	tok := regexp.MustCompile(`(?m)^[0-9a-f]{64}$`).FindString(out)
	if tok == "" || !strings.Contains(out, "shown this once") {
		t.Fatalf("add printed no token:\n%s", out)
	}
	list := mustDrafter(t, dir, env, "operators", "list")
	if !strings.Contains(list, "alice") || !strings.Contains(list, "operator") || strings.Contains(list, tok) {
		t.Errorf("list:\n%s", list)
	}
	out = mustDrafter(t, dir, env, "operators", "rotate", "alice")
	if fresh := regexp.MustCompile(`(?m)^[0-9a-f]{64}$`).FindString(out); fresh == "" || fresh == tok {
		t.Errorf("rotate printed no new token:\n%s", out)
	}
	mustDrafter(t, dir, env, "operators", "disable", "alice")
	if list := mustDrafter(t, dir, env, "operators", "list"); !strings.Contains(list, "disabled") {
		t.Errorf("list after disable:\n%s", list)
	}
	for _, args := range [][]string{{"operators", "add", "bob"}, {"operators", "add", "bob", "--role", "root"}, {"operators"}, {"operators", "disable"}} {
		if r := drafter(t, dir, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	if r := drafter(t, dir, env, "operators", "add", "alice", "--role", "viewer"); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second alice: exit %d %s", r.code, r.stderr)
	}
	if r := drafter(t, dir, env, "operators", "rotate", "nobody"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("rotate nobody: exit %d %s", r.code, r.stderr)
	}
}
