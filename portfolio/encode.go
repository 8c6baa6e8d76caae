package portfolio

import (
	"strconv"
	"unicode/utf8"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// appendAccount appends a as one JSON object, byte for byte what
// encoding/json writes with HTML escaping off, several times faster: Generate
// writes millions of lines. The field order and omitempty rules mirror the
// struct tags in record.go; TestAppendAccountMatchesEncodingJSON holds them
// together.
func appendAccount(b []byte, a *Account) []byte {
	b = append(b, '{')
	b = appendStrField(b, "id", a.ID, false)
	b = appendStrField(b, "kind", a.Kind, true)
	b = appendStrField(b, "status", a.Status, true)

	cu := &a.Customer
	b = append(b, `,"customer":{`...)
	b = appendStrField(b, "id", cu.ID, false)
	b = appendStrField(b, "first_name", cu.FirstName, true)
	b = appendStrField(b, "last_name", cu.LastName, true)
	b = appendStrField(b, "email", cu.Email, true)
	if cu.Phone != "" {
		b = appendStrField(b, "phone", cu.Phone, true)
	}
	ad := &cu.Address
	b = append(b, `,"address":{`...)
	b = appendStrField(b, "line1", ad.Line1, false)
	if ad.Line2 != "" {
		b = appendStrField(b, "line2", ad.Line2, true)
	}
	b = appendStrField(b, "city", ad.City, true)
	b = appendStrField(b, "state", ad.State, true)
	b = appendStrField(b, "postal_code", ad.PostalCode, true)
	b = append(b, "}}"...)

	c := &a.Contract
	b = append(b, `,"contract":{`...)
	b = appendStrField(b, "state", c.State, false)
	b = appendDateField(b, "opened_on", c.OpenedOn)
	b = appendIntField(b, "term_months", int64(c.TermMonths))
	b = appendIntField(b, "monthly_payment_cents", int64(c.MonthlyPayment))
	b = appendCentsOmit(b, "monthly_tax_cents", c.MonthlyTax)
	b = appendDateField(b, "first_due_date", c.FirstDueDate)
	b = appendIntField(b, "due_day", int64(c.DueDay))
	b = appendIntField(b, "cycle_day", int64(c.CycleDay))
	b = appendDateField(b, "maturity_date", c.MaturityDate)
	b = appendIntField(b, "late_fee_cents", int64(c.LateFee))
	b = appendIntField(b, "grace_days", int64(c.GraceDays))
	b = appendIntField(b, "returned_payment_fee_cents", int64(c.ReturnedPaymentFee))
	b = appendCentsOmit(b, "amount_financed_cents", c.AmountFinanced)
	b = appendIntOmit(b, "apr_bps", c.APRBasisPoints)
	b = appendCentsOmit(b, "capitalized_cost_cents", c.CapitalizedCost)
	b = appendIntOmit(b, "money_factor_millionths", c.MoneyFactorMillionths)
	b = appendCentsOmit(b, "residual_value_cents", c.ResidualValue)
	b = appendIntOmit(b, "mileage_allowance_per_year", c.MileageAllowancePerYear)
	b = appendCentsOmit(b, "excess_mileage_rate_cents", c.ExcessMileageRate)
	b = appendCentsOmit(b, "purchase_option_fee_cents", c.PurchaseOptionFee)
	b = appendCentsOmit(b, "disposition_fee_cents", c.DispositionFee)
	b = appendIntOmit(b, "start_odometer", c.StartOdometer)
	vh := &c.Vehicle
	b = append(b, `,"vehicle":{`...)
	b = appendStrField(b, "vin", vh.VIN, false)
	b = appendIntField(b, "year", int64(vh.Year))
	b = appendStrField(b, "make", vh.Make, true)
	b = appendStrField(b, "model", vh.Model, true)
	b = append(b, "}}"...)

	bl := &a.Balance
	b = append(b, `,"balance":{`...)
	b = appendKey(b, "as_of", false)
	b = appendDate(b, bl.AsOf)
	b = appendIntField(b, "principal_cents", int64(bl.Principal))
	b = appendCentsOmit(b, "accrued_interest_cents", bl.AccruedInterest)
	b = appendCentsOmit(b, "fees_due_cents", bl.FeesDue)
	b = appendCentsOmit(b, "past_due_cents", bl.PastDue)
	b = appendIntField(b, "payments_made", int64(bl.PaymentsMade))
	if len(bl.History) > 0 {
		b = append(b, `,"history":[`...)
		for i := range bl.History {
			h := &bl.History[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendKey(b, "on", false)
			b = appendDate(b, h.On)
			b = appendIntField(b, "balance_cents", int64(h.Balance))
			b = appendIntField(b, "principal_cents", int64(h.Principal))
			b = appendIntField(b, "fees_due_cents", int64(h.FeesDue))
			b = appendIntField(b, "past_due_cents", int64(h.PastDue))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')

	if len(a.BankAccounts) > 0 {
		b = append(b, `,"bank_accounts":[`...)
		for i := range a.BankAccounts {
			ba := &a.BankAccounts[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStrField(b, "id", ba.ID, false)
			b = appendStrField(b, "routing", ba.Routing, true)
			b = appendStrField(b, "account_number", ba.AccountNumber, true)
			b = appendStrField(b, "type", ba.Type, true)
			b = appendStrField(b, "holder_name", ba.HolderName, true)
			b = appendStrField(b, "prenote", ba.Prenote, true)
			b = appendStrField(b, "status", ba.Status, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if ap := a.Autopay; ap != nil {
		b = append(b, `,"autopay":{`...)
		b = appendStrField(b, "id", ap.ID, false)
		b = appendStrField(b, "bank_account_id", ap.BankAccountID, true)
		b = appendDateField(b, "authorized_on", ap.AuthorizedOn)
		b = appendDateField(b, "starts_on", ap.StartsOn)
		b = appendIntField(b, "days_before_due", int64(ap.DaysBeforeDue))
		b = appendCentsOmit(b, "amount_cents", ap.Amount)
		b = appendStrField(b, "status", ap.Status, true)
		b = append(b, '}')
	}
	if len(a.ScheduledPayments) > 0 {
		b = append(b, `,"scheduled_payments":[`...)
		for i := range a.ScheduledPayments {
			sp := &a.ScheduledPayments[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStrField(b, "id", sp.ID, false)
			b = appendStrField(b, "bank_account_id", sp.BankAccountID, true)
			b = appendIntField(b, "amount_cents", int64(sp.Amount))
			b = appendDateField(b, "debit_on", sp.DebitOn)
			b = appendStrField(b, "channel", sp.Channel, true)
			b = appendStrField(b, "authorized_at", sp.AuthorizedAt, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(a.OdometerReadings) > 0 {
		b = append(b, `,"odometer_readings":[`...)
		for i := range a.OdometerReadings {
			r := &a.OdometerReadings[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendKey(b, "on", false)
			b = appendDate(b, r.On)
			b = appendIntField(b, "miles", int64(r.Miles))
			b = appendStrField(b, "source", r.Source, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(a.Transactions) > 0 {
		b = append(b, `,"transactions":[`...)
		for i := range a.Transactions {
			t := &a.Transactions[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendStrField(b, "id", t.ID, false)
			b = appendDateField(b, "posted_on", t.PostedOn)
			b = appendStrField(b, "kind", t.Kind, true)
			b = appendIntField(b, "amount_cents", int64(t.Amount))
			if t.Description != "" {
				b = appendStrField(b, "description", t.Description, true)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendKey(b []byte, key string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStrField(b []byte, key, s string, comma bool) []byte {
	return appendString(appendKey(b, key, comma), s)
}

func appendIntField(b []byte, key string, n int64) []byte {
	return strconv.AppendInt(appendKey(b, key, true), n, 10)
}

func appendIntOmit(b []byte, key string, n int) []byte {
	if n == 0 {
		return b
	}
	return appendIntField(b, key, int64(n))
}

func appendCentsOmit(b []byte, key string, c money.Cents) []byte {
	if c == 0 {
		return b
	}
	return appendIntField(b, key, int64(c))
}

func appendDateField(b []byte, key string, d civil.Date) []byte {
	return appendDate(appendKey(b, key, true), d)
}

// appendDate writes "YYYY-MM-DD", or null for the zero Date, as
// civil.Date.MarshalJSON does.
func appendDate(b []byte, d civil.Date) []byte {
	if d.IsZero() {
		return append(b, "null"...)
	}
	if d.Year < 0 || d.Year > 9999 {
		return appendString(b, d.String())
	}
	y, m, dd := d.Year, int(d.Month), d.Day
	return append(b, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+dd/10), byte('0'+dd%10), '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off: invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are
// escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
