package ledger

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// PostgreSQL's binary COPY format (the COPY page of its manual, "Binary
// Format"): a signature, flags and header extension length; then each
// tuple as its field count and each field as a length and its value in
// the type's binary form (big-endian integers, a date as days since
// 2000-01-01, text and bytea as their bytes); then a field count of -1.
var pgCopySignature = []byte("PGCOPY\n\xff\r\n\x00")

// pgEpoch is day 0 of PostgreSQL's binary date.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// pgCopyChunk is about how many bytes one Read of an originationsCopy
// encodes at a time: what pgconn reads into one CopyData message.
const pgCopyChunk = 64 << 10

// originationsCopy streams a file's originations records in COPY's binary
// format, a chunk of rows at a time, so a file's records are never all
// encoded in memory at once. Encoding the rows here, each field straight
// into the buffer, cost a fifth of what pgx's CopyFrom did (a slice of
// values a row, each value's encoder found by its type).
type originationsCopy struct {
	allocs              []*Allocation
	fileID              int64
	business, effective int32
	seal                func(dst []byte, a *Allocation) []byte
	next                int // the next allocation to encode
	buf                 []byte
	off                 int // what of buf was read
	started, ended      bool
}

// originationsCopyColumns lists the columns in the order each tuple sends
// them: the COPY statement names them so.
const originationsCopyColumns = `payment_id, ach_file_id, business_date, effective_on, trace_number, rdfi_routing, number_enc, transaction_code,
	individual_name, individual_id`

func newOriginationsCopy(f ACHFile, allocs []*Allocation, seal func(dst []byte, a *Allocation) []byte) *originationsCopy {
	return &originationsCopy{allocs: allocs, fileID: f.ID, business: pgDate(f.BusinessDate), effective: pgDate(f.EffectiveOn), seal: seal}
}

// pgDate is d as PostgreSQL's binary date.
func pgDate(d civil.Date) int32 {
	return int32(d.In(time.UTC).Sub(pgEpoch).Hours() / 24)
}

// Read implements io.Reader.
func (c *originationsCopy) Read(p []byte) (int, error) {
	if c.off == len(c.buf) {
		if c.ended {
			return 0, io.EOF
		}
		c.fill()
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// fill encodes the next chunk of rows into buf (the header first, the
// trailer after the last row).
func (c *originationsCopy) fill() {
	b := c.buf[:0]
	if !c.started {
		b = append(b, pgCopySignature...)
		b = binary.BigEndian.AppendUint32(b, 0) // flags
		b = binary.BigEndian.AppendUint32(b, 0) // header extension length
		c.started = true
	}
	for ; c.next < len(c.allocs) && len(b) < pgCopyChunk; c.next++ {
		a := c.allocs[c.next]
		b = binary.BigEndian.AppendUint16(b, 10)
		b = appendPgInt8(b, a.PaymentID)
		b = appendPgInt8(b, c.fileID)
		b = appendPgInt4(b, c.business)
		b = appendPgInt4(b, c.effective)
		b = appendPgText(b, a.TraceNumber)
		b = appendPgText(b, a.RDFIRouting)
		// The sealed number is appended in place, its length after.
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = c.seal(b, a)
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
		b = appendPgInt4(b, int32(a.TransactionCode))
		b = appendPgText(b, a.IndividualName)
		b = appendPgText(b, a.IndividualID)
	}
	if c.next == len(c.allocs) {
		b = binary.BigEndian.AppendUint16(b, 0xffff) // -1: no more tuples
		c.ended = true
	}
	c.buf, c.off = b, 0
}

func appendPgInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendPgInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func appendPgText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
