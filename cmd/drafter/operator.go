package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/drafterhq/drafter/ledger"
)

// registerOperator adds --as to a write command's flags.
func (c *common) registerOperator(fs *flagSet) {
	fs.StringVar(&c.as, "as", "", "the operator this write is recorded under (default DRAFTER_OPERATOR, else the OS user)")
}

// operator is who a write command is recorded under: --as, else
// DRAFTER_OPERATOR, else the name of the process's OS user (its uid in the
// password database, not $USER). With none, or a name the ledger would not
// hold, the write is refused before anything is opened: a usage error
// saying how to name one.
func (c *common) operator() (string, error) {
	return resolveOperator(c.as, os.Getenv, osUser)
}

func resolveOperator(as string, getenv func(string) string, osUser func() (string, error)) (string, error) {
	name, from := as, "--as"
	if name == "" {
		name, from = getenv("DRAFTER_OPERATOR"), "DRAFTER_OPERATOR"
	}
	if name == "" {
		u, err := osUser()
		if err != nil || u == "" {
			return "", usageErrorf("no operator to record this write under: give --as NAME, or set DRAFTER_OPERATOR=NAME "+
				"(under cron, systemd or in a container, set it where the command is started); the OS user has no name: %v", err)
		}
		name, from = u, "the OS user"
	}
	if err := ledger.CheckOperator(name); err != nil {
		return "", usageErrorf("operator %q from %s: want 1 to %d printable characters: %v", name, from, ledger.MaxOperatorName, err)
	}
	return name, nil
}

// osUser is the name of the process's user in the password database.
func osUser() (string, error) {
	uid := os.Getuid()
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", fmt.Errorf("uid %d: %w", uid, err)
	}
	if u.Username == "" {
		return "", errors.New("uid " + strconv.Itoa(uid) + " has no user name")
	}
	return u.Username, nil
}
