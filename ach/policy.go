package ach

import (
	"fmt"
	"sort"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// ReturnCategory sorts return codes by what they say about the debit:
// the customer had no money, the bank account data is wrong, the customer
// says the debit was not authorized, or something else.
type ReturnCategory string

// The four return categories. Every return code has exactly one.
const (
	CategoryNSF            ReturnCategory = "nsf"
	CategoryAdministrative ReturnCategory = "administrative"
	CategoryUnauthorized   ReturnCategory = "unauthorized"
	CategoryOther          ReturnCategory = "other"
)

// ReturnKind says which Addenda 99 format a return code arrives in.
type ReturnKind string

// The three kinds of return entry.
const (
	// KindReturn is an RDFI's return of a forward entry (R01-R53, R80-R85).
	KindReturn ReturnKind = "return"
	// KindDishonored is an ODFI's refusal of a return (R61, R62, R67-R70).
	KindDishonored ReturnKind = "dishonored"
	// KindContested is an RDFI's answer to a dishonored return (R71-R77).
	KindContested ReturnKind = "contested"
)

// Policy is what drafter does when a debit comes back with one return code.
// The flags are independent: a code can stop autopay and flag the account
// at once. Code, Title, Reason and Category are always set.
type Policy struct {
	Code     string
	Title    string // the NACHA title
	Reason   string // plain words for the customer email: "there was not enough money in the account"
	Category ReturnCategory
	Kind     ReturnKind

	// Represent: the payment may be presented again (see RepresentmentDecision).
	Represent bool
	// FeeEligible: a returned-payment fee may be charged where the contract
	// and the state allow it and the customer was told in advance.
	FeeEligible bool
	// InvalidateBankAccount: the bank account on file cannot take debits;
	// mark it invalid so nothing is originated to it again.
	InvalidateBankAccount bool
	// StopAutopay: end the autopay enrollment on this bank account.
	StopAutopay bool
	// NeedsNewAuthorization: no debit of this customer's account until a new
	// authorization is on file.
	NeedsNewAuthorization bool
	// FlagForReview: flag the loan or lease account for a person to review
	// (authorization disputes, possible fraud, legal holds).
	FlagForReview bool
	// Exception: the return itself needs a person; open an exception rather
	// than acting on the account automatically.
	Exception bool
	// NotifyCustomer: send the "payment returned" email with Reason.
	NotifyCustomer bool

	// Why gives the rule or reasoning behind the action, for operators.
	Why string
}

// The sets NACHA counts in the return-rate thresholds (Rules Article Two,
// Subsection 2.18): unauthorized and administrative returns.
var (
	unauthorizedReturnCodes   = []string{"R05", "R07", "R10", "R11", "R29", "R51"}
	administrativeReturnCodes = []string{"R02", "R03", "R04"}
)

const (
	policyWhyNSF = "NACHA lets an Originator reinitiate an R01/R09 return at most twice within 180 days of the original settlement date; " +
		"the returned-payment fee applies only to these codes."
	policyWhyInvalid = "The account as stored cannot receive debits; sending to it again would return again. " +
		"The customer must give a new account, which needs a new authorization."
	policyWhyUnauthorized = "The customer told the bank the debit was not authorized (counted in NACHA's 0.5% unauthorized rate). " +
		"Never reinitiate; stop autopay and have a person review the authorization."
	policyWhyWrongEntryType = "drafter only originates PPD and WEB consumer debits; this code cannot apply to them, so a person must look."
	policyWhyOurFormat      = "The entry left drafter malformed or the network rejected it; a person fixes the cause before the next entry. " +
		"Not the customer's doing, so no fee, no retry, and autopay stays."
	policyWhyDishonored = "A bank-to-bank dispute about an earlier return; the payment's status depends on its outcome, so a person settles it. " +
		"No customer email."
)

func policyNSF(code, title, reason string) Policy {
	return Policy{Code: code, Title: title, Reason: reason, Category: CategoryNSF, Kind: KindReturn,
		Represent: true, FeeEligible: true, NotifyCustomer: true, Why: policyWhyNSF}
}

func policyInvalid(code, title, reason, why string) Policy {
	if why == "" {
		why = policyWhyInvalid
	}
	return Policy{Code: code, Title: title, Reason: reason, Category: CategoryAdministrative, Kind: KindReturn,
		InvalidateBankAccount: true, StopAutopay: true, NeedsNewAuthorization: true, NotifyCustomer: true, Why: why}
}

func policyUnauthorized(code, title, reason, why string) Policy {
	if why == "" {
		why = policyWhyUnauthorized
	}
	return Policy{Code: code, Title: title, Reason: reason, Category: CategoryUnauthorized, Kind: KindReturn,
		StopAutopay: true, NeedsNewAuthorization: true, FlagForReview: true, NotifyCustomer: true, Why: why}
}

// policyWithoutNewAuthorization is for R11: the authorization stands, the
// entry was wrong.
func policyWithoutNewAuthorization(p Policy) Policy {
	p.NeedsNewAuthorization = false
	return p
}

func policyException(code, title, reason, why string) Policy {
	return Policy{Code: code, Title: title, Reason: reason, Category: CategoryOther, Kind: KindReturn,
		Exception: true, Why: why}
}

func policyDishonored(kind ReturnKind, code, title string) Policy {
	return Policy{Code: code, Title: title, Reason: "the banks are still settling how this payment was returned",
		Category: CategoryOther, Kind: kind, Exception: true, Why: policyWhyDishonored}
}

// returnPolicies is the table: every return code NACHA defines, plus R90,
// which moov-io/ach accepts and some banks send.
var returnPolicies = []Policy{
	policyNSF("R01", "Insufficient Funds", "there was not enough money in the account"),
	policyInvalid("R02", "Account Closed", "the bank account has been closed", ""),
	policyInvalid("R03", "No Account/Unable to Locate Account", "the bank could not find an account with that number", ""),
	policyInvalid("R04", "Invalid Account Number Structure", "the account number is not a valid number at that bank", ""),
	policyUnauthorized("R05", "Unauthorized Debit to Consumer Account Using Corporate SEC Code",
		"the bank says this was a business debit to a personal account that you did not authorize", ""),
	policyException("R06", "Returned per ODFI's Request", "our bank recalled the payment at our request",
		"Our bank pulled the entry back at our request (a recall or a correction); a person reconciles it with the reason it was recalled."),
	policyUnauthorized("R07", "Authorization Revoked by Customer", "you told your bank you had cancelled your authorization for these payments",
		"The customer revoked the authorization: R07 is never retried and counts in the unauthorized rate. "+
			"Autopay stops until the customer signs a new authorization."),
	{Code: "R08", Title: "Payment Stopped", Reason: "a stop payment was placed on this payment at your bank",
		Category: CategoryOther, Kind: KindReturn, StopAutopay: true, NeedsNewAuthorization: true, NotifyCustomer: true,
		Why: "A stop payment is not a revocation, but NACHA allows no new debit of that payment without a new authorization " +
			"from the customer; autopay stops until one is on file. Not counted as unauthorized."},
	policyNSF("R09", "Uncollected Funds", "the money in the account was not yet available"),
	policyUnauthorized("R10", "Customer Advises Originator is Not Known to Receiver and/or Originator is Not Authorized by Receiver to Debit Receiver's Account",
		"you told your bank you did not authorize this payment", ""),
	policyWithoutNewAuthorization(policyUnauthorized("R11", "Customer Advises Entry Not in Accordance with the Terms of the Authorization",
		"you told your bank this payment did not match what you authorized",
		"The authorization exists but the entry did not match it (amount, date). NACHA allows a corrected entry within 60 days "+
			"without a new authorization, but that is a person's decision after review, never an automatic re-presentment.")),
	policyInvalid("R12", "Account Sold to Another DFI", "your bank account was moved to another bank",
		"The branch was sold; the routing number on file no longer reaches the account. Treated like R02: the customer gives the new details."),
	policyInvalid("R13", "Invalid ACH Routing Number", "the bank routing number we have is not valid for electronic payments",
		"The ACH Operator could not route the entry; the routing number on file is unusable for ACH."),
	{Code: "R14", Title: "Representative Payee Deceased or Unable to Continue in That Capacity",
		Reason:   "the bank reported that the person responsible for the account can no longer act for it",
		Category: CategoryOther, Kind: KindReturn, InvalidateBankAccount: true, StopAutopay: true, NeedsNewAuthorization: true,
		FlagForReview: true, Exception: true,
		Why: "A death or incapacity: no further debits to this account; a person starts the deceased-customer process. No automatic email."},
	{Code: "R15", Title: "Beneficiary or Account Holder (Other Than a Representative Payee) Deceased",
		Reason:   "the bank reported that the account holder has died",
		Category: CategoryOther, Kind: KindReturn, InvalidateBankAccount: true, StopAutopay: true, NeedsNewAuthorization: true,
		FlagForReview: true, Exception: true,
		Why: "The account holder died: never debit this account again; a person starts the deceased-customer process with the estate. No automatic email."},
	{Code: "R16", Title: "Account Frozen/Entry Returned per OFAC Instruction", Reason: "the bank account is frozen",
		Category: CategoryOther, Kind: KindReturn, StopAutopay: true, FlagForReview: true, Exception: true,
		Why: "A legal hold or an OFAC instruction: compliance must look before anyone contacts the customer. " +
			"The account may reopen, so it is not marked invalid."},
	{Code: "R17", Title: "File Record Edit Criteria/Entry with Invalid Account Number Initiated Under Questionable Circumstances/Return of Improperly-Initiated Reversal",
		Reason:   "the bank could not process the payment",
		Category: CategoryOther, Kind: KindReturn, FlagForReview: true, Exception: true,
		Why: "Either the RDFI could not process a field, or it suspects fraud (addenda says QUESTIONABLE). " +
			"A person reads the addenda and decides; the account is flagged in case it is fraud."},
	policyException("R18", "Improper Effective Entry Date", "the payment date was not valid", policyWhyOurFormat),
	policyException("R19", "Amount Field Error", "the payment amount was not valid", policyWhyOurFormat),
	policyInvalid("R20", "Non-Transaction Account", "the account does not allow electronic payments",
		"The account cannot take ACH debits (for example a savings account limited by the bank); the customer must give another account."),
	policyException("R21", "Invalid Company Identification", "the bank could not process the payment", policyWhyWrongEntryType+" (CIE only)"),
	policyException("R22", "Invalid Individual ID Number", "the bank could not process the payment", policyWhyWrongEntryType+" (CIE and MTE only)"),
	policyException("R23", "Credit Entry Refused by Receiver", "the payment to you was refused",
		"A credit (a refund) was refused by the customer; a person arranges another way to pay the refund."),
	{Code: "R24", Title: "Duplicate Entry", Reason: "the bank received this payment twice",
		Category: CategoryOther, Kind: KindReturn, FlagForReview: true, Exception: true,
		Why: "The RDFI believes the entry was sent twice. Never debiting twice is drafter's first rule, so a person checks every R24 against the file history."},
	policyException("R25", "Addenda Error", "the bank could not process the payment", policyWhyOurFormat),
	policyException("R26", "Mandatory Field Error", "the bank could not process the payment", policyWhyOurFormat),
	policyException("R27", "Trace Number Error", "the bank could not process the payment", policyWhyOurFormat),
	{Code: "R28", Title: "Routing Number Check Digit Error", Reason: "the bank routing number we have is not valid",
		Category: CategoryAdministrative, Kind: KindReturn, InvalidateBankAccount: true, StopAutopay: true,
		NeedsNewAuthorization: true, Exception: true,
		Why: "The routing number on file fails its check digit; it cannot be used. drafter checks routing numbers when they are " +
			"stored, so a person also looks for how this one got in."},
	policyUnauthorized("R29", "Corporate Customer Advises Not Authorized", "your company told its bank this payment was not authorized", ""),
	policyException("R30", "RDFI Not Participant in Check Truncation Program", "the bank could not process the payment", policyWhyWrongEntryType),
	policyException("R31", "Permissible Return Entry (CCD and CTX Only)", "the bank returned the payment with our bank's agreement",
		policyWhyWrongEntryType+" (CCD and CTX only)"),
	policyException("R32", "RDFI Non-Settlement", "the bank could not settle the payment",
		"The customer's bank could not settle; a bank-side failure that a person follows up. Not a re-presentment code."),
	policyException("R33", "Return of XCK Entry", "the bank could not process the payment", policyWhyWrongEntryType+" (XCK only)"),
	{Code: "R34", Title: "Limited Participation DFI", Reason: "the bank is currently not able to accept this payment",
		Category: CategoryOther, Kind: KindReturn, StopAutopay: true, Exception: true,
		Why: "A regulator limited the customer's bank; further debits would return the same way. A person contacts the customer."},
	policyException("R35", "Return of Improper Debit Entry", "the account cannot be debited this way",
		"Debits are not allowed to this kind of account (a loan account, or CIE); a person checks the account type on file."),
	policyException("R36", "Return of Improper Credit Entry", "the bank could not process the payment",
		policyWhyWrongEntryType+" (credits under ARC, BOC, POP, RCK, TEL, XCK)"),
	policyException("R37", "Source Document Presented for Payment", "the bank could not process the payment", policyWhyWrongEntryType+" (ARC, BOC, POP)"),
	policyException("R38", "Stop Payment on Source Document", "the bank could not process the payment", policyWhyWrongEntryType+" (ARC, BOC)"),
	policyException("R39", "Improper Source Document/Source Document Presented for Payment", "the bank could not process the payment",
		policyWhyWrongEntryType+" (ARC, BOC, POP)"),
	policyException("R40", "Return of ENR Entry by Federal Government Agency", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R41", "Invalid Transaction Code (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R42", "Routing Number/Check Digit Error (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R43", "Invalid DFI Account Number (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R44", "Invalid Individual ID Number/Identification Number (ENR Only)", "the bank could not process the payment",
		policyWhyWrongEntryType+" (ENR only)"),
	policyException("R45", "Invalid Individual Name/Company Name (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R46", "Invalid Representative Payee Indicator (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R47", "Duplicate Enrollment (ENR Only)", "the bank could not process the payment", policyWhyWrongEntryType+" (ENR only)"),
	policyException("R50", "State Law Affecting RCK Acceptance", "the bank could not process the payment", policyWhyWrongEntryType+" (RCK only)"),
	policyUnauthorized("R51", "Item Related to RCK Entry is Ineligible or RCK Entry is Improper",
		"your bank says this payment was not properly authorized",
		"An RCK code, which drafter never originates, but NACHA counts it as unauthorized, so it is treated like the other unauthorized codes."),
	policyException("R52", "Stop Payment on Item Related to RCK Entry", "the bank could not process the payment", policyWhyWrongEntryType+" (RCK only)"),
	policyException("R53", "Item and RCK Entry Presented for Payment", "the bank could not process the payment", policyWhyWrongEntryType+" (RCK only)"),
	policyDishonored(KindDishonored, "R61", "Misrouted Return"),
	policyDishonored(KindDishonored, "R62", "Return of Erroneous or Reversing Debit"),
	policyDishonored(KindDishonored, "R67", "Duplicate Return"),
	policyDishonored(KindDishonored, "R68", "Untimely Return"),
	policyDishonored(KindDishonored, "R69", "Field Error(s)"),
	policyDishonored(KindDishonored, "R70", "Permissible Return Entry Not Accepted/Return Not Requested by ODFI"),
	policyDishonored(KindContested, "R71", "Misrouted Dishonored Return"),
	policyDishonored(KindContested, "R72", "Untimely Dishonored Return"),
	policyDishonored(KindContested, "R73", "Timely Original Return"),
	policyDishonored(KindContested, "R74", "Corrected Return"),
	policyDishonored(KindContested, "R75", "Return Not a Duplicate"),
	policyDishonored(KindContested, "R76", "No Errors Found"),
	policyDishonored(KindContested, "R77", "Non-Acceptance of R62 Dishonored Return"),
	policyException("R80", "IAT Entry Coding Error", "the bank could not process the payment", policyWhyWrongEntryType+" (IAT only)"),
	policyException("R81", "Non-Participant in IAT Program", "the bank could not process the payment", policyWhyWrongEntryType+" (IAT only)"),
	policyException("R82", "Invalid Foreign Receiving DFI Identification", "the bank could not process the payment", policyWhyWrongEntryType+" (IAT only)"),
	policyException("R83", "Foreign Receiving DFI Unable to Settle", "the bank could not process the payment", policyWhyWrongEntryType+" (IAT only)"),
	policyException("R84", "Entry Not Processed by Gateway", "the bank could not process the payment", policyWhyWrongEntryType+" (IAT only)"),
	policyException("R85", "Incorrectly Coded Outbound International Payment", "the bank could not process the payment",
		policyWhyWrongEntryType+" (outbound international)"),
	{Code: "R90", Title: "Entry Returned Due to RDFI's Sanctions Compliance Obligations", Reason: "the bank could not process the payment",
		Category: CategoryOther, Kind: KindReturn, StopAutopay: true, FlagForReview: true, Exception: true,
		Why: "Not in the NACHA table drafter follows, but moov-io/ach accepts it and some banks send it: a sanctions hold, " +
			"handled like R16 by compliance."},
}

var returnPolicyByCode = func() map[string]Policy {
	m := make(map[string]Policy, len(returnPolicies))
	for _, p := range returnPolicies {
		if _, dup := m[p.Code]; dup {
			panic("ach: duplicate return policy " + p.Code)
		}
		m[p.Code] = p
	}
	return m
}()

// ReturnPolicy returns the policy for a return code ("R01"). ok is false
// for a code NACHA does not define.
func ReturnPolicy(code string) (Policy, bool) {
	p, ok := returnPolicyByCode[code]
	return p, ok
}

// ReturnPolicies returns the whole return-code table in code order.
func ReturnPolicies() []Policy {
	out := append([]Policy(nil), returnPolicies...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// CorrectionAction is what drafter does with a notification of change.
type CorrectionAction string

// The three things drafter does with a notification of change.
const (
	// CorrectionApply: update the bank account from the corrected data
	// before its next entry (within 6 banking days or before the next entry,
	// whichever is later).
	CorrectionApply CorrectionAction = "apply"
	// CorrectionReview: record it for a person; nothing changes by itself.
	CorrectionReview CorrectionAction = "review"
	// CorrectionRefused: a refused NOC (C61-C69); record it for a person.
	CorrectionRefused CorrectionAction = "refused"
)

// CorrectionPolicyEntry is what drafter does with one change code.
type CorrectionPolicyEntry struct {
	Code   string
	Title  string
	Action CorrectionAction
	Fields string // which bank-account fields the corrected data carries
	Why    string
}

const correctionWhyApply = "Corrected data drafter can apply to the bank account on its own; NACHA requires the change before the next entry."

var correctionPolicies = []CorrectionPolicyEntry{
	{"C01", "Incorrect DFI Account Number", CorrectionApply, "account number", correctionWhyApply},
	{"C02", "Incorrect Routing Number", CorrectionApply, "routing number", correctionWhyApply},
	{"C03", "Incorrect Routing Number and Incorrect DFI Account Number", CorrectionApply, "routing number, account number", correctionWhyApply},
	{"C04", "Incorrect Individual Name/Receiving Company Name", CorrectionReview, "name",
		"NACHA retired C04 in 2015 because an automatic name change carries liability; a person checks the name with the customer."},
	{"C05", "Incorrect Transaction Code", CorrectionApply, "transaction code (checking or savings)", correctionWhyApply},
	{"C06", "Incorrect DFI Account Number and Incorrect Transaction Code", CorrectionApply, "account number, transaction code", correctionWhyApply},
	{"C07", "Incorrect Routing Number, Incorrect DFI Account Number, and Incorrect Transaction Code", CorrectionApply,
		"routing number, account number, transaction code", correctionWhyApply},
	{"C08", "Incorrect Receiving DFI Identification (IAT Only)", CorrectionReview, "foreign receiving DFI",
		"IAT only; drafter never originates IAT, so a person looks."},
	{"C09", "Incorrect Individual Identification Number", CorrectionApply, "individual identification number", correctionWhyApply},
	{"C13", "Addenda Format Error", CorrectionReview, "none",
		"The entry posted but its addenda was unclear; a person checks the addenda drafter builds."},
	{"C14", "Incorrect SEC Code for Outbound International Payment", CorrectionReview, "SEC code",
		"The RDFI thinks the payment was international; a person checks before the next entry."},
	{"C61", "Misrouted Notification of Change", CorrectionRefused, "none", correctionWhyRefused},
	{"C62", "Incorrect Trace Number", CorrectionRefused, "none", correctionWhyRefused},
	{"C63", "Incorrect Company Identification Number", CorrectionRefused, "none", correctionWhyRefused},
	{"C64", "Incorrect Individual Identification Number/Identification Number", CorrectionRefused, "none", correctionWhyRefused},
	{"C65", "Incorrectly Formatted Corrected Data", CorrectionRefused, "none", correctionWhyRefused},
	{"C66", "Incorrect Discretionary Data", CorrectionRefused, "none", correctionWhyRefused},
	{"C67", "Routing Number Not from Original Entry Detail Record", CorrectionRefused, "none", correctionWhyRefused},
	{"C68", "DFI Account Number Not from Original Entry Detail Record", CorrectionRefused, "none", correctionWhyRefused},
	{"C69", "Incorrect Transaction Code", CorrectionRefused, "none", correctionWhyRefused},
}

const correctionWhyRefused = "A refused NOC goes between the banks; drafter records it and changes nothing."

var correctionPolicyByCode = func() map[string]CorrectionPolicyEntry {
	m := make(map[string]CorrectionPolicyEntry, len(correctionPolicies))
	for _, p := range correctionPolicies {
		if _, dup := m[p.Code]; dup {
			panic("ach: duplicate correction policy " + p.Code)
		}
		m[p.Code] = p
	}
	return m
}()

// CorrectionPolicy returns what drafter does with a change code ("C01").
// ok is false for a code NACHA does not define (C10-C12 are not accepted:
// see docs/returns.md).
func CorrectionPolicy(code string) (CorrectionPolicyEntry, bool) {
	p, ok := correctionPolicyByCode[code]
	return p, ok
}

// CorrectionPolicies returns the whole change-code table in code order.
func CorrectionPolicies() []CorrectionPolicyEntry {
	return append([]CorrectionPolicyEntry(nil), correctionPolicies...)
}

// Re-presentment limits: NACHA allows two reinitiations (three attempts in
// all) within 180 days of the original entry's settlement date.
const (
	MaxPresentments         = 3
	RepresentmentWindowDays = 180
)

// RepresentmentDeadline is the last day a re-presented entry may settle:
// 180 days after the original settlement date.
func RepresentmentDeadline(originalSettlement civil.Date) civil.Date {
	return originalSettlement.AddDays(RepresentmentWindowDays)
}

// RepresentmentDecision says whether a payment returned with code may be
// presented again. attemptsSoFar counts the presentments already made,
// the original included (1 after the first return). returnDate is the date
// the return is processed; it must fall within 180 days of the original
// settlement date, and the caller must also settle the retry by
// RepresentmentDeadline. reason says why, in words an operator reads.
func RepresentmentDecision(code string, attemptsSoFar int, originalSettlement, returnDate civil.Date) (ok bool, reason string) {
	p, known := ReturnPolicy(code)
	switch {
	case !known:
		return false, fmt.Sprintf("%q is not a return code; nothing is re-presented", code)
	case !p.Represent:
		return false, fmt.Sprintf("%s (%s) is never re-presented; only R01 and R09 are", code, p.Title)
	case attemptsSoFar < 1:
		return false, fmt.Sprintf("attempts so far is %d; a returned payment has at least one", attemptsSoFar)
	case attemptsSoFar >= MaxPresentments:
		return false, fmt.Sprintf("%s after attempt %d of %d: no retries left", code, attemptsSoFar, MaxPresentments)
	case originalSettlement.IsZero() || returnDate.IsZero():
		return false, "original settlement date and return date are both needed"
	case returnDate.Before(originalSettlement):
		return false, fmt.Sprintf("return date %s is before the original settlement date %s", returnDate, originalSettlement)
	}
	deadline := RepresentmentDeadline(originalSettlement)
	if returnDate.After(deadline) {
		return false, fmt.Sprintf("%s on %s is %d days after the original settlement %s; retries are allowed only within %d days",
			code, returnDate, returnDate.DaysSince(originalSettlement), originalSettlement, RepresentmentWindowDays)
	}
	return true, fmt.Sprintf("%s: retry %d of %d; it must settle by %s", code, attemptsSoFar, MaxPresentments-1, deadline)
}

// ReturnedPaymentFee is the fee charged for a returned debit: the
// contract's fee, or the cap of the contract's state when the lender's
// table (caps, by two-letter state) has a lower one. capped reports that
// the cap decided it. A state without a cap charges the contract's fee.
func ReturnedPaymentFee(contractFee money.Cents, state string, caps map[string]money.Cents) (fee money.Cents, capped bool) {
	if c, ok := caps[strings.ToUpper(strings.TrimSpace(state))]; ok && c < contractFee {
		return max(c, 0), true
	}
	return contractFee, false
}
