package ledger

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxOperatorName is the longest operator name the ledger records.
const MaxOperatorName = 64

// CheckOperator refuses an operator name the audit log should not hold:
// empty, longer than MaxOperatorName characters, not UTF-8, with a control
// or other unprintable character (a newline would forge a log line), or
// with blanks around it.
func CheckOperator(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case !utf8.ValidString(name):
		return errors.New("not UTF-8 text")
	case utf8.RuneCountInString(name) > MaxOperatorName:
		return fmt.Errorf("%d characters, more than %d", utf8.RuneCountInString(name), MaxOperatorName)
	case strings.TrimSpace(name) != name:
		return errors.New("blanks before or after it")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("it holds the unprintable character %U", r)
		}
	}
	return nil
}
