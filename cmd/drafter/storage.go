package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
)

// StorageCommand lets an operator look at document storage.
type StorageCommand struct{ common }

// Run implements command.
func (c *StorageCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("storage", "storage ls PREFIX [--json]\n       drafter storage get KEY [--out FILE]")
	c.register(fs)
	out := fs.String("out", "", "with get: write to FILE instead of standard output")
	fs.BoolVar(&c.jsonOut, "json", false, "with ls: print JSON")
	if len(args) < 2 || (args[0] != "ls" && args[0] != "get") {
		fs.Usage()
		return errHelp
	}
	verb, arg := args[0], args[1]
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	switch verb {
	case "ls":
		objs, err := a.docs.List(ctx, arg)
		if err != nil {
			return err
		}
		if c.jsonOut {
			return printJSON(objs)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		for _, o := range objs {
			fmt.Fprintf(w, "%s\t%d\t%s\t%.12s\n", o.Key, o.Size, o.ModTime.UTC().Format("2006-01-02 15:04:05"), o.SHA256)
		}
		return w.Flush()
	case "get":
		body, _, err := a.docs.Get(ctx, arg)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = os.Stdout.Write(body)
			return err
		}
		return os.WriteFile(*out, body, 0o600)
	}
	return errors.New("unreachable")
}
