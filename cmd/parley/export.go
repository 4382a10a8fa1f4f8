package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// maxShownID and maxShownReason bound an indicator's id and the reason it
// was left out as export lists them on stderr: both may quote what a
// rival member wrote (a pattern of megabytes, an id that is no STIX id),
// and both go through [untrusted.Text], which also keeps terminal
// escapes, line breaks and bidi controls off the terminal.
const (
	maxShownID     = 120
	maxShownReason = 1000
)

func init() {
	register(command{
		name:  "export",
		usage: "export --format zeek-intel|suricata-dataset|misp-feed (--indicators FILE | --url U --token-file F --collection C) [--out PATH]   write indicators as a Zeek intel file, Suricata datasets and rules, or a MISP feed",
		run:   runExport,
	})
}

// runExport writes the indicators that sensors can match on their own.
// What cannot be represented is listed on stderr, one indicator a line.
// Exit status: 0 (also when some indicators were left out), 2 for bad
// usage or input, 3 when writing failed, 4 when the node refused.
func runExport(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("export")
	format := fs.String("format", "", "zeek-intel (an Intel::read_files file), suricata-dataset (datasets and rules) or misp-feed (a MISP feed folder)")
	indicators := fs.String("indicators", "", "STIX bundle `FILE` of indicators")
	url := fs.String("url", "", "node `URL` to read the indicators from over TAXII")
	token := fs.String("token", "", "API `TOKEN` for --url (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	collection := fs.String("collection", "", "TAXII collection `ID` (or title)")
	out := fs.String("out", "", "zeek-intel: output `PATH` (default stdout); suricata-dataset: the directory to write (required)")
	sid := fs.Int("sid", 9100000, "suricata-dataset: the first rule `SID`")
	allowUnsigned := fs.Bool("allow-unsigned", false, "with --url, also export unsigned indicators (from collections that accept them)")
	trust := addTrustFlags(fs)
	lcFlags := addLogCheckFlags(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	lc, err := lcFlags.logCheck()
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *format == "misp-feed" {
		return exportMISPFeed(ctx, c, trust, lc, *indicators, *url, *token, *collection, *out)
	}
	if *format != "zeek-intel" && *format != "suricata-dataset" {
		return usageErrorf("parley export --format zeek-intel|suricata-dataset ...", "--format must be zeek-intel or suricata-dataset")
	}
	if (*indicators == "") == (*url == "") {
		return usageErrorf("give --indicators FILE, or --url, --token and --collection", "need one source of indicators")
	}
	if *format == "suricata-dataset" && *out == "" {
		return usageErrorf("Suricata needs several files: datasets and a rules file", "--format suricata-dataset needs --out DIR")
	}
	set, p, err := indicatorSource(ctx, c, *indicators, *url, *token, *collection, trust, lc, *allowUnsigned)
	if err != nil {
		return err
	}
	if p != nil {
		if _, err := p.Poll(ctx); err != nil {
			return withExit(4, "check --url, "+tokenFlag+" and --collection", err)
		}
	}
	active, _ := set.Active(time.Now())
	vals, bad := match.ExportValues(active)
	var more []match.Unrepresentable
	switch *format {
	case "zeek-intel":
		// A file is replaced whole (written beside it, then renamed): Zeek
		// rereads an intel file when it changes and must never load half.
		w := c.stdout
		var pf *pendingFile
		if *out != "" {
			p, err := createPending(*out)
			if err != nil {
				return withExit(3, "", fmt.Errorf("couldn't create %s: %w", *out, err))
			}
			pf, w = p, p
		}
		b, err := match.WriteZeekIntel(w, vals)
		if pf != nil {
			if err != nil {
				pf.Abort()
			} else {
				err = pf.Commit()
			}
		}
		if err != nil {
			return withExit(3, "", fmt.Errorf("couldn't write the intel file: %w", err))
		}
		more = b
	case "suricata-dataset":
		files, b := match.SuricataDatasets(vals, *sid)
		more = b
		hashKinds := 0
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return withExit(3, "", fmt.Errorf("couldn't create %s: %w", *out, err))
		}
		// Every file is written before any is replaced, and the rules,
		// which name the datasets, are replaced last: a Suricata reloading
		// meanwhile finds the old set or the new datasets under the old
		// rules, never a partial file.
		rulesLast := func(f match.SuricataFile) int {
			if strings.HasSuffix(f.Name, ".rules") {
				return 1
			}
			return 0
		}
		slices.SortStableFunc(files, func(a, b match.SuricataFile) int { return cmp.Compare(rulesLast(a), rulesLast(b)) })
		var pending []*pendingFile
		for _, f := range files {
			p, err := createPending(filepath.Join(*out, f.Name))
			if err == nil {
				if _, err = p.Write(f.Data); err != nil {
					p.Abort()
				}
			}
			if err != nil {
				for _, q := range pending {
					q.Abort()
				}
				return withExit(3, "nothing was replaced", fmt.Errorf("couldn't write %s: %w", f.Name, err))
			}
			pending = append(pending, p)
		}
		if err := commitAll(pending); err != nil {
			return withExit(3, "", fmt.Errorf("couldn't replace the files in %s: %w", *out, err))
		}
		for _, f := range files {
			fmt.Fprintf(c.stdout, "%s\n", filepath.Join(*out, f.Name))
			if f.Name == "parley-md5.txt" || f.Name == "parley-sha1.txt" || f.Name == "parley-sha256.txt" {
				hashKinds++
			}
		}
		if hashKinds > 1 {
			// Suricata computes one digest per rule group unless told to
			// compute them all; without it the rules of the other kinds
			// load and never fire (seen in Suricata 7.0.10).
			fmt.Fprintln(c.stderr, "parley: export: the MD5 and SHA-1 file rules fire only if suricata.yaml has force-hash: [md5, sha1, sha256] under files in its eve-log output")
		}
	}
	bad = append(bad, more...)
	for _, u := range bad {
		// The id and the reason quote what the indicator's author wrote.
		fmt.Fprintf(c.stderr, "parley: export: not representable: %s: %s\n", untrusted.Text(u.ID, maxShownID), untrusted.Text(u.Reason, maxShownReason))
	}
	fmt.Fprintf(c.stderr, "parley: export: %d values from %d indicators, %d not representable\n", len(vals)-len(more), len(active), len(bad))
	return nil
}
