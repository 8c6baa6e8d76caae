package server

// NewMetricsAt is NewMetrics on a fixed clock, for tests.
var NewMetricsAt = newMetrics
