package bank

import (
	"bytes"
	"strings"
	"unicode"
)

// Ack is one line of an acknowledgement file from the bank: it accepted
// or rejected a file drafter sent.
type Ack struct {
	// Line is the line number in the acknowledgement file, from 1.
	Line int `json:"line"`
	// Accepted is false for a rejection.
	Accepted bool `json:"accepted"`
	// File is the remote name of the file acknowledged, as sent.
	File string `json:"file"`
	// Detail is the rest of the line: counts, totals, a reason.
	Detail string `json:"detail,omitempty"`
}

// ackMaxLines bounds what ParseAck reads: an acknowledgement names a
// day's few files.
const ackMaxLines = 10000

// ParseAck reads the simple acknowledgement format banks (and SFTP
// gateways) send back for each file they receive: plain text, one file a
// line, the verdict first and the file's name second, anything after that
// a detail:
//
//	ACCEPTED drafter-20261125-A.ach 12 entries $1,234.56
//	REJECTED drafter-20261125-B.ach file hash total does not match
//
// ACK and ACCEPT mean ACCEPTED; NAK, NACK and REJECT mean REJECTED; case
// does not matter, blank lines and lines beginning with # are skipped.
// ok is false for bytes that are not such a file (another line, a control
// byte, no line at all): receive keeps those as they are and flags them
// for a person.
func ParseAck(data []byte) (acks []Ack, ok bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if len(lines) > ackMaxLines {
		return nil, false
	}
	for i, line := range lines {
		for _, r := range line {
			if r == unicode.ReplacementChar || (unicode.IsControl(r) && r != '\t') {
				return nil, false
			}
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 2 {
			return nil, false
		}
		a := Ack{Line: i + 1, File: fields[1], Detail: strings.Join(fields[2:], " ")}
		switch strings.ToUpper(fields[0]) {
		case "ACCEPTED", "ACCEPT", "ACK":
			a.Accepted = true
		case "REJECTED", "REJECT", "NAK", "NACK":
		default:
			return nil, false
		}
		acks = append(acks, a)
	}
	return acks, len(acks) > 0
}

// LooksLikeNACHA reports whether a file from the bank is a NACHA file
// (returns, NOCs): it begins with a file header record ("101"), after a
// byte-order mark or blank lines a strict reader names, or its name says
// so (.ach, .nacha), so that a damaged return file still reaches the
// returns job and is refused there with the line and field.
func LooksLikeNACHA(name string, data []byte) bool {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".ach") || strings.HasSuffix(lower, ".nacha") {
		return true
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \r\n")
	return bytes.HasPrefix(data, []byte("101"))
}
