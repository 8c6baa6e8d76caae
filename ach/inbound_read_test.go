package ach

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseWithWindow parses data with moov-io/ach reading windows of at most
// n entries.
func parseWithWindow(t *testing.T, n int, data []byte) (Inbound, string) {
	t.Helper()
	old := inboundWindowEntries
	inboundWindowEntries = n
	defer func() { inboundWindowEntries = old }()
	in, err := ParseInbound(bytes.NewReader(data), "x.ach")
	if err != nil {
		return Inbound{}, err.Error()
	}
	return in, ""
}

// TestReadInboundWindows: whatever the window, a file reads the same, and a
// broken one is refused with the same words, as when moov-io/ach reads it
// whole: every fixture, and every fixture with a byte changed at places
// that matter.
func TestReadInboundWindows(t *testing.T) {
	files := map[string][]byte{}
	for _, name := range []string{"returns.ach", "noc.ach"} {
		files[name] = inboundFixture(t, name)
	}
	strict, _ := filepath.Glob(filepath.Join(inboundFixtureDir, "strict", "*.ach"))
	for _, path := range strict {
		files[filepath.Base(path)] = inboundFixture(t, filepath.Join("strict", filepath.Base(path)))
	}
	for name, data := range files {
		want, wantErr := parseWithWindow(t, 1<<30, data)
		for _, n := range []int{1, 2, 5} {
			got, gotErr := parseWithWindow(t, n, data)
			if gotErr != wantErr || !reflect.DeepEqual(got, want) {
				t.Errorf("%s, windows of %d: %v %q, want %v %q", name, n, len(got.Returns)+len(got.Corrections), gotErr,
					len(want.Returns)+len(want.Corrections), wantErr)
			}
		}
		if name != "returns.ach" && name != "noc.ach" {
			continue
		}
		lines := strings.Split(string(data), "\n")
		for i := range lines {
			for _, col := range []int{0, 1, 3, 12, 30, 40, 55, 75, 80, 87, 93} {
				if col >= len(lines[i]) {
					continue
				}
				for _, c := range []byte{'X', '9', ' '} {
					m := append([]string(nil), lines...)
					m[i] = m[i][:col] + string(c) + m[i][col+1:]
					mutated := []byte(strings.Join(m, "\n"))
					want, wantErr := parseWithWindow(t, 1<<30, mutated)
					got, gotErr := parseWithWindow(t, 1, mutated)
					if gotErr != wantErr || !reflect.DeepEqual(got, want) {
						t.Errorf("%s line %d column %d = %q: windows of 1: %q, whole: %q", name, i+1, col+1, c, gotErr, wantErr)
					}
				}
			}
		}
	}
}

// TestReadInboundEach: ReadInbound gives each the entries ParseInbound
// collects, in order, and stops at an error of each's.
func TestReadInboundEach(t *testing.T) {
	data := inboundFixture(t, "returns.ach")
	want, err := ParseInbound(bytes.NewReader(data), "returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	var got []ReturnEntry
	in, err := ReadInbound(bytes.NewReader(data), "returns.ach", func(e InboundEntry) error {
		got = append(got, *e.Return)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, want.Returns) || in.SHA256 != want.SHA256 || in.Records != want.Records {
		t.Fatalf("ReadInbound: %d entries, %v", len(got), err)
	}
	stop := fmt.Errorf("stop")
	calls := 0
	if _, err := ReadInbound(bytes.NewReader(data), "returns.ach", func(InboundEntry) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("each's error: %v after %d calls, want it after 1", err, calls)
	}
}
