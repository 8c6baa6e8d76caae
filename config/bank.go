package config

import (
	"errors"

	"github.com/drafterhq/drafter/bank"
)

// loadBank reads the bank connection's settings (bank.ParseSettings checks
// them, key and known_hosts files included) and, with a bank, schedules
// transmit and receive unless their specs are set.
func (c *Config) loadBank(get func(string) string) error {
	b, err := bank.ParseSettings(get)
	var se *bank.SettingError
	if errors.As(err, &se) {
		return &Error{se.Setting, se.Value, se.Want}
	}
	if err != nil {
		return err
	}
	c.Bank = b
	defaults := map[string]string{"transmit": "30 16 * * *", "receive": "*/15 6-18 * * *"}
	for job, spec := range defaults {
		switch {
		case c.Schedule[job] != "":
		case b != nil:
			c.Schedule[job] = spec
		default:
			c.Schedule[job] = "off"
		}
	}
	return nil
}
