// Package logs makes drafter's logger: one JSON object a line for machines,
// or a console line for people, with the same conventions in both. Every
// time is RFC 3339 with its zone; every duration is a number of
// milliseconds in a field whose name ends in _ms; the console puts the run
// and the job first, where a person looks for them.
package logs

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// TimeFormat is the format of every time a log line carries: RFC 3339 to
// the millisecond, with the zone.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FieldsFirst are the console's leading fields, in order; the others follow
// sorted by name.
var FieldsFirst = []string{"run", "job", "date", "chunk", "worker"}

// Conventions sets zerolog's process-wide formats: times as TimeFormat,
// durations (Dur) as whole milliseconds. New calls it.
func Conventions() {
	zerolog.TimeFieldFormat = TimeFormat
	zerolog.DurationFieldUnit = time.Millisecond
	zerolog.DurationFieldInteger = true
}

// Options say how New logs.
type Options struct {
	// Format is "json" or "console".
	Format string
	// Level is debug, info, warn or error (info when it does not parse).
	Level string
	// Zone is the zone console times are shown in (UTC when nil).
	Zone *time.Location
	// NoColor turns off the console's colors.
	NoColor bool
}

// New returns a logger writing to w with a timestamp on every line.
func New(w io.Writer, o Options) zerolog.Logger {
	Conventions()
	if o.Format == "console" {
		w = Console(w, o.Zone, o.NoColor)
	}
	lvl, err := zerolog.ParseLevel(o.Level)
	if err != nil || o.Level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// Console is the console writer: RFC 3339 times in zone, run and job first.
func Console(w io.Writer, zone *time.Location, noColor bool) zerolog.ConsoleWriter {
	if zone == nil {
		zone = time.UTC
	}
	return zerolog.ConsoleWriter{Out: w, TimeFormat: TimeFormat, TimeLocation: zone, NoColor: noColor,
		FieldsOrder: FieldsFirst}
}
