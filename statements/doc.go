// Package statements owns the monthly statement and the lease-end notice:
// what they say (pure computation from small input structs, in integer
// cents) and how they look (deterministic PDF rendering with an embedded
// Unicode font). It imports neither the ledger nor the jobs; jobs maps the
// ledger into StatementInput and LeaseEndInput.
package statements
