package portfolio

import (
	"bytes"
	"io"
	"testing"
)

// benchAccounts is the batch one benchmark iteration handles, so that
// -benchtime 1x (as make bench runs) still measures something.
const benchAccounts = 20000

func BenchmarkGenerate(b *testing.B) {
	var out countingWriter
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := Generate(&out, GenerateOptions{Accounts: benchAccounts, Seed: int64(i), AsOf: testAsOf}); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*benchAccounts)/sec, "accounts/s")
	b.ReportMetric(float64(out.n)/float64(b.N*benchAccounts), "bytes/account")
}

func BenchmarkDecodeValidate(b *testing.B) {
	data := generate(b, GenerateOptions{Accounts: benchAccounts, Seed: 1, AsOf: testAsOf})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data), "bench.jsonl")
		n := 0
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchAccounts {
			b.Fatalf("decoded %d accounts, want %d", n, benchAccounts)
		}
	}
	b.ReportMetric(float64(b.N*benchAccounts)/b.Elapsed().Seconds(), "accounts/s")
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
