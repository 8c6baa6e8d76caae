package main

import (
	"context"
	"errors"
)

// BenchCommand measures jobs end to end on a scratch database.
type BenchCommand struct{ common }

// Run implements command.
func (c *BenchCommand) Run(ctx context.Context, args []string) error {
	return errors.New("not built yet")
}
