package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/misp"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// exportMISPFeed writes the objects of a bundle file or a collection as
// a MISP feed in dir (export --format misp-feed): every report and
// grouping an event, the rest one more event. What has no MISP form is
// listed on stderr.
func exportMISPFeed(ctx context.Context, c *cli, trust *trustFlags, lc logCheck, file, url, token, collection, dir string) error {
	if dir == "" {
		return usageErrorf("a MISP feed is a folder: manifest.json, <uuid>.json and hashes.csv", "--format misp-feed needs --out DIR")
	}
	if (file == "") == (url == "") {
		return usageErrorf("give --indicators FILE (a STIX bundle), or --url, --token and --collection", "need one source of objects")
	}
	var objs []*stix.Object
	name := file
	if file != "" {
		data, err := readInput(c, file)
		if err != nil {
			return err
		}
		if objs, err = stix.ParseObjects(data); err != nil {
			return usageErrorf("the file must be a STIX bundle", "%s: %v", file, err)
		}
		if abs, err := filepath.Abs(file); err == nil {
			name = abs
		}
	} else {
		if collection == "" {
			return usageErrorf("", "--url needs --collection")
		}
		// The node's log is checked first ([trustFlags.checkedVerifier]),
		// then every object against it; one that fails is named and left
		// out of the feed.
		ov, check, err := trust.checkedVerifier(ctx, c, url, token, lc)
		if err != nil {
			return err
		}
		client := &taxii.Client{BaseURL: url, Token: token, HTTP: c.httpClient(), Verifier: ov}
		collID, err := resolveCollection(ctx, client, collection)
		if err != nil {
			return err
		}
		name = url + " " + collID
		for env, err := range client.ObjectPages(ctx, collID, taxii.Query{}) {
			if err != nil {
				return withExit(4, "check --url, "+tokenFlag+" and --collection", fmt.Errorf("couldn't read the collection: %w", err))
			}
			for _, r := range env.Refused {
				fmt.Fprintf(c.stderr, "parley: export: left out %s: it doesn't verify against the node's log: %s\n", untrusted.Text(r.ID, maxShownID), oneLine(fmt.Sprint(r.Err)))
			}
			for _, raw := range env.Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					return withExit(4, "", fmt.Errorf("the node sent a bad object: %w", err))
				}
				objs = append(objs, o)
			}
		}
		// The log once more, as pull checks it at the end: the
		// checkpoints the objects were checked against are recorded in
		// the seen file.
		if err := check(ctx); err != nil {
			return err
		}
	}
	feed := misp.FeedFromSTIX(objs, misp.EventFor(name))
	if err := writeFeed(dir, feed); err != nil {
		return withExit(3, "", err)
	}
	attrs := 0
	for _, ev := range feed.Events {
		attrs += len(ev.Attribute)
		for _, o := range ev.Object {
			attrs += len(o.Attribute)
		}
	}
	for _, u := range feed.Unsupported {
		fmt.Fprintf(c.stderr, "parley: export: no MISP form: %s %s: %s\n", untrusted.Text(u.Kind, maxShownID), untrusted.Text(u.UUID, maxShownID), untrusted.Text(u.Reason, maxShownReason))
	}
	fmt.Fprintf(c.stdout, "%s\n", filepath.Join(dir, "manifest.json"))
	fmt.Fprintf(c.stderr, "parley: export: %d events, %d attributes from %d STIX objects, %d without MISP form\n", len(feed.Events), attrs, len(objs), len(feed.Unsupported))
	return nil
}

// writeFeed writes feed's files into dir as the other exports write
// theirs ([createPending]): a new file 0600, a replaced one keeping its
// mode, owner and group, every file written before any is replaced, the
// manifest last (misp.WriteFeed wrote every file 0644, whatever the
// umask, under a fixed temporary name). A folder it makes is 0755 less
// the umask, as export's Suricata folder: a web server serving the feed
// to MISP must reach the files whose mode the operator opened to it.
func writeFeed(dir string, feed *misp.Feed) error {
	files, err := misp.FeedFiles(feed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("couldn't create %s: %w", dir, err)
	}
	var pending []*pendingFile
	for _, f := range files {
		p, err := createPending(filepath.Join(dir, f.Name))
		if err == nil {
			if _, err = p.Write(f.Data); err != nil {
				p.Abort()
			}
		}
		if err != nil {
			for _, q := range pending {
				q.Abort()
			}
			return fmt.Errorf("couldn't write %s (nothing was replaced): %w", f.Name, err)
		}
		pending = append(pending, p)
	}
	if err := commitAll(pending); err != nil {
		return fmt.Errorf("couldn't replace the files in %s: %w", dir, err)
	}
	return nil
}
