package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drafterhq/drafter/ledger"
)

// printDemoTour ends the demo with what to open: one statement PDF, one
// lease-end notice and one email, by path when they are files here, and
// how to look at the runs with the binary just built.
func printDemoTour(ctx context.Context, a *app) {
	fmt.Println()
	fmt.Println("open:")
	docsRoot := ""
	if strings.HasPrefix(a.cfg.StorageURL, "file://") {
		docsRoot = strings.TrimPrefix(a.cfg.StorageURL, "file://")
	}
	for _, d := range []struct{ label, kind string }{{"a statement:", ledger.DocStatement}, {"a lease-end notice:", ledger.DocLeaseEndPrefix}} {
		doc, err := a.store.FirstDocument(ctx, d.kind)
		switch {
		case err != nil:
			fmt.Printf("  %-20s none this night\n", d.label)
		case docsRoot != "":
			fmt.Printf("  %-20s %s\n", d.label, filepath.Join(docsRoot, filepath.FromSlash(doc.StorageKey)))
		default:
			fmt.Printf("  %-20s %s storage get %s --out %s --data-dir %s\n", d.label, self(), doc.StorageKey, filepath.Base(doc.StorageKey), a.cfg.DataDir)
		}
	}
	fmt.Printf("  %-20s %s\n", "an email:", demoEmail(ctx, a))
	fmt.Println("look at the night:")
	for _, cmd := range []string{"runs", "outbox", "exceptions"} {
		fmt.Printf("  %s %s --data-dir %s\n", self(), cmd, a.cfg.DataDir)
	}
}

// demoEmail is the path of one email the night sent into the pickup
// folder, a statement's if there is one.
func demoEmail(ctx context.Context, a *app) string {
	dir, ok := strings.CutPrefix(a.cfg.MailURL, "pickup://")
	if !ok {
		return "sent over SMTP (" + a.cfg.MailURL + "): see the mail server"
	}
	ms, err := a.store.ListOutbox(ctx, ledger.OutboxFilter{Status: ledger.OutboxSent, Kind: ledger.MailStatementReady, Limit: 1})
	if err == nil && len(ms) == 1 && ms[0].MessageID != "" {
		p := filepath.Join(dir, ms[0].MessageID+".eml")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.eml")); len(files) > 0 {
		return files[0]
	}
	return "none sent this night (see " + self() + " outbox)"
}

// self is how this binary was called (./bin/drafter under make run), so
// that a command it prints runs as shown.
func self() string {
	if len(os.Args) > 0 && strings.Contains(os.Args[0], string(filepath.Separator)) {
		return os.Args[0]
	}
	return "drafter"
}
