package portfolio

import (
	"errors"
	"fmt"
	"strings"

	"github.com/drafterhq/drafter/mask"
)

// FieldError is one problem with one field of an account: Field is the JSON
// path of the field (bank_accounts[1].routing) and Problem says what is wrong
// and what is expected.
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "field: problem".
func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// LineError is a problem with one line of an extract file, for a person to
// read and fix: Error returns "FILE:LINE: field: problem". Field is a JSON
// path such as bank_accounts[1].routing, or "(line)" when the line as a whole
// is wrong (not JSON, too long).
type LineError struct {
	File    string
	Line    int
	Field   string
	Problem string
}

// Error returns "FILE:LINE: field: problem".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Problem)
}

// FieldLine is the Field of a LineError about a line as a whole.
const FieldLine = "(line)"

// LineErrors lists the *LineError values in err: err itself, or each error
// it joins (errors.Join), in order. It returns nil when there are none.
func LineErrors(err error) []*LineError {
	if err == nil {
		return nil
	}
	var out []*LineError
	var walk func(error)
	walk = func(e error) {
		if le, ok := e.(*LineError); ok {
			out = append(out, le)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	walk(err)
	return out
}

// maskAccountNumber returns the last four digits behind asterisks
// (****6789), the only form an account number may take outside the NACHA
// file.
func maskAccountNumber(n string) string {
	if len(n) <= 4 {
		return strings.Repeat("*", len(n))
	}
	return mask.Number(n)
}
