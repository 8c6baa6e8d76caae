package jobs

import (
	"sync"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
)

// CachedCalendar answers banking-day questions from ach.Calendar, remembering
// each date: a run asks about the same few dates millions of times.
type CachedCalendar struct {
	cal ach.Calendar
	mu  sync.Mutex
	day map[civil.Date]bool
}

// NewCachedCalendar returns an empty cache over the Federal Reserve calendar.
func NewCachedCalendar() *CachedCalendar {
	return &CachedCalendar{day: map[civil.Date]bool{}}
}

// IsBankingDay reports whether d is a banking day.
func (c *CachedCalendar) IsBankingDay(d civil.Date) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.day[d]
	if !ok {
		b = c.cal.IsBankingDay(d)
		c.day[d] = b
	}
	return b
}

// AddBankingDays returns the date n banking days after d (before, n < 0).
func (c *CachedCalendar) AddBankingDays(d civil.Date, n int) civil.Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for ; n > 0; n-- {
		for i := 0; i < 30; i++ {
			d = d.AddDays(step)
			if c.IsBankingDay(d) {
				break
			}
		}
	}
	return d
}

// NextBankingDay returns the first banking day after d.
func (c *CachedCalendar) NextBankingDay(d civil.Date) civil.Date { return c.AddBankingDays(d, 1) }

// PreviousOrSameBankingDay returns d if it is a banking day, else the one before.
func (c *CachedCalendar) PreviousOrSameBankingDay(d civil.Date) civil.Date {
	if c.IsBankingDay(d) {
		return d
	}
	return c.AddBankingDays(d, -1)
}
