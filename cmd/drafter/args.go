package main

import (
	"errors"
	"flag"
)

// parseArgs parses fs's flags wherever they stand among the arguments
// (`ls --json PREFIX` and `ls PREFIX --json` alike) and returns the
// positional arguments in order; everything after "--" is positional. A
// bad flag is a usage error; --help prints the usage and returns errHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
