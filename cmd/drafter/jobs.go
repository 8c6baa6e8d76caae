package main

import (
	"strings"

	"github.com/drafterhq/drafter/jobs"
)

// registry is every job drafter runs, by name.
func registry() jobs.Registry {
	return jobs.Registry{
		"originate":  jobs.Originate{},
		"returns":    jobs.Returns{},
		"statements": jobs.Statements{},
		"lease-end":  jobs.LeaseEnd{},
		"deliver":    jobs.Deliver{},
		"transmit":   jobs.Transmit{},
		"receive":    jobs.Receive{},
	}
}

// nightly is the order of the nightly cycle. Returns come first: what the
// bank sent back during the day is applied before the night's origination.
var nightly = []string{"returns", "originate", "statements", "lease-end", "deliver"}

func jobList() string { return strings.Join(append(registry().Names(), "nightly"), ", ") }
