// Package ach holds the NACHA rules drafter encodes: origination files built
// from debit entries, inbound return and notification-of-change files parsed
// into plain values, the return-code policy, the banking-day calendar, trace
// numbers and routing numbers. It is pure: no database, no network, no clock.
//
// Names: a holder name in any script becomes the 22-character Individual
// Name of an entry through EntryName: Latin letters lose their marks, Greek,
// Cyrillic, CJK and other scripts are transliterated letter by letter
// (Sanitize), and a name that leaves no letter is sent as FallbackName, so a
// name never fails a build (docs/names.md).
//
// Offsets: with an offset account, every batch that debits is balanced by a
// credit to the company's settlement account, as the last entry of the batch;
// a TEL batch, which may carry no credit, is balanced by a companion CCD batch
// right after it (see BuildFile).
package ach
