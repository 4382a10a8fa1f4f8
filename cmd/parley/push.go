package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "push",
		usage: "push --url U --token T --key K --collection C [--on-conflict skip|fail] FILE...   sign and share STIX objects over TAXII",
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
	as := fs.String("as", "", "your member identity `ID`, named as the creator of objects that name none (default: the id in --token-file, else the member whose key is --key)")
	onConflict := fs.String("on-conflict", "fail", "what an object whose id and version the node already holds with other content does: fail (exit 4 after the envelope that met it, pushing no more) or skip (report it and go on; exit 0 when conflicts are the only failures)")
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
	if *onConflict != "skip" && *onConflict != "fail" {
		return usageErrorf("use --on-conflict skip or --on-conflict fail", "unknown --on-conflict %q", *onConflict)
	}
	key, err := readPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	me := *as
	if me == "" && *tokenFile != "" {
		me = identityFromTokenFile(*tokenFile)
	}
	client := &taxii.Client{BaseURL: *url, Token: *token}
	target, err := findCollection(ctx, client, *coll)
	if err != nil {
		return err
	}
	collID := target.ID
	var objects []json.RawMessage
	adopted := 0
	for _, name := range pos {
		data, err := readInput(c, name)
		if err != nil {
			return err
		}
		objs, err := stix.ParseObjects(data)
		if err != nil {
			return usageErrorf("give a STIX object, a JSON array of objects or a bundle", "%s: %v", name, err)
		}
		// An object that names no creator is refused outside relay
		// collections; the member signing it is its creator. In a relay
		// collection it stays as it is: the signature vouches for the
		// relay, and created_by_ref (or its absence) is the author's claim.
		for i, o := range objs {
			if target.Relay || !needsCreator(o) {
				continue
			}
			if me == "" {
				if me, err = identityOfKey(ctx, *url, *token, key.Public().(ed25519.PublicKey)); err != nil {
					return err
				}
			}
			if objs[i], err = withCreator(o, me); err != nil {
				return usageErrorf("", "%s: object %s: %v", name, o.ID, err)
			}
			adopted++
		}
		signed, err := signObjects(objs, key, name)
		if err != nil {
			return err
		}
		objects = append(objects, signed...)
	}
	if adopted > 0 {
		fmt.Fprintf(c.stderr, "parley: push: %d object(s) named no creator; they now name you (%s) in created_by_ref\n", adopted, me)
	}
	var ok, failed, conflicts int
	stopped := false
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
		ok += st.SuccessCount
		batchConflicts := 0
		for _, f := range st.Failures {
			// One line per object: a conflict never replaces the stored
			// version, and never hides the other objects' outcome.
			if f.Message == store.VersionConflictMessage {
				batchConflicts++
				fmt.Fprintf(c.stdout, "conflict  %s version %s: %s\n", f.ID, f.Version, f.Message)
				continue
			}
			fmt.Fprintf(c.stdout, "failed  %s: %s\n", f.ID, f.Message)
		}
		conflicts += batchConflicts
		failed += st.FailureCount - batchConflicts
		fmt.Fprintf(c.stdout, "status  %s: %d succeeded, %d failed\n", st.ID, st.SuccessCount, st.FailureCount)
		start = end
		if batchConflicts > 0 && *onConflict == "fail" && start < len(objects) {
			stopped = true
			break
		}
	}
	fmt.Fprintf(c.stdout, "pushed %d objects: %d succeeded, %d failed, %d conflicts\n", len(objects), ok, failed, conflicts)
	if stopped {
		fmt.Fprintf(c.stdout, "stopped at the first conflict: %d objects not sent\n", len(objects)-ok-failed-conflicts)
	}
	switch {
	case failed > 0:
		return withExit(4, "", fmt.Errorf("the node refused %d of %d objects", failed+conflicts, len(objects)))
	case conflicts > 0 && *onConflict == "fail":
		return withExit(4, "use --on-conflict skip to report conflicts and go on", fmt.Errorf("%d objects conflict with stored versions (same id and version, other content); nothing was replaced", conflicts))
	case conflicts > 0:
		fmt.Fprintf(c.stderr, "parley: push: skipped %d conflicting objects (same id and version as stored ones, other content); nothing was replaced\n", conflicts)
	}
	return nil
}

// needsCreator reports whether o is an object the node refuses without a
// created_by_ref (outside relay collections): anything but observables and
// marking definitions.
func needsCreator(o *stix.Object) bool {
	return o.CreatedByRef == "" && !stix.IsObservable(o.Type) && o.Type != "marking-definition"
}

// withCreator returns o with created_by_ref set to member.
func withCreator(o *stix.Object, member string) (*stix.Object, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(o.Raw, &m); err != nil {
		return nil, err
	}
	m["created_by_ref"], _ = json.Marshal(member)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return stix.Parse(b)
}

// readToken fills *token from file when file is given: the file holds the
// token alone, or the JSON printed by member add --json.
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
	}
	*token = s
	return nil
}

// resolveCollection accepts a collection id or, when no visible collection
// has that id, a unique title.
func resolveCollection(ctx context.Context, client *taxii.Client, ref string) (string, error) {
	c, err := findCollection(ctx, client, ref)
	return c.ID, err
}

// findCollection is [resolveCollection] returning the collection resource
// (whose x_parley_relay says whether it is a relay collection).
func findCollection(ctx context.Context, client *taxii.Client, ref string) (taxii.Collection, error) {
	cs, err := client.Collections(ctx)
	if err != nil {
		return taxii.Collection{}, withExit(4, "check --url and --token", fmt.Errorf("couldn't list collections: %w", err))
	}
	var byTitle []taxii.Collection
	for _, c := range cs {
		if c.ID == ref {
			return c, nil
		}
		if c.Title == ref {
			byTitle = append(byTitle, c)
		}
	}
	switch len(byTitle) {
	case 1:
		return byTitle[0], nil
	case 0:
		return taxii.Collection{}, withExit(4, "list yours with curl $PARLEY_URL/api/collections/", fmt.Errorf("no collection %q is visible to you", ref))
	}
	return taxii.Collection{}, usageErrorf("give the collection id", "%d collections are titled %q", len(byTitle), ref)
}
