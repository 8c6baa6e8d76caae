package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

// StorageCommand lets an operator look at document storage.
type StorageCommand struct{ common }

// Run implements command.
func (c *StorageCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("storage", "storage ls [PREFIX] [--json]\n       drafter storage get KEY [--out FILE]\n\n"+
		"ls lists the objects whose keys start with PREFIX (all when none), with\n"+
		"size, time and sha256; get writes one object to standard output or FILE.")
	c.register(fs)
	out := fs.String("out", "", "with get: write to FILE instead of standard output")
	fs.BoolVar(&c.jsonOut, "json", false, "with ls: print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageErrorf("want ls or get")
	}
	verb, arg := pos[0], ""
	switch {
	case verb != "ls" && verb != "get":
		return usageErrorf("unknown verb %q: want ls or get", verb)
	case len(pos) > 2:
		return usageErrorf("%s: one %s, got %q", verb, map[string]string{"ls": "prefix", "get": "key"}[verb], pos[1:])
	case len(pos) == 2:
		arg = pos[1]
	case verb == "get":
		return usageErrorf("get: want the object's key (see `drafter storage ls`)")
	}
	a, err := c.openReadOnly(ctx)
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
			fmt.Fprintf(w, "%s\t%d\t%s\t%.12s\n", o.Key, o.Size, o.ModTime.UTC().Format(time.RFC3339), o.SHA256)
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
