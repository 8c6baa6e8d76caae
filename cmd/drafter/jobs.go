package main

import (
	"fmt"
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

// jobAbout says what each job does, for `drafter run --help`.
var jobAbout = map[string]string{
	"returns":    "apply the return and NOC files the bank sent (storage ach/inbound/)",
	"originate":  "create the payments that fall due and build the NACHA files",
	"statements": "statements of the accounts whose cycle ends on the date: render, store, queue the email",
	"lease-end":  "lease-end notices for leases maturing in DRAFTER_LEASE_END_DAYS days",
	"deliver":    "settle the payment rows of the files originate stored and queue their \"payment scheduled\" email, then send the queued email, with retries",
	"transmit":   "send the stored NACHA files to the bank over SFTP (DRAFTER_BANK_URL)",
	"receive":    "fetch the bank's return and NOC files and store them",
}

// jobHelp lists the jobs and nightly, one a line.
func jobHelp() string {
	var b strings.Builder
	for _, n := range registry().Names() {
		fmt.Fprintf(&b, "  %-11s %s\n", n, jobAbout[n])
	}
	fmt.Fprintf(&b, "  %-11s %s", "nightly", "every job of the night in order: "+strings.Join(nightly, ", "))
	return b.String()
}
