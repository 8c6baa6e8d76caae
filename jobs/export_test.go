package jobs

// SetInboundPartEntries makes Ingester.File apply n entries at a time,
// until the returned function is called.
func SetInboundPartEntries(n int) (restore func()) {
	old := inboundPartEntries
	inboundPartEntries = n
	return func() { inboundPartEntries = old }
}
