package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/storage"
)

// StorageCommand lets an operator look at document storage.
type StorageCommand struct{ common }

// Subcommands implements withSubcommands.
func (c *StorageCommand) Subcommands() []subcommand {
	return []subcommand{{"ls", "list the objects under a prefix: `storage ls [PREFIX] [--json]`"},
		{"get", "write one object to standard output or a file: `storage get KEY [--out FILE]`"}}
}

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
		return usageErrorf("want ls or get (see `drafter storage --help`)")
	}
	verb, arg := pos[0], ""
	switch {
	case verb != "ls" && verb != "get":
		return usageErrorf("unknown verb %q: want ls or get", verb)
	case verb == "ls" && *out != "":
		return usageErrorf("--out is for get: ls prints the list")
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
		if err := describeListed(ctx, a.docs, objs); err != nil {
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

// maxListStats bounds the objects `storage ls` describes one at a time.
const maxListStats = 1000

// describeListed fills the sha256, content type and metadata of listed
// objects whose backend lists without them (S3: a HEAD each), up to
// maxListStats of them; past that they stay empty, and it says so.
func describeListed(ctx context.Context, docs storage.Store, objs []storage.Object) error {
	n := 0
	for i, o := range objs {
		if o.SHA256 != "" {
			continue
		}
		if n == maxListStats {
			fmt.Fprintf(os.Stderr, "warning: the sha256 and content type of the objects after %s are not shown: more than %d to look up one at a time; narrow the prefix\n", objs[i-1].Key, maxListStats)
			return nil
		}
		n++
		st, err := docs.Stat(ctx, o.Key)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted since the list
		}
		if err != nil {
			return err
		}
		objs[i].SHA256, objs[i].ContentType, objs[i].Metadata = st.SHA256, st.ContentType, st.Metadata
	}
	return nil
}
