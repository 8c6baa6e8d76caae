package jobs

import (
	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/config"
)

type configView = *config.Config

// originator is the lender as the ACH originator, from config (checked at
// load by the build's own rules).
func originator(c *config.Config) ach.Originator { return c.Originator() }
