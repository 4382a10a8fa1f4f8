package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// TestWitnessServeFloodOfSlowClients: witness serve keeps at most
// --max-connections open. A flood of slow clients, more than that many
// (some sending half their headers, some part of a body, some idle
// after a request), doesn't keep an honest add-checkpoint out: the
// connections that waited longest on their clients are closed to make
// room, the honest one is answered at once, and the flood's connections
// that remain are no more than the bound.
func TestWitnessServeFloodOfSlowClients(t *testing.T) {
	const max = 8
	dir := filepath.Join(t.TempDir(), "w")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	base := runInProcess(t, []string{"witness", "serve"}, "--data", dir, "--listen", "127.0.0.1:0", "--log", vkey, "--max-connections", "8")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 0, Hash: tlog.EmptyRoot()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		sends []string
	}{
		{"half the headers", []string{"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"}},
		{"part of the body", []string{"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n\r\nold 0\n"}},
		{"idle after a request", []string{"GET /0000/checkpoint HTTP/1.1\r\nHost: w\r\n\r\n"}},
		{"all three", []string{
			"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n",
			"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n\r\nold 0\n",
			"GET /0000/checkpoint HTTP/1.1\r\nHost: w\r\n\r\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flood []net.Conn
			defer func() {
				for _, c := range flood {
					c.Close()
				}
			}()
			for i := 0; i < 3*max; i++ {
				c, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				flood = append(flood, c)
				if _, err := io.WriteString(c, tc.sends[i%len(tc.sends)]); err != nil {
					t.Fatal(err)
				}
			}
			// The honest log: its checkpoint cosigned, however many
			// slow clients came before it (the read timeouts, 10 s and
			// a minute, are far off).
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			wc := &witness.Client{URL: base}
			if _, err := wc.AddCheckpoint(ctx, 0, nil, cp); err != nil {
				t.Fatalf("an honest add-checkpoint behind %d slow clients: %v", len(flood), err)
			}
			// Of the flood, no more than the bound is still open: the
			// others read the end of their connections.
			open := 0
			for _, c := range flood {
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, err := io.Copy(io.Discard, c)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					open++
				}
			}
			if open > max {
				t.Fatalf("%d of the flood's %d connections still open, over --max-connections %d", open, len(flood), max)
			}
		})
	}
}

// TestWitnessServeFloodFromManySources: a flood from many source
// addresses (each at its --max-connections-per-ip, so the per-source cap
// doesn't stop it), sending garbage, half their headers, oversized
// headers or part of a body, while a log submits from another address:
// each of the log's add-checkpoints is cosigned within a bound, the flood
// holds no more than --max-connections, and a request whose headers are
// over the witness's 16 KiB bound is refused (431) rather than held
// (the server's default let each connection hold a megabyte).
func TestWitnessServeFloodFromManySources(t *testing.T) {
	const max = 8
	dir := filepath.Join(t.TempDir(), "w")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	base := runInProcess(t, []string{"witness", "serve"}, "--data", dir, "--listen", "127.0.0.1:0", "--log", vkey, "--max-connections", "8")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 0, Hash: tlog.EmptyRoot()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	big := "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nX-Pad: " + strings.Repeat("a", 32<<10) + "\r\n\r\n"
	sends := []string{
		"\x16\x03\x01garbage\r\n\r\n",
		"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n",
		big,
		"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 200000\r\n\r\nold 0\n",
	}
	logD := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	wc := &witness.Client{URL: base, HTTP: &http.Client{Transport: &http.Transport{DialContext: logD.DialContext}}}
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for round := 0; round < 4; round++ {
		// Six sources, each opening its cap's worth.
		for src := 0; src < 6; src++ {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+src))}}
			for i := 0; i < minWitnessMaxConnsPerIP; i++ {
				c, err := d.Dial("tcp", u.Host)
				if err != nil {
					t.Skipf("can't connect from 127.0.1.%d here: %v", 10+src, err)
				}
				flood = append(flood, c)
				io.WriteString(c, sends[(src+i)%len(sends)])
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := wc.AddCheckpoint(ctx, 0, nil, cp)
		cancel()
		if err != nil {
			t.Fatalf("round %d: the log's add-checkpoint behind a flood from six sources: %v", round, err)
		}
	}
	open := 0
	for _, c := range flood {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			open++
		}
	}
	if open > max {
		t.Fatalf("%d of the flood's %d connections still open, over --max-connections %d", open, len(flood), max)
	}

	// Oversized headers: refused at once.
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, big); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a request with 32 KiB of headers: %s, want 431", resp.Status)
	}
}
