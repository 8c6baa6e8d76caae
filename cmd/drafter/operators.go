package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// OperatorsCommand manages the named operators of the console and the API:
// `operators add NAME --role R`, `list`, `disable NAME`, `enable NAME`,
// `rotate NAME`.
type OperatorsCommand struct{ common }

const operatorsUsage = "operators add NAME --role viewer|operator|admin\n" +
	"       drafter operators list [--json]\n" +
	"       drafter operators disable|enable|rotate NAME\n\n" +
	"Named operators sign in to the console (`drafter serve`, at /) and call the\n" +
	"admin API with their token (Authorization: Bearer TOKEN); every action is\n" +
	"audited under their name. viewer sees; operator also resumes, reruns,\n" +
	"resolves exceptions and resends email; admin also manages operators.\n" +
	"add and rotate print the token once: only its SHA-256 is kept."

// Run implements command.
func (c *OperatorsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("operators", operatorsUsage)
	c.register(fs)
	role := fs.String("role", "", "the operator's role (add): viewer, operator or admin")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageErrorf("operators: want add, list, disable, enable or rotate")
	}
	verb, rest := pos[0], pos[1:]
	needName := verb != "list"
	if needName && len(rest) != 1 {
		return usageErrorf("operators %s: want one operator NAME", verb)
	}
	if !needName && len(rest) != 0 {
		return usageErrorf("operators list takes no argument")
	}
	if verb == "add" && ledger.RoleRank(*role) == 0 {
		return usageErrorf("operators add %s: --role is required: viewer, operator or admin", rest[0])
	}
	var by string
	if needName {
		if by, err = c.operator(); err != nil {
			return err
		}
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	switch verb {
	case "add":
		o, token, err := a.store.AddOperator(ctx, rest[0], *role, by)
		if err != nil {
			return err
		}
		if c.jsonOut {
			return printJSON(map[string]any{"operator": o, "token": token})
		}
		fmt.Printf("operator %s added with role %s. Its token, shown this once (only its SHA-256 is kept):\n%s\n", o.Name, o.Role, token)
		return nil
	case "rotate":
		token, err := a.store.RotateOperator(ctx, rest[0], by)
		if err != nil {
			return err
		}
		if c.jsonOut {
			return printJSON(map[string]any{"operator": rest[0], "token": token})
		}
		fmt.Printf("operator %s has a new token; the old one and its console sessions no longer work. Shown this once:\n%s\n", rest[0], token)
		return nil
	case "disable", "enable":
		status := ledger.OperatorDisabled
		if verb == "enable" {
			status = ledger.OperatorActive
		}
		if err := a.store.SetOperatorStatus(ctx, rest[0], status, by); err != nil {
			return err
		}
		fmt.Printf("operator %s %sd\n", rest[0], verb)
		return nil
	case "list":
		ops, err := a.store.Operators(ctx)
		if err != nil {
			return err
		}
		if c.jsonOut {
			if ops == nil {
				ops = []ledger.Operator{}
			}
			return printJSON(ops)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tSTATUS\tCREATED\tBY\tLAST SEEN")
		for _, o := range ops {
			seen := "-"
			if o.LastSeenAt != nil {
				seen = o.LastSeenAt.In(a.cfg.Zone).Format(time.DateTime)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Name, o.Role, o.Status, o.CreatedAt.In(a.cfg.Zone).Format(time.DateTime), o.CreatedBy, seen)
		}
		return w.Flush()
	}
	return usageErrorf("operators %s: want add, list, disable, enable or rotate", verb)
}

// Subcommands implements withSubcommands.
func (c *OperatorsCommand) Subcommands() []subcommand {
	return []subcommand{
		{"add", "add a named operator with a role; prints its token once"},
		{"list", "the operators, their roles and whether they are enabled"},
		{"disable", "stop an operator's token and sessions"},
		{"enable", "let a disabled operator's token in again"},
		{"rotate", "give an operator a new token (printed once); its sessions end"},
	}
}
