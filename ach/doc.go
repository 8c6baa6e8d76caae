// Package ach holds the NACHA rules drafter encodes: origination files built
// from debit entries, inbound return and notification-of-change files parsed
// into plain values, the return-code policy, the banking-day calendar, trace
// numbers and routing numbers. It is pure: no database, no network, no clock.
package ach
