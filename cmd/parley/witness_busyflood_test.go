package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
)

// TestWitnessServeBusyFloodFromOneSource is a reviewer's attack on the
// connection limiter: one source holds all but one of --max-connections
// open, keeping each fresh with cheap GET /<origin hash>/checkpoint
// requests, and keeps opening new connections. A log's connection that
// is still sending its request (in its TLS handshake or its headers)
// used to be the one that had waited longest on its client, so the
// source's next connection closed it: the log's add-checkpoint shut out.
// Now the source can't hold more than --max-connections-per-ip (its own
// connections make room for its new ones), and where it may fill the
// pool, its older connections, however fresh, are closed before the
// log's young one.
func TestWitnessServeBusyFloodFromOneSource(t *testing.T) {
	const max = 8
	honestAddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 0, Hash: tlog.EmptyRoot()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		// perIP is what one source may hold open.
		perIP int
	}{
		{"the per-source cap", nil, minWitnessMaxConnsPerIP},
		// All of the pool but the log's connection.
		{"one source may fill the pool", []string{"--max-connections-per-ip", "8"}, max - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "w")
			if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
				t.Fatalf("witness init: %s", stderr)
			}
			base := runInProcess(t, []string{"witness", "serve"}, append([]string{"--data", dir, "--listen", "127.0.0.1:0", "--log", vkey, "--max-connections", "8"}, tc.flags...)...)
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			var attacker []*busyConn
			defer func() {
				for _, c := range attacker {
					c.Close()
				}
			}()
			dial := func() *busyConn {
				t.Helper()
				c, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				bc := &busyConn{Conn: c, r: bufio.NewReader(c)}
				attacker = append(attacker, bc)
				return bc
			}
			// The source's busy connections, all but two of the pool,
			// each answered once (some may be closed to make room for
			// the source's later ones: that is the cap).
			var busy []*busyConn
			for i := 0; i < max-2; i++ {
				c := dial()
				c.get()
				busy = append(busy, c)
			}
			// The log connects, from another address, and has yet to
			// send its request.
			d := net.Dialer{LocalAddr: honestAddr}
			honest, err := d.Dial("tcp", u.Host)
			if err != nil {
				t.Skipf("can't connect from %v here: %v", honestAddr.IP, err)
			}
			defer honest.Close()
			// One more of the source's connections, answered, so that
			// the witness has accepted the log's (it accepts in order).
			dial().get()
			// The busy connections' requests come after the log's
			// connection arrived: each began waiting after it did.
			for _, c := range busy {
				c.get()
			}
			// The source opens new connections (the pool is full): the
			// last is answered, so the witness has made room for each.
			for i := 0; i < 3; i++ {
				dial()
			}
			if err := dial().get(); err != nil {
				t.Fatalf("the source's newest connection: %v", err)
			}
			// The log's add-checkpoint is answered.
			body := "old 0\n\n" + string(cp)
			req, err := http.NewRequestWithContext(context.Background(), "POST", base+"/add-checkpoint", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			honest.SetDeadline(time.Now().Add(5 * time.Second))
			if err := req.Write(honest); err != nil {
				t.Fatalf("the log's add-checkpoint, behind a source's busy connections: %v", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(honest), req)
			if err != nil {
				t.Fatalf("the log's add-checkpoint, behind a source's busy connections: %v", err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the log's add-checkpoint: %s: %q", resp.Status, msg)
			}
			// The source holds no more than it may.
			open := 0
			for _, c := range attacker {
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, err := io.Copy(io.Discard, c.r)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					open++
				}
			}
			if open > tc.perIP {
				t.Fatalf("the source holds %d connections open, over its %d", open, tc.perIP)
			}
		})
	}
}

// busyConn is an attacker's HTTP/1.1 connection.
type busyConn struct {
	net.Conn
	r *bufio.Reader
}

// post sends an add-checkpoint of body and reads its answer, which must
// be 200.
func (c *busyConn) post(body string) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("add-checkpoint: %s", resp.Status)
	}
	return err
}

// get sends a cheap GET of a checkpoint and reads its answer.
func (c *busyConn) get() error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET /0000/checkpoint HTTP/1.1\r\nHost: w\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// TestWitnessServeLogKeepAliveOutlastsFlood: a source fills the pool
// (--max-connections-per-ip as large as --max-connections) with
// connections it keeps busy with cheap GETs, and keeps opening new ones,
// idle or with a GET each, while a log submits add-checkpoint after
// add-checkpoint on its one keep-alive connection. The log's connection,
// idle between its submissions (so its wait is older than each of the
// source's cheap requests), used to be the first closed to make room:
// now one that earned a cosignature goes last, and each of the log's
// submissions is cosigned on it, within a bound.
func TestWitnessServeLogKeepAliveOutlastsFlood(t *testing.T) {
	// A grace period short enough that the flood's connections, and the
	// log's, are soon older than it.
	savedH, savedR := witnessReadHeaderTimeout, witnessReadTimeout
	t.Cleanup(func() { witnessReadHeaderTimeout, witnessReadTimeout = savedH, savedR })
	witnessReadHeaderTimeout, witnessReadTimeout = 20*time.Millisecond, 30*time.Second
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 0, Hash: tlog.EmptyRoot()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	replay := "old 0\n\n" + string(cp)
	for _, tc := range []struct {
		name string
		// busy is the source's request on each of its connections.
		busy func(*busyConn) error
	}{
		{"cheap GETs", (*busyConn).get},
		// A replay of the log's checkpoint (anyone may fetch it) is
		// cosigned too, but brings nothing new: it earns no place.
		{"replays of the log's checkpoint", func(c *busyConn) error { return c.post(replay) }},
	} {
		t.Run(tc.name, func(t *testing.T) { logKeepAliveOutlastsFlood(t, vkey, cp, tc.busy) })
	}
}

func logKeepAliveOutlastsFlood(t *testing.T, vkey string, cp []byte, busy func(*busyConn) error) {
	const max = 8
	dir := filepath.Join(t.TempDir(), "w")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", dir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	base := runInProcess(t, []string{"witness", "serve"}, "--data", dir, "--listen", "127.0.0.1:0", "--log", vkey,
		"--max-connections", "8", "--max-connections-per-ip", "8")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	logConn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Skipf("can't connect from 127.0.0.2 here: %v", err)
	}
	defer logConn.Close()
	logR := bufio.NewReader(logConn)
	submit := func(round int) {
		t.Helper()
		req, err := http.NewRequest("POST", base+"/add-checkpoint", strings.NewReader("old 0\n\n"+string(cp)))
		if err != nil {
			t.Fatal(err)
		}
		logConn.SetDeadline(time.Now().Add(5 * time.Second))
		defer logConn.SetDeadline(time.Time{})
		if err := req.Write(logConn); err != nil {
			t.Fatalf("round %d: the log's add-checkpoint on its keep-alive: %v", round, err)
		}
		resp, err := http.ReadResponse(logR, req)
		if err != nil {
			t.Fatalf("round %d: the log's add-checkpoint on its keep-alive: %v", round, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: the log's add-checkpoint: %s: %q", round, resp.Status, msg)
		}
	}
	submit(0)

	var attacker []*busyConn
	defer func() {
		for _, c := range attacker {
			c.Close()
		}
	}()
	dial := func() *busyConn {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		bc := &busyConn{Conn: c, r: bufio.NewReader(c)}
		attacker = append(attacker, bc)
		return bc
	}
	for i := 0; i < max-1; i++ {
		busy(dial())
	}
	// Rounds of the flood for a while past the grace period, the log
	// submitting after each.
	start := time.Now()
	for round := 1; round <= 20 || time.Since(start) < 10*witnessReadHeaderTimeout; round++ {
		// The source's open connections each send a cheap request
		// (those closed to make room fail, and are dropped).
		live := attacker[:0]
		for _, c := range attacker {
			if busy(c) == nil {
				live = append(live, c)
			} else {
				c.Close()
			}
		}
		attacker = live
		// New ones: two idle, then one answered, so the witness has
		// accepted (and made room for) each.
		dial()
		dial()
		if err := busy(dial()); err != nil {
			t.Fatalf("round %d: the source's newest connection: %v", round, err)
		}
		submit(round)
	}
}
