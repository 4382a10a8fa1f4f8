package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
)

// TestServeWaitsForTheStore: a node on PostgreSQL that starts before its
// database (a power cut that brought both down) waits for it, saying so,
// and serves once it can be reached, instead of exiting; a store that
// refuses for good (a database that doesn't exist) still ends serve at
// once.
func TestServeWaitsForTheStore(t *testing.T) {
	if ok, err := postgresCondition(); err != nil {
		t.Fatal(err)
	} else if !ok {
		t.Skip("SKIPPING LOUDLY: PostgreSQL is unreachable (set PARLEY_TEST_POSTGRES); serve's wait for its store was not tested")
	}
	oldFirst, oldMax := storeWaitFirst, storeWaitMax
	storeWaitFirst, storeWaitMax = 50*time.Millisecond, 100*time.Millisecond
	defer func() { storeWaitFirst, storeWaitMax = oldFirst, oldMax }()
	pgURL, drop, err := pgtest.NewSchema(testPostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "migrate", "--data", data, "--to", pgURL); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	// The node's config names an address where no server listens yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	real := u.Host
	if u.Port() == "" {
		real = net.JoinHostPort(u.Hostname(), "5432")
	}
	setStore := func(v url.URL) {
		t.Helper()
		if err := editConfig(data, func(cfg map[string]any) { cfg["store"] = v.String() }); err != nil {
			t.Fatal(err)
		}
	}
	at := *u
	at.Host = down
	setStore(at)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	urlFile := filepath.Join(dir, "url")
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--url-file", urlFile})
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			select {
			case code := <-done:
				t.Fatalf("serve exited %d while %s: %s", code, what, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, stderr.String())
			}
		}
	}
	waitFor("waiting for the store twice", func() bool { return strings.Count(stderr.String(), "waiting for the store") >= 2 })
	if s := stderr.String(); strings.Contains(s, u.User.String()+"@") || strings.Contains(s, "parley_test_") {
		t.Errorf("the wait names the store URL: %s", s)
	}
	// The database comes up at that address.
	fwd, err := net.Listen("tcp", down)
	if err != nil {
		t.Fatalf("couldn't listen on %s again: %v", down, err)
	}
	defer fwd.Close()
	go func() {
		for {
			c, err := fwd.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", real)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				io.Copy(c, s)
			}()
		}
	}()
	waitFor("serving once the store came up", func() bool { _, err := os.Stat(urlFile); return err == nil })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve: exit %d: %s", code, stderr.String())
	}

	// A database that doesn't exist is no outage: serve ends at once.
	missing := *u
	missing.Path = "/parley_no_such_database"
	setStore(missing)
	begun := time.Now()
	code, _, errs := runCLI(t, "serve", "--data", data, "--listen", "127.0.0.1:0")
	if code == 0 || strings.Contains(errs, "waiting for the store") || time.Since(begun) > 20*time.Second {
		t.Errorf("serve on a missing database: exit %d after %v: %s", code, time.Since(begun), errs)
	}
}
