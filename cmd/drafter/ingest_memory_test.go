package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestIngestMemoryBenchmark measures the peak RSS of `drafter returns
// ingest` of a large valid return file, every entry a return of a payment
// the ledger originated, with /usr/bin/time -v. Part of make bench, not make
// test: DRAFTER_INGEST_RSS_BENCH=530000 (entries; 530,000 make a 100 MB
// file) runs it, and it fails above 200 MiB. DRAFTER_INGEST_RSS_BIN
// also measures another drafter binary (an older build) on the same file,
// first, on a copy of the data dir, and only reports it.
// DRAFTER_INGEST_RSS_KEEP=DIR keeps the prepared data dir and file there.
func TestIngestMemoryBenchmark(t *testing.T) {
	v := os.Getenv("DRAFTER_INGEST_RSS_BENCH")
	if v == "" || testing.Short() {
		t.Skip("set DRAFTER_INGEST_RSS_BENCH=530000 to measure ingest of a 100 MB return file")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("DRAFTER_INGEST_RSS_BENCH=%q: want a number of entries", v)
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("/usr/bin/time is missing: apt-get install -y time")
	}
	ctx := context.Background()
	night, day := civil.MustParse("2026-12-01"), civil.MustParse("2026-12-02")
	dir := t.TempDir()
	env := []string{"DRAFTER_LOG_LEVEL=warn"}
	mustDrafter(t, dir, env, "migrate")
	st := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	if err := jobs.SeedBenchPayments(ctx, st, n, night); err != nil {
		t.Fatal(err)
	}
	st.Close()
	mustDrafter(t, dir, env, "run", "originate", "--date", night.String())
	var originals []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(path), "ach/outbound/") && strings.HasSuffix(path, ".ach") {
			originals = append(originals, path)
		}
		return err
	})
	if err != nil || len(originals) == 0 {
		t.Fatalf("origination files: %v %v", originals, err)
	}
	file := filepath.Join(t.TempDir(), "returns.ach")
	entries, err := writeReturnsFor(file, originals, day)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(file)
	if keep := os.Getenv("DRAFTER_INGEST_RSS_KEEP"); keep != "" {
		// Kept for measuring builds by hand: KEEP/data and KEEP/returns.ach.
		if out, err := exec.Command("sh", "-c", `mkdir -p "$1/data" && cp -a "$2/." "$1/data/" && cp "$3" "$1/returns.ach"`, "sh", keep, dir, file).CombinedOutput(); err != nil {
			t.Fatalf("keep: %v %s", err, out)
		}
	}
	if other := os.Getenv("DRAFTER_INGEST_RSS_BIN"); other != "" {
		// The other binary first, on a copy of the data dir.
		copyDir := t.TempDir()
		if out, err := exec.Command("cp", "-a", dir+"/.", copyDir).CombinedOutput(); err != nil {
			t.Fatalf("copy data dir: %v %s", err, out)
		}
		kb, wall := measureIngest(t, other, copyDir, env, file, day, entries)
		t.Logf("returns ingest of %d entries, %.1f MB (%d bytes): peak RSS %d MiB, wall %s (%s)", entries, float64(fi.Size())/1e6, fi.Size(), kb>>10, wall, other)
	}
	kb, wall := measureIngest(t, drafterBin(t), dir, env, file, day, entries)
	t.Logf("returns ingest of %d entries, %.1f MB (%d bytes): peak RSS %d MiB, wall %s (this build)", entries, float64(fi.Size())/1e6, fi.Size(), kb>>10, wall)
	if kb>>10 >= 200 {
		t.Errorf("peak RSS %d MiB, want under 200 MiB", kb>>10)
	}
}

// measureIngest runs `bin returns ingest file` on the data dir under
// /usr/bin/time -v and returns its peak RSS in KiB and its wall time.
func measureIngest(t *testing.T, bin, dir string, env []string, file string, day civil.Date, entries int) (int64, string) {
	t.Helper()
	cmd := exec.Command("/usr/bin/time", "-v", bin, "returns", "ingest", file, "--date", day.String())
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ingest with %s: %v\n%s", bin, err, tail(string(out), 3000))
	}
	m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(string(out))
	w := regexp.MustCompile(`Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)`).FindStringSubmatch(string(out))
	if m == nil || w == nil {
		t.Fatalf("no figures from /usr/bin/time:\n%s", tail(string(out), 3000))
	}
	if !strings.Contains(string(out), fmt.Sprintf("(%d entries: %d matched", entries, entries)) {
		t.Errorf("%s: not every entry matched:\n%s", bin, tail(string(out), 3000))
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	return kb, w[1]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// writeReturnsFor writes, as the bank would, one return file returning
// every entry of the origination files (R01, some R03 and R10), record by
// record, and says how many entries it holds.
func writeReturnsFor(path string, originals []string, day civil.Date) (int, error) {
	out, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	const bank = "01100001" // the returning bank (RDFI), its trace prefix
	var (
		header                  string
		records, batches, count int
		seq                     int
		fileHash, fileDebit     int64
	)
	line := func(rec string) {
		if len(rec) != 94 {
			panic(fmt.Sprintf("record of %d: %q", len(rec), rec))
		}
		w.WriteString(rec)
		w.WriteByte('\n')
		records++
	}
	for _, orig := range originals {
		f, err := os.Open(orig)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		var bh string
		var bCount int
		var bHash, bDebit int64
		for sc.Scan() {
			rec := sc.Text()
			switch rec[0] {
			case '1':
				if header == "" {
					header = "101" + rec[13:23] + rec[3:13] + fmt.Sprintf("%02d%02d%02d", day.Year%100, int(day.Month), day.Day) + "0000A094101" + rec[63:86] + rec[40:63] + strings.Repeat(" ", 8)
					line(header)
				}
			case '5':
				batches++
				bh = rec[:79] + bank + fmt.Sprintf("%07d", batches)
				line(bh)
				bCount, bHash, bDebit = 0, 0, 0
			case '6':
				seq++
				code := "R01"
				switch {
				case seq%50 == 0:
					code = "R10"
				case seq%10 == 3:
					code = "R03"
				}
				tc := "26"
				if rec[1:3] == "37" {
					tc = "36"
				}
				routing := rec[79:87] // the original ODFI, from the original trace
				trace := bank + fmt.Sprintf("%07d", seq)
				line("6" + tc + routing + checkDigit(routing) + rec[12:78] + "1" + trace)
				line("799" + code + rec[79:94] + strings.Repeat(" ", 6) + rec[3:11] + strings.Repeat(" ", 44) + trace)
				r, _ := strconv.ParseInt(routing, 10, 64)
				amount, _ := strconv.ParseInt(rec[29:39], 10, 64)
				bCount += 2
				bHash += r
				bDebit += amount
				count++
			case '8':
				line("8225" + fmt.Sprintf("%06d%010d%012d%012d", bCount, bHash%10_000_000_000, bDebit, 0) + bh[40:50] + strings.Repeat(" ", 25) + bank + bh[87:94])
				fileHash += bHash
				fileDebit += bDebit
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return 0, err
		}
	}
	entryRecords := 2 * count
	total := records + 1
	blocks := (total + 9) / 10
	line("9" + fmt.Sprintf("%06d%06d%08d%010d%012d%012d", batches, blocks, entryRecords, fileHash%10_000_000_000, fileDebit, 0) + strings.Repeat(" ", 39))
	for records%10 != 0 {
		line(strings.Repeat("9", 94))
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return count, out.Close()
}

// checkDigit returns the ABA check digit of an 8-digit routing prefix.
func checkDigit(routing string) string {
	weights := [8]int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(routing[i]-'0') * weights[i]
	}
	return strconv.Itoa((10 - sum%10) % 10)
}
