package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "demo",
		usage: "demo [--data DIR] [--listen ADDR] [--no-serve]   a node with two member CERTs, collections and signed data",
		run:   runDemo,
	})
}

// demoState is what the demo keeps in DIR/demo/demo.json (mode 0600) so
// that running it again on the same directory reuses members and tokens.
// It holds tokens: it is for demonstrations only.
type demoState struct {
	Members     []demoMember `json:"members"`
	Collections struct {
		Shared  string `json:"shared"`
		Private string `json:"private"`
	} `json:"collections"`
}

type demoMember struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Token   string `json:"token"`
	KeyFile string `json:"key_file"`
}

func runDemo(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("demo")
	dir := fs.String("data", "", "keep the demo node in `DIR` (default: a new temporary directory)")
	listen := fs.String("listen", "127.0.0.1:8080", "listen on `ADDR` (port 0 picks a free port)")
	noServe := fs.Bool("no-serve", false, "set up and push the demo data, print the members and collections, and exit (the node is then not running)")
	insecure := fs.Bool("insecure-http", false, "allow --listen on an address that is not loopback (plain HTTP)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley demo [--data DIR] [--listen ADDR]", "demo takes no arguments")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "parley-demo-")
		if err != nil {
			return withExit(3, "", err)
		}
		*dir = d
	}
	statePath := filepath.Join(*dir, "demo", "demo.json")
	var st demoState
	if b, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return usageErrorf("remove "+*dir+" or use another --data", "couldn't read %s: %v", statePath, err)
		}
	} else if _, err := os.Stat(filepath.Join(*dir, node.ConfigFile)); err == nil {
		return usageErrorf("use a new directory for the demo", "%s holds a node that the demo did not make", *dir)
	} else {
		if err := setupDemo(ctx, *dir, statePath, &st); err != nil {
			return err
		}
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	addr := *listen
	if *noServe {
		// The data goes in through the node's own TAXII API, on a port
		// that lives only while the demo pushes.
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErrorf("choose another address with --listen (port 0 picks a free one)", "couldn't listen on %s: %v", addr, err)
	}
	if !*insecure && !isLoopback(ln.Addr()) {
		ln.Close()
		// The demo serves only plain HTTP: serve's TLS flags and
		// public_url are not among its options.
		return refusePlainHTTP(addr, "listen on 127.0.0.1 (the default), or accept the risk with --insecure-http; parley serve --data DIR serves the demo's node over HTTPS")
	}
	url := "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- n.Serve(sctx, ln, slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}()

	pushed, err := pushDemo(ctx, url, &st)
	if err != nil {
		stop()
		<-served
		return err
	}
	myObjects, err := writeMyObjects(*dir, &st)
	if err != nil {
		stop()
		<-served
		return err
	}
	if *noServe {
		// What was pushed is acknowledged, not yet all in a signed
		// checkpoint: stopped now, the node would leave it to the next
		// serve, and a backup or audit --data of the data directory
		// meanwhile would cover only part of the log.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := n.WaitIntegrated(wctx)
		cancel()
		if err != nil {
			stop()
			<-served
			return withExit(3, "", err)
		}
		stop()
		if err := <-served; err != nil {
			return withExit(3, "", err)
		}
		printDemo(c, *dir, "", &st, pushed, myObjects)
		fmt.Fprintf(c.stdout, "The node is not running. Serve it with\n\n  go run ./cmd/parley serve --data %s --listen %s\n\nor run go run ./cmd/parley demo --data %s, which serves it and prints commands to try.\n", *dir, *listen, *dir)
		return nil
	}
	printDemo(c, *dir, url, &st, pushed, myObjects)
	fmt.Fprintln(c.stderr, "parley: serving the demo until Ctrl-C")
	if err := <-served; err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintln(c.stderr, "parley: stopped; the demo's data stays in "+*dir)
	return nil
}

// setupDemo creates the node, the two members with their key pairs and
// the two collections, and records them in statePath.
func setupDemo(ctx context.Context, dir, statePath string, st *demoState) error {
	if _, err := node.Init(ctx, dir, node.Config{}, nil); err != nil {
		return withExit(3, "", err)
	}
	n, err := openNode(ctx, dir)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
		return withExit(3, "", err)
	}
	for _, name := range []string{demo.Aurelia, demo.Borovia} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return withExit(3, "", err)
		}
		keyFile := filepath.Join(filepath.Dir(statePath), name+".key")
		if err := writeKeyPair(keyFile, pub, priv); err != nil {
			return err
		}
		m, err := n.AddMember(ctx, name, pub)
		if err != nil {
			return withExit(3, "", err)
		}
		st.Members = append(st.Members, demoMember{Name: name, ID: m.ID, Token: m.Token, KeyFile: keyFile})
	}
	both := []string{demo.Aurelia, demo.Borovia}
	if st.Collections.Shared, err = n.AddCollection(ctx, demo.Shared,
		"Election-security intelligence shared by CERT-Aurelia and CERT-Borovia.", both, both, ""); err != nil {
		return withExit(3, "", err)
	}
	if st.Collections.Private, err = n.AddCollection(ctx, demo.Private,
		"CERT-Borovia's own notes; CERT-Aurelia cannot see this collection.", []string{demo.Borovia}, []string{demo.Borovia}, ""); err != nil {
		return withExit(3, "", err)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return writeNew(statePath, b, 0o600)
}

// pushDemo signs the scenario's objects with each member's key and pushes
// them over TAXII, through the same pipeline as any client.
func pushDemo(ctx context.Context, url string, st *demoState) (int, error) {
	members := map[string]demoMember{}
	for _, m := range st.Members {
		members[m.Name] = m
	}
	a, b := members[demo.Aurelia], members[demo.Borovia]
	colls := map[string]string{demo.Shared: st.Collections.Shared, demo.Private: st.Collections.Private}
	total := 0
	for _, batch := range append(demo.Scenario(a.ID, b.ID), demo.Opinions(a.ID, b.ID)...) {
		m := members[batch.Member]
		key, err := readPrivateKey(io.Discard, m.KeyFile) // the demo wrote it 0600
		if err != nil {
			return 0, err
		}
		signed := make([]json.RawMessage, len(batch.Objects))
		for i, o := range batch.Objects {
			if signed[i], err = stix.Sign(o, key); err != nil {
				return 0, withExit(3, "", fmt.Errorf("couldn't sign a demo object: %w", err))
			}
		}
		client := &taxii.Client{BaseURL: url, Token: m.Token}
		status, err := client.AddObjects(ctx, colls[batch.Collection], signed)
		if err != nil {
			return 0, withExit(3, "", fmt.Errorf("couldn't push the demo data: %w", err))
		}
		if status.FailureCount > 0 {
			f := status.Failures[0]
			return 0, withExit(3, "", fmt.Errorf("the node refused demo object %s: %s", f.ID, f.Message))
		}
		total += status.SuccessCount
	}
	return total, nil
}

// writeMyObjects writes DIR/demo/my-objects.json, an unsigned indicator
// by the first member for the printed push command to sign and share,
// and returns its path. Its id and time are fixed, so pushing it again
// adds nothing.
func writeMyObjects(dir string, st *demoState) (string, error) {
	path := filepath.Join(dir, "demo", "my-objects.json")
	obj := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--3f7e8c5a-6b1d-4c2e-9a0f-5d4b3c2a1e10",
		"created": "2026-09-20T09:00:00.000Z", "modified": "2026-09-20T09:00:00.000Z",
		"created_by_ref": st.Members[0].ID, "name": "Credential-phishing page for poll workers",
		"pattern":      "[url:value = 'https://poll-workers-aurelia.example/login']",
		"pattern_type": "stix", "valid_from": "2026-09-20T09:00:00Z",
	}
	b, _ := json.MarshalIndent(map[string]any{"type": "bundle", "id": "bundle--9b0c4d2e-1f3a-4b5c-8d6e-7f8091a2b3c4", "objects": []any{obj}}, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", withExit(3, "", fmt.Errorf("couldn't write %s: %w", path, err))
	}
	return path, nil
}

// printDemo prints the members, the collections and, when url is not ""
// (the node is serving there), commands to try.
func printDemo(c *cli, dir, url string, st *demoState, pushed int, myObjects string) {
	w := c.stdout
	a, b := st.Members[0], st.Members[1]
	if url != "" {
		fmt.Fprintf(w, "Parley demo node at %s (data in %s)\n", url, dir)
		fmt.Fprintf(w, "Web UI: %s/ui/ (log in with a member's token)\n\n", url)
	} else {
		fmt.Fprintf(w, "Parley demo node in %s\n\n", dir)
	}
	fmt.Fprintf(w, "A joint election-security cell of two national CERTs that do not trust each other.\n")
	fmt.Fprintf(w, "They pushed %d signed STIX objects through the node's TAXII API (re-runs add nothing new).\n\n", pushed)
	for _, m := range st.Members {
		fmt.Fprintf(w, "member %s\n  id     %s\n  token  %s\n  key    %s (public key: %s.pub)\n", m.Name, m.ID, m.Token, m.KeyFile, m.KeyFile)
	}
	fmt.Fprintf(w, "\ncollection %q  %s  (both members read and write)\n", demo.Shared, st.Collections.Shared)
	fmt.Fprintf(w, "collection %q  %s  (%s only: invisible to %s)\n\n", demo.Private, st.Collections.Private, b.Name, a.Name)
	if url == "" {
		return
	}
	fmt.Fprintf(w, "Try it (in another terminal):\n\n")
	fmt.Fprintf(w, "  export PARLEY_URL=%s PARLEY_TOKEN=%s\n", url, a.Token)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $PARLEY_TOKEN\" -H 'Accept: application/taxii+json;version=2.1' $PARLEY_URL/taxii2/\n")
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $PARLEY_TOKEN\" -H 'Accept: application/taxii+json;version=2.1' $PARLEY_URL/api/collections/\n")
	fmt.Fprintf(w, "  curl -sg -H \"Authorization: Bearer $PARLEY_TOKEN\" -H 'Accept: application/taxii+json;version=2.1' \"$PARLEY_URL/api/collections/%s/objects/?match[type]=indicator\"\n", st.Collections.Shared)
	fmt.Fprintf(w, "  go run ./cmd/parley pull --collection %s > %s\n", st.Collections.Shared, filepath.Join(dir, "demo", "shared.json"))
	fmt.Fprintf(w, "  go run ./cmd/parley push --key %s --collection %s %s   # %s's indicator, signed as you push\n", a.KeyFile, st.Collections.Shared, myObjects, a.Name)
	fmt.Fprintf(w, "  curl -s $PARLEY_URL%s%s\n", node.ExtensionPath, stix.SignatureExtensionID)
	fmt.Fprintf(w, "  go run ./cmd/parley concurrence %s   # the members disagree on the attribution\n", demo.Report)
	pub := filepath.Join(dir, node.PubKeyFile)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $PARLEY_TOKEN\" $PARLEY_URL/log/checkpoint   # the signed log head\n")
	proof := filepath.Join(dir, "demo", "proof.json")
	fmt.Fprintf(w, "  go run ./cmd/parley proof %s > %s   # the report with its log proofs\n", demo.Report, proof)
	fmt.Fprintf(w, "  go run ./cmd/parley verify --log-key \"$(cat %s)\" %s   # offline\n", pub, proof)
	// The demo makes a new node key on every fresh data dir at the same
	// URL, so its audit keeps its seen checkpoints beside its data rather
	// than pinning that URL to this key in the user's config directory.
	seen := filepath.Join(dir, "demo", "seen.json")
	fmt.Fprintf(w, "  go run ./cmd/parley audit --log-key \"$(cat %s)\" --seen %s   # the whole log\n", pub, seen)
	fmt.Fprintf(w, "\n%s's token sees only the shared collection; %s's sees both.\n", a.Name, b.Name)
}
