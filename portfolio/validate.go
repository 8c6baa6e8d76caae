package portfolio

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Limits of the extract format. They are generous for real data and tight
// enough to catch a unit mistake (dollars sent as cents, cents as millionths).
const (
	MaxIDLen          = 64            // runes in any id
	MaxNameLen        = 100           // runes in a person's name or a holder name
	MaxAddressLineLen = 200           // runes in an address line
	MaxCityLen        = 100           // runes in a city
	MaxEmailLen       = 254           // bytes in an email address
	MaxVehicleTextLen = 50            // runes in a vehicle make or model
	MaxDescriptionLen = 200           // runes in a transaction description
	MaxAmount         = 9_999_999_999 // cents in any amount: $99,999,999.99, the NACHA entry limit
	MaxAPRBasisPoints = 3600          // 36.00%
	MaxMoneyFactor    = 10_000        // millionths: 0.01, about 24% APR
	MaxTermMonths     = 120
	MaxGraceDays      = 60
	MaxDaysBeforeDue  = 10
	MaxMiles          = 2_000_000
	MaxMileageAllow   = 100_000 // miles a year
)

// Enumerations of the extract format.
var (
	accountStatuses     = []string{"active", "paid_off", "closed"}
	bankAccountTypes    = []string{"checking", "savings"}
	prenoteStatuses     = []string{"verified", "required"}
	bankAccountStatuses = []string{"active", "invalid"}
	autopayStatuses     = []string{"active", "suspended", "stopped"}
	paymentChannels     = []string{"web", "phone"}
	odometerSources     = []string{"dealer", "customer", "telematics"}
	transactionKinds    = []string{"payment", "returned_payment", "late_fee", "returned_payment_fee", "interest", "adjustment"}
)

// usStates holds the USPS codes accepted in an address: the states, DC, the
// territories and the military codes.
var usStates = setOf(
	"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL",
	"IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT",
	"NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI",
	"SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
	"PR", "VI", "GU", "AS", "MP", "AA", "AE", "AP",
)

// contractStates holds the codes whose law can govern a contract: the states,
// DC and Puerto Rico.
var contractStates = func() map[string]bool {
	m := map[string]bool{}
	for s := range usStates {
		switch s {
		case "VI", "GU", "AS", "MP", "AA", "AE", "AP":
		default:
			m[s] = true
		}
	}
	return m
}()

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Validate checks one account against every rule of the extract format (see
// docs/portfolio-format.md) and returns the problems found, in field order,
// or nil. It never reveals a full bank account number.
func Validate(a Account) []FieldError {
	v := &validator{}
	v.account(&a)
	return v.errs
}

// Warnings lists what in a valid account imports as is but deserves a
// person's look, in field order, or nil: today, a bank account whose holder
// name leaves no letter a NACHA file can carry, so its debits carry
// ach.FallbackName (docs/names.md).
func Warnings(a Account) []FieldError {
	var ws []FieldError
	for i, ba := range a.BankAccounts {
		if _, fallback := ach.EntryName(ba.HolderName); fallback && ba.HolderName != "" {
			ws = append(ws, FieldError{
				Field: idx("bank_accounts", i, "holder_name"),
				Problem: fmt.Sprintf("account %s bank account %s: %q has no letter a NACHA file can carry; its debits will carry the name %s",
					a.ID, ba.ID, ba.HolderName, ach.FallbackName),
			})
		}
	}
	return ws
}

type validator struct {
	errs []FieldError
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func idx(prefix string, i int, field string) string {
	return prefix + "[" + strconv.Itoa(i) + "]." + field
}

func (v *validator) account(a *Account) {
	v.id("id", a.ID)
	switch a.Kind {
	case KindLoan, KindLease:
	case "":
		v.add("kind", "missing; want loan or lease")
	default:
		v.add("kind", "%q is not a kind; want loan or lease", a.Kind)
	}
	v.enum("status", a.Status, accountStatuses)
	v.customer(&a.Customer)
	v.contract(a)
	v.balance(a)
	bankIDs := v.bankAccounts(a.BankAccounts)
	v.autopay(a, bankIDs)
	v.scheduledPayments(a, bankIDs)
	v.odometer(a)
	v.transactions(a)
}

// id checks an identifier: 1..64 characters from A-Z a-z 0-9 . _ : -
func (v *validator) id(field, s string) {
	if s == "" {
		v.add(field, "missing; want an id of 1 to %d characters A-Z a-z 0-9 . _ : -", MaxIDLen)
		return
	}
	if len(s) > MaxIDLen {
		v.add(field, "%d characters long; want at most %d", len(s), MaxIDLen)
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			v.add(field, "%q has a character outside A-Z a-z 0-9 . _ : -", s)
			return
		}
	}
	if s[0] == '.' {
		// Ids become parts of file names and storage keys: "..", "." and
		// ".hidden" would climb out of a folder or hide in it.
		v.add(field, "%q starts with '.'; want an id that starts with A-Z a-z 0-9 _ : or -", s)
	}
}

func (v *validator) enum(field, s string, allowed []string) {
	for _, x := range allowed {
		if s == x {
			return
		}
	}
	want := strings.Join(allowed, ", ")
	if s == "" {
		v.add(field, "missing; want one of %s", want)
		return
	}
	v.add(field, "%q is not allowed; want one of %s", s, want)
}

// text checks free text a person wrote: valid UTF-8, no control characters,
// no leading or trailing space, at most max runes; required says whether it
// may be empty.
func (v *validator) text(field, s string, max int, required bool) {
	if s == "" {
		if required {
			v.add(field, "missing; want text of 1 to %d characters", max)
		}
		return
	}
	if !utf8.ValidString(s) {
		v.add(field, "not valid UTF-8; want UTF-8 text")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(field, "%d characters long; want at most %d", n, max)
		return
	}
	for _, r := range s {
		if r == utf8.RuneError {
			v.add(field, "contains U+FFFD, the mark of text that was not UTF-8 upstream; want the original letters in UTF-8")
			return
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			v.add(field, "contains control character %U; want printable text", r)
			return
		}
	}
	if strings.TrimSpace(s) != s {
		v.add(field, "has leading or trailing spaces; want them trimmed")
		return
	}
	if strings.TrimSpace(s) == "" {
		v.add(field, "blank; want text of 1 to %d characters", max)
	}
}

func (v *validator) amount(field string, c money.Cents, positive bool) {
	switch {
	case c < 0:
		v.add(field, "%d is negative; want cents from 0 to %d", c, MaxAmount)
	case positive && c == 0:
		v.add(field, "missing or zero; want cents from 1 to %d", MaxAmount)
	case c > MaxAmount:
		v.add(field, "%d is too large; want cents, at most %d ($99,999,999.99)", c, MaxAmount)
	}
}

func (v *validator) intRange(field string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(field, "%d is out of range; want %d to %d", n, lo, hi)
	}
}

func (v *validator) date(field string, d civil.Date) bool {
	if d.IsZero() {
		v.add(field, "missing; want a date YYYY-MM-DD")
		return false
	}
	return true
}

func (v *validator) customer(c *Customer) {
	v.id("customer.id", c.ID)
	v.text("customer.first_name", c.FirstName, MaxNameLen, true)
	v.text("customer.last_name", c.LastName, MaxNameLen, true)
	v.email("customer.email", c.Email)
	if c.Phone != "" {
		v.phone("customer.phone", c.Phone)
	}
	ad := &c.Address
	v.text("customer.address.line1", ad.Line1, MaxAddressLineLen, true)
	v.text("customer.address.line2", ad.Line2, MaxAddressLineLen, false)
	v.text("customer.address.city", ad.City, MaxCityLen, true)
	v.state("customer.address.state", ad.State, usStates)
	if !validPostalCode(ad.PostalCode) {
		if ad.PostalCode == "" {
			v.add("customer.address.postal_code", "missing; want a ZIP code 12345 or 12345-6789")
		} else {
			v.add("customer.address.postal_code", "%q is not a ZIP code; want 12345 or 12345-6789", ad.PostalCode)
		}
	}
}

func (v *validator) email(field, s string) {
	if s == "" {
		v.add(field, "missing; want an address like name@example.com")
		return
	}
	if len(s) > MaxEmailLen {
		v.add(field, "%d bytes long; want at most %d", len(s), MaxEmailLen)
		return
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		v.add(field, "%q is not an email address; want a bare address like name@example.com", s)
	}
}

// phone accepts +, digits and the separators people type, with 10 to 15
// digits in all.
func (v *validator) phone(field, s string) {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0, c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			v.add(field, "has a character other than digits, a leading + and the separators - . ( ) and space; want a phone number like +12025550123")
			return
		}
	}
	if digits < 10 || digits > 15 || len(s) > 25 {
		v.add(field, "has %d digits; want 10 to 15 digits, like +12025550123", digits)
	}
}

func (v *validator) state(field, s string, allowed map[string]bool) {
	if s == "" {
		v.add(field, "missing; want a two-letter USPS state code such as NY")
		return
	}
	if !allowed[s] {
		v.add(field, "%q is not a US state code; want two capital letters such as NY", s)
	}
}

func validPostalCode(s string) bool {
	if len(s) != 5 && len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 5 {
			if c != '-' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (v *validator) contract(a *Account) {
	c := &a.Contract
	v.state("contract.state", c.State, contractStates)
	opened := v.date("contract.opened_on", c.OpenedOn)
	v.intRange("contract.term_months", c.TermMonths, 1, MaxTermMonths)
	v.amount("contract.monthly_payment_cents", c.MonthlyPayment, true)
	v.amount("contract.monthly_tax_cents", c.MonthlyTax, false)
	firstDue := v.date("contract.first_due_date", c.FirstDueDate)
	v.intRange("contract.due_day", c.DueDay, 1, 31)
	v.intRange("contract.cycle_day", c.CycleDay, 1, 31)
	maturity := v.date("contract.maturity_date", c.MaturityDate)
	if opened && firstDue && !c.FirstDueDate.After(c.OpenedOn) {
		v.add("contract.first_due_date", "%s is not after opened_on %s; want the first due date after the contract opened", c.FirstDueDate, c.OpenedOn)
	}
	if firstDue && c.DueDay >= 1 && c.DueDay <= 31 && c.FirstDueDate.OnDay(c.DueDay) != c.FirstDueDate {
		v.add("contract.first_due_date", "%s does not fall on due_day %d; want the due day (or the month's last day when the month is shorter)", c.FirstDueDate, c.DueDay)
	}
	if firstDue && maturity && (c.MaturityDate.Before(c.FirstDueDate) || c.TermMonths > 1 && c.MaturityDate == c.FirstDueDate) {
		v.add("contract.maturity_date", "%s is not after first_due_date %s; want the last due date of the term", c.MaturityDate, c.FirstDueDate)
	}
	v.amount("contract.late_fee_cents", c.LateFee, false)
	v.intRange("contract.grace_days", c.GraceDays, 0, MaxGraceDays)
	v.amount("contract.returned_payment_fee_cents", c.ReturnedPaymentFee, false)

	switch a.Kind {
	case KindLoan:
		v.amount("contract.amount_financed_cents", c.AmountFinanced, true)
		v.intRange("contract.apr_bps", c.APRBasisPoints, 0, MaxAPRBasisPoints)
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"capitalized_cost_cents", c.CapitalizedCost != 0},
			{"money_factor_millionths", c.MoneyFactorMillionths != 0},
			{"residual_value_cents", c.ResidualValue != 0},
			{"mileage_allowance_per_year", c.MileageAllowancePerYear != 0},
			{"excess_mileage_rate_cents", c.ExcessMileageRate != 0},
			{"purchase_option_fee_cents", c.PurchaseOptionFee != 0},
			{"disposition_fee_cents", c.DispositionFee != 0},
			{"start_odometer", c.StartOdometer != 0},
		} {
			if f.set {
				v.add("contract."+f.name, "set on a loan; want it only on a lease (omit it or send 0)")
			}
		}
	case KindLease:
		v.amount("contract.capitalized_cost_cents", c.CapitalizedCost, true)
		v.intRange("contract.money_factor_millionths", c.MoneyFactorMillionths, 0, MaxMoneyFactor)
		v.amount("contract.residual_value_cents", c.ResidualValue, true)
		if c.ResidualValue > 0 && c.CapitalizedCost > 0 && c.ResidualValue >= c.CapitalizedCost {
			v.add("contract.residual_value_cents", "%d is not below capitalized_cost_cents %d; want the residual below the capitalized cost", c.ResidualValue, c.CapitalizedCost)
		}
		v.intRange("contract.mileage_allowance_per_year", c.MileageAllowancePerYear, 1, MaxMileageAllow)
		v.amount("contract.excess_mileage_rate_cents", c.ExcessMileageRate, false)
		v.amount("contract.purchase_option_fee_cents", c.PurchaseOptionFee, false)
		v.amount("contract.disposition_fee_cents", c.DispositionFee, false)
		v.intRange("contract.start_odometer", c.StartOdometer, 0, MaxMiles)
		if c.AmountFinanced != 0 {
			v.add("contract.amount_financed_cents", "set on a lease; want it only on a loan (omit it or send 0)")
		}
		if c.APRBasisPoints != 0 {
			v.add("contract.apr_bps", "set on a lease; want it only on a loan (omit it or send 0); a lease's rate is money_factor_millionths")
		}
	}
	v.vehicle(&c.Vehicle, c.OpenedOn)
}

func (v *validator) vehicle(vh *Vehicle, opened civil.Date) {
	if vh.VIN == "" {
		v.add("contract.vehicle.vin", "missing; want a 17-character VIN")
	} else if p := vinProblem(vh.VIN); p != "" {
		v.add("contract.vehicle.vin", "%q %s", vh.VIN, p)
	}
	// A model year runs at most a year ahead of the calendar; with no opening
	// date there is no calendar to compare with.
	maxYear := 9999
	if !opened.IsZero() {
		maxYear = opened.Year + 2
	}
	v.intRange("contract.vehicle.year", vh.Year, 1981, maxYear)
	v.text("contract.vehicle.make", vh.Make, MaxVehicleTextLen, true)
	v.text("contract.vehicle.model", vh.Model, MaxVehicleTextLen, true)
}

// vinProblem checks a 17-character VIN (1981 and later): the letters I, O
// and Q never appear, and position 9 is the check digit.
func vinProblem(vin string) string {
	if len(vin) != 17 {
		return fmt.Sprintf("is %d characters long; want 17", len(vin))
	}
	for i := 0; i < 17; i++ {
		if vinValue(vin[i]) < 0 {
			return "has a character outside 0-9 and A-Z without I, O, Q; want a 17-character VIN"
		}
	}
	if vin[8] != vinCheckDigit(vin) {
		return fmt.Sprintf("check digit (position 9) is wrong, want %c; want a 17-character VIN as printed on the title", vinCheckDigit(vin))
	}
	return ""
}

var vinWeights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// vinValue is the transliteration of a VIN character, or -1 when the
// character cannot appear in a VIN.
func vinValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 1
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 1
	case c == 'P':
		return 7
	case c == 'R':
		return 9
	case c >= 'S' && c <= 'Z':
		return int(c-'S') + 2
	}
	return -1
}

// vinCheckDigit computes position 9 of a valid-charset VIN: 0-9 or X.
func vinCheckDigit(vin string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += vinValue(vin[i]) * vinWeights[i]
	}
	if r := sum % 11; r == 10 {
		return 'X'
	} else {
		return byte('0' + r)
	}
}

func (v *validator) balance(a *Account) {
	b := &a.Balance
	if v.date("balance.as_of", b.AsOf) && !a.Contract.OpenedOn.IsZero() && b.AsOf.Before(a.Contract.OpenedOn) {
		v.add("balance.as_of", "%s is before contract.opened_on %s; want the date of the balance", b.AsOf, a.Contract.OpenedOn)
	}
	v.amount("balance.principal_cents", b.Principal, false)
	v.amount("balance.accrued_interest_cents", b.AccruedInterest, false)
	v.amount("balance.fees_due_cents", b.FeesDue, false)
	v.amount("balance.past_due_cents", b.PastDue, false)
	if a.Contract.TermMonths >= 1 && a.Contract.TermMonths <= MaxTermMonths {
		v.intRange("balance.payments_made", b.PaymentsMade, 0, a.Contract.TermMonths)
	} else if b.PaymentsMade < 0 {
		v.add("balance.payments_made", "%d is negative; want 0 to the term in months", b.PaymentsMade)
	}
	if a.Status == "paid_off" && b.Principal != 0 {
		v.add("balance.principal_cents", "%d on a paid_off account; want 0", b.Principal)
	}
	var prev civil.Date
	for i := range b.History {
		h := &b.History[i]
		f := func(name string) string { return idx("balance.history", i, name) }
		if v.date(f("on"), h.On) {
			switch {
			case !prev.IsZero() && !h.On.After(prev):
				v.add(f("on"), "%s is not after balance.history[%d].on %s; want dates ascending, each once", h.On, i-1, prev)
			case !b.AsOf.IsZero() && h.On.After(b.AsOf):
				v.add(f("on"), "%s is after balance.as_of %s; want the history up to the extract date", h.On, b.AsOf)
			case !a.Contract.OpenedOn.IsZero() && h.On.Before(a.Contract.OpenedOn):
				v.add(f("on"), "%s is before contract.opened_on %s", h.On, a.Contract.OpenedOn)
			}
			prev = h.On
		}
		for _, fc := range []struct {
			name string
			c    money.Cents
		}{{"balance_cents", h.Balance}, {"principal_cents", h.Principal}} {
			if fc.c < -MaxAmount || fc.c > MaxAmount {
				v.add(f(fc.name), "%d is out of range; want cents from -%d to %d", fc.c, MaxAmount, MaxAmount)
			}
		}
		v.amount(f("fees_due_cents"), h.FeesDue, false)
		v.amount(f("past_due_cents"), h.PastDue, false)
	}
}

func (v *validator) bankAccounts(bas []BankAccount) map[string]int {
	ids := make(map[string]int, len(bas))
	for i := range bas {
		ba := &bas[i]
		f := func(name string) string { return idx("bank_accounts", i, name) }
		v.id(f("id"), ba.ID)
		if j, dup := ids[ba.ID]; dup && ba.ID != "" {
			v.add(f("id"), "%q repeats bank_accounts[%d].id; want ids unique within the account", ba.ID, j)
		} else {
			ids[ba.ID] = i
		}
		if ba.Routing == "" {
			v.add(f("routing"), "missing; want a 9-digit ABA routing number")
		} else if err := ach.ValidRouting(ba.Routing); err != nil {
			v.add(f("routing"), "%s", routingProblem(ba.Routing))
		}
		v.accountNumber(f("account_number"), ba.AccountNumber)
		v.enum(f("type"), ba.Type, bankAccountTypes)
		v.text(f("holder_name"), ba.HolderName, MaxNameLen, true)
		v.enum(f("prenote"), ba.Prenote, prenoteStatuses)
		v.enum(f("status"), ba.Status, bankAccountStatuses)
	}
	return ids
}

// routingProblem explains why a routing number (already known to fail
// ach.ValidRouting) is wrong, in the form the extract's readers fix.
func routingProblem(s string) string {
	if len(s) != 9 {
		return fmt.Sprintf("%q has %d characters; want a 9-digit ABA routing number", s, len(s))
	}
	for i := 0; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Sprintf("%q has a non-digit; want a 9-digit ABA routing number", s)
		}
	}
	if s == "000000000" {
		return "all zeros; want a 9-digit ABA routing number"
	}
	return fmt.Sprintf("%q check digit is wrong; want a 9-digit ABA routing number", s)
}

// accountNumber checks 4 to 17 digits and never repeats the number.
func (v *validator) accountNumber(field, s string) {
	if s == "" {
		v.add(field, "missing; want 4 to 17 digits")
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			v.add(field, "%s has a character other than a digit; want 4 to 17 digits", maskAccountNumber(s))
			return
		}
	}
	if len(s) < 4 || len(s) > 17 {
		v.add(field, "%s has %d digits; want 4 to 17 digits", maskAccountNumber(s), len(s))
	}
}

func (v *validator) bankRef(field, id string, bankIDs map[string]int) {
	if id == "" {
		v.add(field, "missing; want the id of one of this account's bank_accounts")
		return
	}
	if _, ok := bankIDs[id]; !ok {
		v.add(field, "%q names no bank account of this account; want the id of one of its bank_accounts", id)
	}
}

func (v *validator) autopay(a *Account, bankIDs map[string]int) {
	ap := a.Autopay
	if ap == nil {
		return
	}
	v.id("autopay.id", ap.ID)
	v.bankRef("autopay.bank_account_id", ap.BankAccountID, bankIDs)
	auth := v.date("autopay.authorized_on", ap.AuthorizedOn)
	starts := v.date("autopay.starts_on", ap.StartsOn)
	if auth && starts && ap.StartsOn.Before(ap.AuthorizedOn) {
		v.add("autopay.starts_on", "%s is before authorized_on %s; want debits to start on or after the authorization", ap.StartsOn, ap.AuthorizedOn)
	}
	v.intRange("autopay.days_before_due", ap.DaysBeforeDue, 0, MaxDaysBeforeDue)
	v.amount("autopay.amount_cents", ap.Amount, false)
	v.enum("autopay.status", ap.Status, autopayStatuses)
}

func (v *validator) scheduledPayments(a *Account, bankIDs map[string]int) {
	ids := make(map[string]int, len(a.ScheduledPayments))
	for i := range a.ScheduledPayments {
		sp := &a.ScheduledPayments[i]
		f := func(name string) string { return idx("scheduled_payments", i, name) }
		v.id(f("id"), sp.ID)
		if j, dup := ids[sp.ID]; dup && sp.ID != "" {
			v.add(f("id"), "%q repeats scheduled_payments[%d].id; want ids unique within the account", sp.ID, j)
		} else {
			ids[sp.ID] = i
		}
		v.bankRef(f("bank_account_id"), sp.BankAccountID, bankIDs)
		v.amount(f("amount_cents"), sp.Amount, true)
		debit := v.date(f("debit_on"), sp.DebitOn)
		v.enum(f("channel"), sp.Channel, paymentChannels)
		if sp.AuthorizedAt == "" {
			v.add(f("authorized_at"), "missing; want an RFC 3339 time like 2026-11-20T14:03:22-05:00")
			continue
		}
		t, err := time.Parse(time.RFC3339, sp.AuthorizedAt)
		if err != nil {
			v.add(f("authorized_at"), "%q is not a time; want RFC 3339 like 2026-11-20T14:03:22-05:00", sp.AuthorizedAt)
			continue
		}
		if debit && civil.Of(t).After(sp.DebitOn) {
			v.add(f("authorized_at"), "%s is after debit_on %s; want the authorization on or before the debit date", sp.AuthorizedAt, sp.DebitOn)
		}
	}
}

func (v *validator) odometer(a *Account) {
	var prev *OdometerReading
	for i := range a.OdometerReadings {
		r := &a.OdometerReadings[i]
		f := func(name string) string { return idx("odometer_readings", i, name) }
		ok := v.date(f("on"), r.On)
		if ok && !a.Contract.OpenedOn.IsZero() && r.On.Before(a.Contract.OpenedOn) {
			v.add(f("on"), "%s is before contract.opened_on %s; want readings taken since the contract opened", r.On, a.Contract.OpenedOn)
		}
		if ok && !a.Balance.AsOf.IsZero() && r.On.After(a.Balance.AsOf) {
			v.add(f("on"), "%s is after balance.as_of %s; want readings taken on or before the extract date", r.On, a.Balance.AsOf)
		}
		v.intRange(f("miles"), r.Miles, 0, MaxMiles)
		v.enum(f("source"), r.Source, odometerSources)
		if prev != nil && ok && !prev.On.IsZero() {
			if r.On.Before(prev.On) {
				v.add(f("on"), "%s is before the previous reading's %s; want readings in date order", r.On, prev.On)
			} else if r.Miles < prev.Miles {
				v.add(f("miles"), "%d is below the previous reading's %d; want odometer readings that never decrease", r.Miles, prev.Miles)
			}
		}
		prev = r
	}
}

func (v *validator) transactions(a *Account) {
	ids := make(map[string]int, len(a.Transactions))
	for i := range a.Transactions {
		t := &a.Transactions[i]
		f := func(name string) string { return idx("transactions", i, name) }
		v.id(f("id"), t.ID)
		if j, dup := ids[t.ID]; dup && t.ID != "" {
			v.add(f("id"), "%q repeats transactions[%d].id; want ids unique within the account", t.ID, j)
		} else {
			ids[t.ID] = i
		}
		if v.date(f("posted_on"), t.PostedOn) && !a.Contract.OpenedOn.IsZero() && t.PostedOn.Before(a.Contract.OpenedOn) {
			v.add(f("posted_on"), "%s is before contract.opened_on %s; want transactions posted since the contract opened", t.PostedOn, a.Contract.OpenedOn)
		}
		v.enum(f("kind"), t.Kind, transactionKinds)
		v.amount(f("amount_cents"), t.Amount, true)
		v.text(f("description"), t.Description, MaxDescriptionLen, false)
	}
}
