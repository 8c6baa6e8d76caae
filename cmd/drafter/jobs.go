package main

import (
	"strings"

	"github.com/drafterhq/drafter/jobs"
)

// registry is every job drafter runs, by name.
func registry() jobs.Registry {
	return jobs.Registry{
		"originate":  jobs.Originate{},
		"statements": jobs.Statements{},
		"lease-end":  jobs.LeaseEnd{},
	}
}

// nightly is the order of the nightly cycle.
var nightly = []string{"originate", "statements", "lease-end"}

func jobList() string { return strings.Join(append(registry().Names(), "nightly"), ", ") }
