package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/pattern"
)

// parley pattern check PATTERN
// parley pattern match [--stix-version 2.0] PATTERN FILE|-
//
// Exit codes: check: 0 valid, 2 invalid. match: 0 match (the bound
// observed-data ids are printed, one a line), 1 no match, 2 invalid
// pattern or unreadable/non-JSON input, 3 the pattern could not be
// evaluated on this input.
func init() {
	register(command{
		name:  "pattern",
		usage: "pattern check PATTERN | pattern match PATTERN FILE   # validate or evaluate a STIX pattern",
		help: `PATTERN is one STIX 2.1 pattern (STIX 2.1 section 9) as a single shell
argument: quote it whole, such as "[domain-name:value = 'evil.example']"
(double quotes outside, the pattern's single quotes inside).

  check  exit 0 valid, 2 invalid (the reason, with its line and column,
         on stderr)
  match  Exit 0 match (the bound observed-data ids are printed, one a
         line), 1 no match, 2 invalid pattern or input that is not JSON,
         3 the pattern cannot be evaluated on this input`,
		subcommands: []subcommand{
			{name: "check", usage: "pattern check PATTERN", help: `Validates PATTERN, one STIX 2.1 pattern given as a single (quoted)
argument, such as
  parley pattern check "[file:hashes.'SHA-256' = 'aec0...19f'] WITHIN 60 SECONDS"
against the STIX 2.1 grammar and its rules (hash forms, integer and
boolean properties, regular expressions, qualifiers). Nothing is printed
for a valid pattern.

Exit 0 valid, 2 invalid (the reason, with its line and column, on stderr).`},
			{name: "match", usage: "pattern match [--stix-version 2.1|2.0] PATTERN FILE|-", help: `Evaluates PATTERN over FILE (- for stdin): a bundle, a list of bundles,
or a list of observed-data and the SCOs they reference. Over STIX 2.0
observed-data (embedded "objects") the pattern may also be STIX 2.0
(START/STOP with plain strings); --stix-version allows only one version.

Exit 0 match (the bound observed-data ids are printed, one a line), 1 no
match, 2 invalid pattern or input that is not JSON, 3 the pattern cannot
be evaluated on this input.`},
		},
		run: runPattern,
	})
}

const patternUsage = "usage: parley pattern check PATTERN | parley pattern match [--stix-version 2.1|2.0] PATTERN FILE (FILE may be - for stdin)"

func runPattern(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf(patternUsage, "pattern needs a subcommand: check or match")
	}
	switch args[0] {
	case "check":
		fs := c.newFlagSet("pattern check")
		if err := c.parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErrorf(patternUsage, "pattern check takes exactly one PATTERN argument")
		}
		if err := pattern.Validate(fs.Arg(0)); err != nil {
			return withExit(2, "", err)
		}
		return nil
	case "match":
		fs := c.newFlagSet("pattern match")
		version := fs.String("stix-version", "", "accept only patterns of this version: 2.1 or 2.0 (START/STOP with plain strings); default: 2.1, and over STIX 2.0 observations (embedded \"objects\") 2.0 too")
		if err := c.parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 2 {
			return usageErrorf(patternUsage, "pattern match takes a PATTERN and a FILE")
		}
		switch *version {
		case "", "2.1", "2.0":
		default:
			return usageErrorf("use --stix-version 2.1 or 2.0", "unknown STIX version %q", *version)
		}
		data, err := readDocument(c, fs.Arg(1))
		if err != nil {
			return withExit(2, tooLargeHint(err), fmt.Errorf("couldn't read observations: %w", err))
		}
		// The grammar goes with the data: over STIX 2.0 observations a
		// pattern may be written in either version (plain-string
		// START/STOP as in the reference matcher's 2.0 mode, or 2.1 with
		// t'...' and EXISTS); the two grammars accept the same patterns
		// apart from those, so whichever accepts it decides. Over 2.1
		// data, and with --stix-version, only that version's grammar.
		var p *pattern.Pattern
		switch {
		case *version == "2.0":
			p, err = pattern.Parse20(fs.Arg(0))
		case *version == "" && pattern.IsSTIX20(data):
			if p, err = pattern.Parse(fs.Arg(0)); err != nil {
				if p20, err20 := pattern.Parse20(fs.Arg(0)); err20 == nil {
					p, err = p20, nil
				}
			}
		default:
			p, err = pattern.Parse(fs.Arg(0))
		}
		if err != nil {
			return withExit(2, "", err)
		}
		obs, err := pattern.DecodeObservations(data)
		if errors.Is(err, pattern.ErrInput) {
			return withExit(2, "FILE must hold a STIX bundle, or a JSON list of bundles or of observed-data and SCOs", err)
		}
		var res pattern.Result
		if err == nil {
			res, err = p.Match(obs)
		}
		if err != nil {
			return withExit(3, "", err)
		}
		if !res.Matched {
			return withExit(1, "", errSilent)
		}
		for _, id := range res.ObservedData {
			fmt.Fprintln(c.stdout, id)
		}
		return nil
	}
	return usageErrorf(patternUsage, "unknown pattern subcommand %q", args[0])
}
