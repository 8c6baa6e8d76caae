package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFuzzScriptAdvisory runs scripts/fuzz.sh, as make test and make fuzz
// do, on a module whose one target passes its seed and fails on any
// other input, so the mutator finds a failure at once. As make test runs
// it (FUZZ_ADVISORY=1) the finding is printed with its input and the
// build passes; as make fuzz runs it, the build fails. A target that does
// not build fails both.
func TestFuzzScriptAdvisory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fuzz target")
	}
	script, err := os.ReadFile("../../scripts/fuzz.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"scripts/fuzz.sh": string(script),
		"go.mod":          "module fuzzscript\n\ngo 1.24\n",
		"p/p.go":          "package p\n",
		"p/p_test.go": `package p

import "testing"

func FuzzOnlyTheSeed(f *testing.F) {
	f.Add("seed")
	f.Fuzz(func(t *testing.T, s string) {
		if s != "seed" {
			t.Fatalf("not the seed: %q", s)
		}
	})
}
`,
		"q/q_test.go": "package q\n\nimport \"testing\"\n\nfunc FuzzBroken(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) { undefined() }) }\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(env ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("bash", filepath.Join(dir, "scripts/fuzz.sh"))
		cmd.Env = append(os.Environ(), append([]string{"FUZZTIME=20s", "FUZZ_WORKERS=1", "GOFLAGS=-mod=mod"}, env...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	out, code := run("FUZZ_ADVISORY=1", "FUZZ_TARGETS=p:FuzzOnlyTheSeed")
	if code != 0 || !strings.Contains(out, "FOUND by mutation in ./p FuzzOnlyTheSeed") || !strings.Contains(out, "go test fuzz v1") {
		t.Fatalf("advisory run: exit %d, want 0 with the finding and its input printed\n%s", code, out)
	}
	if inputs, _ := filepath.Glob(filepath.Join(dir, "p/testdata/fuzz/FuzzOnlyTheSeed/*")); len(inputs) == 0 {
		t.Errorf("the input found is not under testdata/fuzz to be committed")
	}
	os.RemoveAll(filepath.Join(dir, "p/testdata"))

	if out, code := run("FUZZ_TARGETS=p:FuzzOnlyTheSeed"); code == 0 || !strings.Contains(out, "failed: ./p:FuzzOnlyTheSeed") {
		t.Errorf("make fuzz: exit %d, want a failure naming the target\n%s", code, out)
	}
	if out, code := run("FUZZ_ADVISORY=1", "FUZZ_TARGETS=q:FuzzBroken"); code == 0 || !strings.Contains(out, "failed: ./q:FuzzBroken") {
		t.Errorf("a target that does not build, advisory: exit %d, want a failure\n%s", code, out)
	}
}
