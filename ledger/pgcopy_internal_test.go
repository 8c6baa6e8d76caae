package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/drafterhq/drafter/civil"
)

// TestOriginationsCopyFormat decodes what originationsCopy streams, read
// a few bytes at a time across its chunks, by the binary COPY format's own
// rules: the signature and header, every tuple's ten fields as their
// columns' types send them, and the trailer, with nothing after it.
func TestOriginationsCopyFormat(t *testing.T) {
	for _, n := range []int{0, 1, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			allocs := make([]*Allocation, n)
			for i := range allocs {
				allocs[i] = &Allocation{PaymentID: int64(1_000_000_000_000 + i), TraceNumber: fmt.Sprintf("02100002%07d", i+1), RDFIRouting: "011000015",
					AccountNumber: fmt.Sprint(12345678 + i), TransactionCode: 27, IndividualName: "NGUYEN THI ANH", IndividualID: fmt.Sprintf("LN-%d", i)}
			}
			f := ACHFile{ID: 42, BusinessDate: civil.MustParse("2024-02-29"), EffectiveOn: civil.MustParse("1999-12-31")}
			seal := func(dst []byte, a *Allocation) []byte { return append(dst, "sealed:"+a.AccountNumber...) }
			var got bytes.Buffer
			r := newOriginationsCopy(f, allocs, seal)
			p := make([]byte, 7)
			for {
				k, err := r.Read(p)
				got.Write(p[:k])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			b := got.Bytes()
			take := func(k int) []byte {
				t.Helper()
				if len(b) < k {
					t.Fatalf("stream ends %d bytes short", k-len(b))
				}
				v := b[:k]
				b = b[k:]
				return v
			}
			if h := take(19); !bytes.Equal(h, append([]byte("PGCOPY\n\xff\r\n\x00"), 0, 0, 0, 0, 0, 0, 0, 0)) {
				t.Fatalf("header % x", h)
			}
			field := func() []byte {
				t.Helper()
				return take(int(binary.BigEndian.Uint32(take(4))))
			}
			int8 := func() int64 { t.Helper(); return int64(binary.BigEndian.Uint64(field())) }
			int4 := func() int32 { t.Helper(); return int32(binary.BigEndian.Uint32(field())) }
			for i, a := range allocs {
				if k := binary.BigEndian.Uint16(take(2)); k != 10 {
					t.Fatalf("tuple %d: %d fields, want 10", i, k)
				}
				// 2024-02-29 is 8,825 days after 2000-01-01; 1999-12-31 the day before it.
				row := []any{int8(), int8(), int4(), int4(), string(field()), string(field()), string(field()), int4(), string(field()), string(field())}
				want := []any{a.PaymentID, int64(42), int32(8825), int32(-1), a.TraceNumber, "011000015", "sealed:" + a.AccountNumber, int32(27),
					"NGUYEN THI ANH", a.IndividualID}
				if fmt.Sprint(row) != fmt.Sprint(want) {
					t.Fatalf("tuple %d: %v, want %v", i, row, want)
				}
			}
			if tr := take(2); !bytes.Equal(tr, []byte{0xff, 0xff}) || len(b) != 0 {
				t.Fatalf("trailer % x, then %d bytes", tr, len(b))
			}
		})
	}
}
