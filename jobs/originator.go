package jobs

import (
	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/config"
)

type configView = *config.Config

// originator is the lender as the ACH originator, from config.
func originator(c *config.Config) ach.Originator {
	o := ach.Originator{
		ODFIRouting:              c.ODFIRouting,
		ImmediateDestination:     c.ODFIRouting,
		ImmediateDestinationName: c.ODFIName,
		ImmediateOrigin:          c.ODFIRouting,
		ImmediateOriginName:      c.OriginName,
		CompanyName:              c.CompanyName,
		CompanyID:                c.CompanyID,
	}
	if c.OffsetRouting != "" {
		o.Offset = &ach.OffsetAccount{Routing: c.OffsetRouting, AccountNumber: c.OffsetAccount, Type: c.OffsetType, Name: c.CompanyName}
	}
	return o
}
