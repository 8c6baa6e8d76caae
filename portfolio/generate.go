package portfolio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// GenerateOptions says what portfolio Generate writes.
type GenerateOptions struct {
	Accounts int        // number of accounts (lines)
	Seed     int64      // the same seed and options give the same bytes
	AsOf     civil.Date // the extract date: balances and history up to the end of this day
	// Anchor is the date the contracts are drawn around (default AsOf):
	// due payments and lease-end notices fall near it. Extracts of the same
	// seed, accounts and anchor with a later AsOf are the same servicing
	// system's later nightly extracts: the same contracts, the history so
	// far.
	Anchor civil.Date
	// DrafterFrom is the first day whose autopay debits are drafter's
	// (default AsOf - 4: drafter's first night drafts the installments of
	// the five days before it). From that day the servicing system no longer
	// posts autopay payments of its own: it posts what Posted reports.
	// One-time payments scheduled in the portal are always drafter's.
	DrafterFrom civil.Date
	// Posted is what drafter reported to the servicing system, by account
	// id: its debits on their effective dates, the returns of them and its
	// returned-payment fees. They are in the balances; the extract's
	// transactions list only what the servicing system posted itself.
	Posted map[string][]Transaction
	// Keep, when set, limits the extract to the accounts it accepts,
	// judged on their contract before their books are simulated: a delta
	// extract. The accounts kept are the same as in the full extract.
	Keep func(*Account) bool
	// Amend, when set, applies the servicing system's own changes up to
	// AsOf (a new bank account, an enrollment, a one-time payment, a
	// payoff) to each account after it is drawn and before its books are
	// simulated, so the balances follow them. The simulation uses it.
	Amend func(a *Account, asOf civil.Date)
	// Postings, when set, returns the servicing system's own postings on
	// an account beyond those drawn, after Amend (the simulation's lease
	// extensions): each counts in the balances from its day, and a Listed
	// one is among the extract's transactions.
	Postings func(a *Account, asOf civil.Date) []Posting
	// AutopayStopped, when set, says the day the servicing system stopped
	// an account's autopay (zero: not stopped by AsOf, or stopped before
	// drafter's days): the installments it drafted before that day were
	// drafter's debits, the later ones the customer's own payments.
	AutopayStopped func(a *Account) civil.Date
}

// Posting is one posting of the servicing system's own that Generate is
// told of (GenerateOptions.Postings). An adjustment moves the balance by
// its signed amount.
type Posting struct {
	On          civil.Date
	Kind        string
	Amount      money.Cents
	Description string
	Listed      bool
}

// Generate writes a realistic demo portfolio of opt.Accounts accounts in the
// extract format, one per line, every line valid. The output depends only on
// opt: the same options give the same bytes on every run and machine.
func Generate(w io.Writer, opt GenerateOptions) error {
	if err := opt.check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	g := newGenerator(opt)
	buf := make([]byte, 0, 8<<10)
	for i := range opt.Accounts {
		a, ok := g.account(i)
		if !ok {
			continue
		}
		buf = appendAccount(buf[:0], &a)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write portfolio: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write portfolio: %w", err)
	}
	return nil
}

// Generated returns the accounts Generate would write for opt, in order,
// for callers that want the values rather than the bytes. It yields nothing
// when opt is not valid.
func Generated(opt GenerateOptions) iter.Seq[Account] {
	return func(yield func(Account) bool) {
		if opt.check() != nil {
			return
		}
		g := newGenerator(opt)
		for i := range opt.Accounts {
			a, ok := g.account(i)
			if ok && !yield(a) {
				return
			}
		}
	}
}

func (opt GenerateOptions) check() error {
	if opt.Accounts < 0 {
		return fmt.Errorf("generate portfolio: %d accounts; want 0 or more", opt.Accounts)
	}
	if opt.AsOf.IsZero() {
		return errors.New("generate portfolio: as-of date missing")
	}
	if !opt.Anchor.IsZero() && opt.Anchor.After(opt.AsOf) {
		return fmt.Errorf("generate portfolio: anchor %s is after the as-of date %s; want it on or before", opt.Anchor, opt.AsOf)
	}
	return nil
}

func (opt GenerateOptions) anchor() civil.Date {
	if opt.Anchor.IsZero() {
		return opt.AsOf
	}
	return opt.Anchor
}

func (opt GenerateOptions) drafterFrom() civil.Date {
	if opt.DrafterFrom.IsZero() {
		return opt.AsOf.AddDays(-4)
	}
	return opt.DrafterFrom
}

// Shares of the generated portfolio, in percent.
const (
	pctLoan            = 60 // the rest are leases
	pctAutopay         = 76 // of active accounts with a bank account: about 70% of all
	pctAutopayNew      = 6  // of enrollments: authorized days ago, bank account awaiting its prenote
	pctOneTime         = 25 // of active accounts without autopay: a one-time payment around AsOf
	pctOneTimeAutopay  = 3  // of accounts on autopay: an extra one-time payment
	pctLeaseEndSoon    = 40 // of leases: maturity within 150 days of AsOf
	pctSecondBank      = 15
	pctInvalidBank     = 1
	pctDelinquent      = 4
	pctReturned        = 3 // of accounts: a payment returned in the last two cycles
	pctLongName        = 1
	pctLongAddressLine = 1
)

type generator struct {
	opt      GenerateOptions
	evs      []simEvent // simulate's events, reused from account to account
	src      *rand.PCG
	r        *rand.Rand
	routings []string
	pmt      map[[2]int]uint64 // (apr bps, term) -> payment factor, scaled by 1e15
	slugs    map[string]string // name -> ASCII slug for email addresses
}

func newGenerator(opt GenerateOptions) *generator {
	src := rand.NewPCG(uint64(opt.Seed), 0x9e3779b97f4a7c15)
	g := &generator{
		opt:   opt,
		src:   src,
		r:     rand.New(src),
		pmt:   make(map[[2]int]uint64),
		slugs: make(map[string]string),
	}
	for _, p := range routingPrefixes {
		d, err := ach.RoutingCheckDigit(p)
		if err != nil {
			panic(err) // the prefix table is wrong: a programmer error
		}
		g.routings = append(g.routings, p+string(d))
	}
	return g
}

func (g *generator) pct(p int) bool         { return g.r.IntN(100) < p }
func (g *generator) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }
func pick[T any](g *generator, xs []T) T    { return xs[g.r.IntN(len(xs))] }

// dueDate returns the k-th due date (k = 0 is the first).
func dueDate(c *Contract, k int) civil.Date {
	return c.FirstDueDate.AddMonths(k).OnDay(c.DueDay)
}

func (g *generator) account(i int) (Account, bool) {
	// Each account draws from its own stream, and nothing it draws depends
	// on AsOf: a later extract has the same contracts.
	g.src.Seed(uint64(g.opt.Seed), 0x9e3779b97f4a7c15^uint64(i+1)*0xbf58476d1ce4e5b9)
	asOf := g.opt.anchor()
	id := "ACC-" + pad(i+1, 8)
	a := Account{ID: id, Kind: KindLease, Status: "active"}
	if g.pct(pctLoan) {
		a.Kind = KindLoan
	}
	ct := pick(g, cities)
	a.Customer = g.customer(i, ct)

	c := &a.Contract
	c.State = ct.state
	if g.pct(5) {
		c.State = pick(g, cities).state
	}
	c.DueDay = g.between(1, 31)
	c.CycleDay = (c.DueDay+31-21-g.r.IntN(3)-1)%31 + 1
	if a.Kind == KindLoan {
		c.TermMonths = pick(g, []int{36, 48, 60, 60, 72, 72, 84})
	} else {
		c.TermMonths = pick(g, []int{24, 36, 36, 36, 39, 48})
	}
	if a.Kind == KindLease && g.pct(pctLeaseEndSoon) {
		// Work back from a maturity in the next 150 days, so lease-end
		// notices fall due on most days around AsOf.
		m := asOf.AddDays(g.between(-5, 150))
		c.DueDay = m.Day
		if m.Day == civil.DaysIn(m.Year, m.Month) && m.Day < 31 && g.pct(50) {
			c.DueDay = g.between(m.Day, 31)
		}
		c.CycleDay = (c.DueDay+31-21-1)%31 + 1
		c.MaturityDate = m
		c.FirstDueDate = m.AddMonths(-(c.TermMonths - 1)).OnDay(c.DueDay)
		c.OpenedOn = c.FirstDueDate.AddDays(-g.between(20, 45))
	} else {
		elapsed := g.r.IntN(c.TermMonths - 1)
		c.OpenedOn = asOf.AddMonths(-elapsed).AddDays(-g.r.IntN(28))
		base := c.OpenedOn.AddDays(25)
		c.FirstDueDate = base.OnDay(c.DueDay)
		if !c.FirstDueDate.After(c.OpenedOn.AddDays(14)) {
			c.FirstDueDate = base.AddMonths(1).OnDay(c.DueDay)
		}
		c.MaturityDate = dueDate(c, c.TermMonths-1)
	}
	c.GraceDays = pick(g, []int{10, 10, 15, 15, 5})
	c.LateFee = money.Cents(pick(g, []int{1500, 2500, 2900, 3500, 5000}))
	c.ReturnedPaymentFee = money.Cents(pick(g, []int{0, 1500, 2000, 2500, 2500, 3000}))

	vm := pick(g, vehicleModels)
	c.Vehicle = Vehicle{Make: vm.make, Model: vm.model}
	if a.Kind == KindLoan {
		c.Vehicle.Year = c.OpenedOn.Year + 1 - g.r.IntN(8)
		price := vm.msrpK * 1000 * (100 - 5*(c.OpenedOn.Year+1-c.Vehicle.Year)) / 100
		financed := price * g.between(60, 100) / 100
		c.AmountFinanced = money.Cents(max(financed, 5000) * 100)
		c.APRBasisPoints = g.apr()
		c.MonthlyPayment = g.loanPayment(c.AmountFinanced, c.APRBasisPoints, c.TermMonths)
	} else {
		c.Vehicle.Year = c.OpenedOn.Year + g.r.IntN(2)
		capCost := vm.msrpK*1000*g.between(90, 102)/100 + g.between(0, 999)
		c.CapitalizedCost = money.Cents(capCost * 100)
		c.ResidualValue = money.Cents(capCost * g.between(45, 65) / 100 * 100)
		c.MoneyFactorMillionths = g.between(400, 3000)
		dep := (c.CapitalizedCost - c.ResidualValue) / money.Cents(c.TermMonths)
		rent := (c.CapitalizedCost + c.ResidualValue) * money.Cents(c.MoneyFactorMillionths) / 1_000_000
		c.MonthlyPayment = dep + rent
		c.MonthlyTax = c.MonthlyPayment * money.Cents(ct.taxBPS) / 10000
		c.MileageAllowancePerYear = pick(g, []int{10000, 12000, 12000, 15000})
		c.ExcessMileageRate = money.Cents(pick(g, []int{15, 20, 25, 25, 30}))
		c.PurchaseOptionFee = money.Cents(pick(g, []int{0, 30000, 35000, 39500}))
		c.DispositionFee = money.Cents(pick(g, []int{35000, 39500, 49500}))
		c.StartOdometer = g.between(3, 250)
	}
	c.Vehicle.VIN = g.vin(vm.wmi, c.Vehicle.Year)
	if g.opt.Keep != nil && !g.opt.Keep(&a) {
		return a, false
	}

	f := g.flags(&a)
	g.bankAccounts(&a)
	g.autopay(&a)
	g.scheduledPayments(&a)
	g.odometer(&a)
	if g.opt.Amend != nil {
		g.opt.Amend(&a, g.opt.AsOf)
	}
	g.simulate(&a, f)
	return a, true
}

func (g *generator) apr() int {
	switch n := g.r.IntN(100); {
	case n < 5:
		return 0 // manufacturer promotion
	case n < 60:
		return g.between(299, 899)
	case n < 90:
		return g.between(900, 1799)
	default:
		return g.between(1800, 2999)
	}
}

// loanPayment is the level monthly payment that amortizes p over n months
// at apr basis points, rounded up to the cent. The factor
// r(1+r)^n/((1+r)^n-1) is computed exactly once per (apr, n) and kept
// scaled by 1e15, so the result is the same on every machine.
func (g *generator) loanPayment(p money.Cents, apr, n int) money.Cents {
	if apr == 0 {
		return (p + money.Cents(n) - 1) / money.Cents(n)
	}
	key := [2]int{apr, n}
	f, ok := g.pmt[key]
	if !ok {
		// r = apr/120000; factor = apr*B^n / (120000*(B^n - D^n)), B = D+apr.
		d := big.NewInt(120000)
		b := big.NewInt(int64(120000 + apr))
		bn := new(big.Int).Exp(b, big.NewInt(int64(n)), nil)
		dn := new(big.Int).Exp(d, big.NewInt(int64(n)), nil)
		num := new(big.Int).Mul(big.NewInt(int64(apr)), bn)
		num.Mul(num, big.NewInt(1e15))
		den := new(big.Int).Sub(bn, dn)
		den.Mul(den, d)
		f = new(big.Int).Quo(num, den).Uint64()
		g.pmt[key] = f
	}
	hi, lo := bits.Mul64(uint64(p), f)
	q, rem := bits.Div64(hi, lo, 1e15)
	if rem != 0 {
		q++
	}
	return money.Cents(q)
}

func (g *generator) customer(i int, ct city) Customer {
	first := pick(g, firstNames)
	last := pick(g, lastNames)
	slugLast := last
	if g.pct(pctLongName) {
		last = g.longText(longNameParts, MaxNameLen-g.r.IntN(8), " ")
		if sp := strings.IndexByte(last, ' '); sp > 0 {
			slugLast = last[:sp]
		}
	}
	cu := Customer{ID: "CUS-" + pad(i+1, 8), FirstName: first, LastName: last}
	var email []byte
	email = append(email, g.slug(first)...)
	email = append(email, '.')
	email = append(email, g.slug(slugLast)...)
	if g.pct(60) {
		email = strconv.AppendInt(email, int64(g.r.IntN(1000)), 10)
	}
	email = append(email, '@')
	email = append(email, pick(g, emailDomains)...)
	cu.Email = string(email)
	if g.pct(85) {
		cu.Phone = "+1" + strconv.Itoa(g.between(201, 989)) + strconv.Itoa(g.between(200, 999)) + pad(g.r.IntN(10000), 4)
	}
	ad := &cu.Address
	if g.pct(pctLongAddressLine) {
		ad.Line1 = strconv.Itoa(g.between(1, 99999)) + " " + g.longText(longStreetParts, MaxAddressLineLen-6-g.r.IntN(10), " ")
	} else {
		ad.Line1 = strconv.Itoa(g.between(1, 19999)) + " " + pick(g, streetNames)
	}
	if g.pct(30) {
		ad.Line2 = pick(g, line2s)
	}
	ad.City, ad.State = ct.name, ct.state
	ad.PostalCode = ct.zip3 + pad(g.r.IntN(100), 2)
	if g.pct(20) {
		ad.PostalCode += "-" + pad(g.r.IntN(10000), 4)
	}
	return cu
}

// longText joins random parts up to at most limit runes.
func (g *generator) longText(parts []string, limit int, sep string) string {
	var b strings.Builder
	n := 0
	for tries := 0; tries < 200; tries++ {
		p := pick(g, parts)
		pn := utf8.RuneCountInString(p)
		if n > 0 {
			pn += utf8.RuneCountInString(sep)
		}
		if n+pn > limit {
			if limit-n < 4 {
				break
			}
			continue
		}
		if n > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
		n += pn
	}
	return b.String()
}

// slug folds a name to lower-case ASCII letters for an email address:
// Nguyễn -> nguyen, Weiß -> weiss, Øvergård -> overgard.
func (g *generator) slug(name string) string {
	if s, ok := g.slugs[name]; ok {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r):
		default:
			b.WriteString(foldRune(r))
		}
	}
	s := b.String()
	if s == "" {
		s = "customer"
	}
	g.slugs[name] = s
	return s
}

func foldRune(r rune) string {
	switch r {
	case 'ß':
		return "ss"
	case 'ø', 'Ø':
		return "o"
	case 'đ', 'Đ':
		return "d"
	case 'ł', 'Ł':
		return "l"
	case 'æ', 'Æ':
		return "ae"
	case 'þ', 'Þ':
		return "th"
	case 'ı':
		return "i"
	}
	return ""
}

func (g *generator) vin(wmi string, year int) string {
	var v [17]byte
	copy(v[:], wmi)
	for i := 3; i < 8; i++ {
		v[i] = vinChars[g.r.IntN(len(vinChars))]
	}
	v[9] = vinYearCodes[((year-2010)%len(vinYearCodes)+len(vinYearCodes))%len(vinYearCodes)]
	v[10] = vinChars[10+g.r.IntN(len(vinChars)-10)]
	for i := 11; i < 17; i++ {
		v[i] = byte('0' + g.r.IntN(10))
	}
	v[8] = '0'
	v[8] = vinCheckDigit(string(v[:]))
	return string(v[:])
}

func (g *generator) bankAccounts(a *Account) {
	n := 1
	switch {
	case g.pct(pctSecondBank):
		n = 2
	case g.pct(8):
		n = 0
	}
	holder := a.Customer.FirstName + " " + a.Customer.LastName
	if utf8.RuneCountInString(holder) > MaxNameLen {
		holder = strings.TrimRight(string([]rune(holder)[:MaxNameLen]), " -")
	}
	for k := range n {
		ba := BankAccount{
			ID:            a.ID + "-B" + strconv.Itoa(k+1),
			Routing:       pick(g, g.routings),
			AccountNumber: g.accountNumber(),
			Type:          "checking",
			HolderName:    holder,
			Prenote:       "verified",
			Status:        "active",
		}
		if g.pct(15) {
			ba.Type = "savings"
		}
		if k == 1 && g.pct(30) {
			ba.Prenote = "required" // added lately, never debited
		}
		if g.pct(pctInvalidBank) {
			ba.Status = "invalid" // closed or not found (R02, R03, R04)
		}
		a.BankAccounts = append(a.BankAccounts, ba)
	}
}

func (g *generator) accountNumber() string {
	var n int
	switch x := g.r.IntN(100); {
	case x < 5:
		n = g.between(4, 7)
	case x < 90:
		n = g.between(8, 12)
	default:
		n = g.between(13, 17)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

func (g *generator) autopay(a *Account) {
	if a.Status != "active" || len(a.BankAccounts) == 0 || !g.pct(pctAutopay) {
		return
	}
	c := &a.Contract
	asOf := g.opt.anchor()
	ba := &a.BankAccounts[0]
	ap := &Autopay{ID: a.ID + "-AP", BankAccountID: ba.ID, Status: "active"}
	if g.pct(pctAutopayNew) && ba.Status == "active" {
		ap.AuthorizedOn = asOf.AddDays(-g.r.IntN(10))
		if ap.AuthorizedOn.Before(c.OpenedOn) {
			ap.AuthorizedOn = c.OpenedOn
		}
		ba.Prenote = "required"
	} else {
		ap.AuthorizedOn = c.OpenedOn.AddDays(g.r.IntN(10))
		if ap.AuthorizedOn.After(asOf) {
			ap.AuthorizedOn = asOf
		}
	}
	ap.StartsOn = c.FirstDueDate
	for k := 1; ap.StartsOn.Before(ap.AuthorizedOn.AddDays(3)) && k < c.TermMonths; k++ {
		ap.StartsOn = dueDate(c, k)
	}
	if ap.StartsOn.Before(ap.AuthorizedOn) {
		ap.StartsOn = ap.AuthorizedOn
	}
	if g.pct(20) {
		ap.DaysBeforeDue = g.between(1, 5)
	}
	if g.pct(10) {
		due := c.MonthlyPayment + c.MonthlyTax
		ap.Amount = (due/2500 + 1 + money.Cents(g.r.IntN(4))) * 2500
	}
	switch {
	case ba.Status == "invalid":
		ap.Status = "stopped"
	case g.pct(2):
		ap.Status = "suspended"
	case g.pct(2):
		ap.Status = "stopped"
	}
	a.Autopay = ap
}

func (g *generator) scheduledPayments(a *Account) {
	if a.Status != "active" {
		return
	}
	p := pctOneTime
	if a.Autopay != nil {
		p = pctOneTimeAutopay
	}
	if !g.pct(p) {
		return
	}
	var active []string
	for _, ba := range a.BankAccounts {
		if ba.Status == "active" {
			active = append(active, ba.ID)
		}
	}
	if len(active) == 0 {
		return
	}
	asOf := g.opt.anchor()
	c := &a.Contract
	n := 1
	if g.pct(10) {
		n = 2
	}
	for k := range n {
		debit := asOf.AddDays(g.between(-3, 7) + 8*k)
		authDate := debit
		if authDate.After(asOf) {
			authDate = asOf
		}
		authDate = authDate.AddDays(-g.r.IntN(5))
		amount := c.MonthlyPayment + c.MonthlyTax
		if g.pct(30) {
			amount = money.Cents(g.between(50, 500)) * 1000
		}
		sp := ScheduledPayment{
			ID:            a.ID + "-P" + strconv.Itoa(k+1),
			BankAccountID: pick(g, active),
			Amount:        amount,
			DebitOn:       debit,
			Channel:       "web",
			AuthorizedAt: authDate.String() + "T" + pad(g.r.IntN(24), 2) + ":" + pad(g.r.IntN(60), 2) +
				":" + pad(g.r.IntN(60), 2) + "Z",
		}
		if g.pct(25) {
			sp.Channel = "phone"
		}
		a.ScheduledPayments = append(a.ScheduledPayments, sp)
	}
}

func (g *generator) odometer(a *Account) {
	c := &a.Contract
	asOf := g.opt.anchor()
	span := asOf.DaysSince(c.OpenedOn)
	var start, perYear int
	if a.Kind == KindLease {
		start = c.StartOdometer
		perYear = c.MileageAllowancePerYear * g.between(60, 150) / 100
	} else {
		if !g.pct(40) {
			return
		}
		start = g.between(5, 90000)
		if c.Vehicle.Year > c.OpenedOn.Year-1 {
			start = g.between(5, 300)
		}
		perYear = g.between(6000, 20000)
	}
	a.OdometerReadings = append(a.OdometerReadings, OdometerReading{On: c.OpenedOn, Miles: start, Source: "dealer"})
	k := g.r.IntN(5)
	source := "customer"
	if a.Kind == KindLease && g.pct(10) {
		k, source = 6, "telematics"
	}
	if span < 4*(k+1) {
		return
	}
	step := span / (k + 1)
	for j := 1; j <= k; j++ {
		day := step*j + g.r.IntN(step/2+1) - step/4
		if c.OpenedOn.AddDays(day).After(g.opt.AsOf) {
			continue
		}
		a.OdometerReadings = append(a.OdometerReadings, OdometerReading{
			On:     c.OpenedOn.AddDays(day),
			Miles:  start + perYear*day/365,
			Source: source,
		})
	}
}

// pad formats n in decimal, zero-padded to width digits.
func pad(n, width int) string {
	var b [20]byte
	s := strconv.AppendInt(b[:0], int64(n), 10)
	if len(s) >= width {
		return string(s)
	}
	return strings.Repeat("0", width-len(s)) + string(s)
}
