// Command testreport reads `go test -json` on standard input and prints what
// a person wants from `make test`: each package's result, the output of every
// failed test, every skipped test with its reason, and a closing line
// "N passed, N failed, N skipped". It exits 1 when anything failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	outputs := map[string][]string{}
	var failed, skipped []string
	passed := 0
	pkgFailed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			outputs[key] = append(outputs[key], e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			} else {
				fmt.Printf("ok    %s (%.1fs)\n", e.Package, e.Elapsed)
			}
			delete(outputs, key)
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, key+": "+skipReason(outputs[key]))
			} else {
				fmt.Printf("--    %s (no tests)\n", e.Package)
			}
			delete(outputs, key)
		case "fail":
			if e.Test != "" {
				failed = append(failed, key)
				fmt.Printf("FAIL  %s\n%s", key, strings.Join(outputs[key], ""))
			} else {
				pkgFailed = true
				fmt.Printf("FAIL  %s (%.1fs)\n%s", e.Package, e.Elapsed, strings.Join(outputs[key], ""))
			}
			delete(outputs, key)
		}
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		fmt.Printf("\nSkipped tests (%d):\n", len(skipped))
		for _, s := range skipped {
			fmt.Println("  " + s)
		}
	}
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", passed, len(failed), len(skipped))
	if len(failed) > 0 || pkgFailed {
		os.Exit(1)
	}
}

// skipReason picks the t.Skip message out of a test's output.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "(no reason given)"
}
