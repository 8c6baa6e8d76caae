package statements

import (
	"testing"
	"time"
)

// benchStatement is a one-page statement with a 30-row table, like the
// MEASURED.md figures.
func benchStatement(b *testing.B, name string) Statement {
	s := sampleLoan(b)
	s.Customer.Name = name
	s.Lines = s.Lines[:0]
	for i := range 30 {
		s.Lines = append(s.Lines, Line{Date: s.CycleStart.AddDays(i), Kind: TxPayment, Description: "Online payment - thank you", Amount: -15_00})
	}
	return s
}

func benchRender(b *testing.B, s Statement) {
	l := testLender()
	if _, err := RenderStatement(s, l); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := RenderStatement(s, l); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportDocs(b, cpu)
}

// BenchmarkRenderStatement renders statements in parallel (run with
// -cpu 1,2): a cp1252 name (one code page), and a Vietnamese name (two).
func BenchmarkRenderStatement(b *testing.B) {
	b.Run("latin1", func(b *testing.B) { benchRender(b, benchStatement(b, "José Muñoz")) })
	b.Run("vietnamese", func(b *testing.B) { benchRender(b, benchStatement(b, "Trần Đức Thắng")) })
}

func BenchmarkRenderLeaseEnd(b *testing.B) {
	n := sampleNotice(b)
	l := testLender()
	b.ReportAllocs()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := RenderLeaseEnd(n, l); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportDocs(b, cpu)
}

// reportDocs reports documents a second (wall) and CPU milliseconds a
// document (all threads, GC included) since cpuStart.
func reportDocs(b *testing.B, cpuStart time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	if used := processCPU() - cpuStart; used > 0 {
		b.ReportMetric(used.Seconds()*1000/float64(b.N), "cpu-ms/doc")
	}
}
