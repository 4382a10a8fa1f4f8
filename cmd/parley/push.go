package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "push",
		usage: "push --url U --token-file F --key K --collection C FILE...   sign and share STIX objects over TAXII",
		run:   runPush,
	})
}

// Envelopes are cut at pushBatch objects or pushBytes bytes, below the
// node's default limits (10,000 objects, 10 MiB).
const (
	pushBatch = 1000
	pushBytes = 8 << 20
)

func runPush(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("push")
	url := fs.String("url", "", "the node's `URL`, such as http://127.0.0.1:8080")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	keyFile := fs.String("key", "", "your private key `FILE`")
	coll := fs.String("collection", "", "the collection `ID` (or its title)")
	// Flags may also follow the arguments (parley verify proof.json --log-key K).
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(token, *tokenFile); err != nil {
		return err
	}
	if *url == "" || *token == "" || *keyFile == "" || *coll == "" || len(pos) == 0 {
		return usageErrorf("parley push --url U --token T --key K --collection C FILE...", "push needs --url, --token, --key, --collection and at least one FILE")
	}
	key, err := readPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	var objects []json.RawMessage
	for _, name := range pos {
		data, err := readInput(c, name)
		if err != nil {
			return err
		}
		signed, err := signAll(data, key, name)
		if err != nil {
			return err
		}
		objects = append(objects, signed...)
	}
	client := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}
	collID, err := resolveCollection(ctx, client, *coll)
	if err != nil {
		return err
	}
	var ok, failed int
	err = sendEnvelopes(ctx, client, collID, objects, func(st *taxii.Status) {
		ok += st.SuccessCount
		failed += st.FailureCount
		for _, f := range st.Failures {
			fmt.Fprintf(c.stdout, "failed  %s: %s\n", f.ID, f.Message)
		}
		fmt.Fprintf(c.stdout, "status  %s: %d succeeded, %d failed\n", st.ID, st.SuccessCount, st.FailureCount)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "pushed %d objects: %d succeeded, %d failed\n", len(objects), ok, failed)
	if failed > 0 {
		return withExit(4, "", fmt.Errorf("the node refused %d of %d objects", failed, len(objects)))
	}
	return nil
}

// sendEnvelopes posts objects to a collection in envelopes of at most
// pushBatch objects and pushBytes bytes, in order, and calls onStatus with
// each envelope's status. A request that fails stops it (exit 4).
func sendEnvelopes(ctx context.Context, client *taxii.Client, collID string, objects []json.RawMessage, onStatus func(*taxii.Status)) error {
	for start := 0; start < len(objects); {
		end, size := start, 0
		for end < len(objects) && end-start < pushBatch && (end == start || size+len(objects[end]) < pushBytes) {
			size += len(objects[end]) + 1
			end++
		}
		st, err := client.AddObjects(ctx, collID, objects[start:end])
		if err != nil {
			return withExit(4, "check --url, --token and --collection", fmt.Errorf("couldn't push: %w", err))
		}
		onStatus(st)
		start = end
	}
	return nil
}

// readToken fills *token from file when file is given: the file holds the
// token on its first line, or the JSON printed by member add --json.
func readToken(token *string, file string) error {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return usageErrorf("", "couldn't read the token file: %v", err)
	}
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		var v struct {
			Token string `json:"token"`
		}
		if json.Unmarshal([]byte(s), &v) != nil || v.Token == "" {
			return usageErrorf("", "%s has no \"token\"", file)
		}
		s = v.Token
	} else {
		s, _, _ = strings.Cut(s, "\n")
		s = strings.TrimSpace(s)
	}
	*token = s
	return nil
}

// resolveCollection accepts a collection id or, when no visible collection
// has that id, a unique title.
func resolveCollection(ctx context.Context, client *taxii.Client, ref string) (string, error) {
	cs, err := client.Collections(ctx)
	if err != nil {
		return "", withExit(4, "check --url and --token", fmt.Errorf("couldn't list collections: %w", err))
	}
	var byTitle []string
	for _, c := range cs {
		if c.ID == ref {
			return ref, nil
		}
		if c.Title == ref {
			byTitle = append(byTitle, c.ID)
		}
	}
	switch len(byTitle) {
	case 1:
		return byTitle[0], nil
	case 0:
		return "", withExit(4, visibleCollections(cs), fmt.Errorf("no collection %q is visible to you", ref))
	}
	return "", usageErrorf("give the collection id", "%d collections are titled %q", len(byTitle), ref)
}

// visibleCollections is the hint for a collection that isn't found: the
// ones the token may see, by title and id (at most ten).
func visibleCollections(cs []taxii.Collection) string {
	if len(cs) == 0 {
		return "your token sees no collection: ask the node's operator to give your member read or write access"
	}
	var names []string
	for i, c := range cs {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-10))
			break
		}
		names = append(names, fmt.Sprintf("%q (%s)", c.Title, c.ID))
	}
	return "the collections you may see: " + strings.Join(names, ", ")
}
