package ach

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
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

// inboundGenerated returns a valid return file of n entries in one batch,
// made as it is read (never whole in memory).
func inboundGenerated(t *testing.T, n int) io.Reader {
	t.Helper()
	fixture := strings.Split(string(inboundFixture(t, "returns.ach")), "\n")
	header, bh := fixture[0], fixture[1]
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		var hash, debit int64
		for i := 0; i < n; i++ {
			if i == 0 {
				fmt.Fprintf(w, "%s\n%s\n", header, bh)
			}
			trace := fmt.Sprintf("01100001%07d", i+1)
			amount := int64(1000 + i%5000)
			fmt.Fprintf(w, "6260210000214%-16d%010d%-15s%-22s  1%s\n", 400000+i, amount, fmt.Sprintf("LN%08d", i), "CUSTOMER", trace)
			fmt.Fprintf(w, "799R01%s      01100001%44s%s\n", fmt.Sprintf("02100002%07d", i+1), "", trace)
			hash += 2100002
			debit += amount
		}
		records := 2 * n
		fmt.Fprintf(w, "8225%06d%010d%012d%012d%s%25s%s\n", records, hash%10_000_000_000, debit, 0, bh[40:50], "", bh[79:94])
		lines := records + 4
		fmt.Fprintf(w, "9%06d%06d%08d%010d%012d%012d%39s\n", 1, (lines+9)/10, records, hash%10_000_000_000, debit, 0, "")
		for ; lines%10 != 0; lines++ {
			fmt.Fprintln(w, strings.Repeat("9", 94))
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// TestReadInboundMemoryBounded: the heap ReadInbound needs does not grow
// with the file: the peak for 50,000 entries (10 MB) is within a few MB
// of the peak for 5,000: the original traces kept for repeats and the GC's
// slack.
func TestReadInboundMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 10 MB of generated returns")
	}
	peak := func(n int) uint64 {
		runtime.GC()
		var base, m runtime.MemStats
		runtime.ReadMemStats(&base)
		var top uint64
		entries := 0
		in, err := ReadInbound(inboundGenerated(t, n), "generated.ach", func(e InboundEntry) error {
			entries++
			if entries%2500 == 0 {
				runtime.ReadMemStats(&m)
				top = max(top, m.HeapInuse)
			}
			return nil
		})
		if err != nil || entries != n || in.Records%10 != 0 {
			t.Fatalf("%d entries: %d read, %v", n, entries, err)
		}
		return top - min(top, base.HeapInuse)
	}
	small, large := peak(5000), peak(50000)
	t.Logf("heap in use while reading: %d KiB for 5,000 entries, %d KiB for 50,000", small>>10, large>>10)
	if large > small+8<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB with the file", small>>10, large>>10)
	}
}
