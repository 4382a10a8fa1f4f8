package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "pull",
		usage: "pull --url U --token-file F --collection C [--added-after TS]   print the collection as a STIX bundle",
		run:   runPull,
	})
}

func runPull(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("pull")
	url := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	coll := fs.String("collection", "", "the collection `ID` (or its title)")
	after := fs.String("added-after", "", "only objects added after `TS` (RFC 3339 UTC, such as 2026-01-02T15:04:05Z)")
	all := fs.Bool("all-versions", false, "every version of each object, not only the latest")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if err := readToken(token, *tokenFile); err != nil {
		return err
	}
	if *url == "" || *token == "" || *coll == "" || fs.NArg() > 0 {
		return usageErrorf("parley pull --url U --token T --collection C", "pull needs --url, --token and --collection, and no arguments")
	}
	q := taxii.Query{}
	if *after != "" {
		t, err := stix.ParseTimestamp(*after)
		if err != nil {
			return usageErrorf("write it like 2026-01-02T15:04:05Z", "bad --added-after: %v", err)
		}
		q.AddedAfter = t
	}
	if *all {
		q.Versions.All = true
	}
	client := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}
	collID, err := resolveCollection(ctx, client, *coll)
	if err != nil {
		return err
	}
	objects := []json.RawMessage{}
	var last time.Time
	for env, err := range client.ObjectPages(ctx, collID, q) {
		if err != nil {
			return withExit(4, "check --url, --token and --collection", fmt.Errorf("couldn't pull: %w", err))
		}
		objects = append(objects, env.Objects...)
		if !env.DateAdded.Last.IsZero() {
			last = env.DateAdded.Last
		}
	}
	if err := writeBundle(c.stdout, objects); err != nil {
		return err
	}
	if !last.IsZero() {
		fmt.Fprintf(c.stderr, "parley: %d objects; next time use --added-after %s\n", len(objects), taxii.FormatTimestamp(last))
	}
	return nil
}
