package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/note"
)

// TestMatchFleetChecksTheLogAgain: a fleet member (match --nats --push)
// checked the node's log once, when it started; a node replaced later
// (another log at its address) or showing a fork went on getting its
// sightings. Now the member checks the log again before each push: it
// stops (exit 4 for another log, 1 for a fork), sends the node nothing
// more, and leaves the messages of that flush unacknowledged, for
// JetStream to deliver again.
func TestMatchFleetChecksTheLogAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and nodes")
	}
	for _, tc := range []struct {
		name string
		mode int32 // 1: another log; 2: a fork
		code int
		says string
	}{
		{"another log at the address", 1, 4, "another log"},
		{"a fork of the pinned log", 2, 1, "forked"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			sw := newLogSwitch(t)
			mode, posts, m, coll, ind, dir := &sw.mode, &sw.posts, sw.m, sw.coll, sw.ind, sw.dir
			front := sw.front
			baseA := sw.baseA
			natsURL := startNATS(t)
			nc, err := nats.Connect(natsURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			t.Cleanup(cancel)
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
				t.Fatal(err)
			}
			f := &refusingFleet{url: natsURL, base: baseA, coll: coll, token: m.Token, keyFile: m.KeyFile, js: js, ctx: ctx}
			ackFloor := func() uint64 {
				c, err := js.Consumer(ctx, "EVENTS", "fleet")
				if err != nil {
					return 0
				}
				info, err := c.Info(ctx)
				if err != nil {
					return 0
				}
				return info.AckFloor.Stream
			}

			errb := &lockedBuffer{}
			cl := &cli{stdin: bytes.NewReader(nil), stdout: &lockedBuffer{}, stderr: errb, getenv: func(string) string { return "" }}
			rctx, rcancel := context.WithCancel(ctx)
			defer rcancel()
			var exited atomic.Int32
			exited.Store(-1)
			go func() {
				exited.Store(int32(cl.main(rctx, []string{"match", "--nats", natsURL, "--stream", "EVENTS", "--consumer", "fleet",
					"--url", front.URL, "--token", m.Token, "--collection", coll, "--push", "--key", m.KeyFile,
					"--indicators", ind, "--seen", filepath.Join(dir, "member.seen"), "--flush", "100ms", "--ack-wait", "1s"})))
			}()

			// The honest node gets the first sighting, and the message
			// is acknowledged.
			f.publish(t, "C1")
			f.waitFor(t, "the first message to be acknowledged", func() bool { return ackFloor() == 1 && posts.Load() > 0 }, errb)

			// Then the node shows another log, or a fork.
			mode.Store(tc.mode)
			before := posts.Load()
			f.publish(t, "C2")
			f.waitFor(t, "the member to stop or push again", func() bool { return exited.Load() >= 0 || posts.Load() > before }, errb)
			if n := posts.Load() - before; n != 0 {
				t.Fatalf("the node got %d POSTs once its log changed:\n%s", n, errb)
			}
			code := int(exited.Load())
			stderr := errb.String()
			if code != tc.code || !strings.Contains(stderr, tc.says) || !strings.Contains(stderr, "sent nothing more") {
				t.Errorf("exit %d, want %d saying %q and \"sent nothing more\":\n%s", code, tc.code, tc.says, stderr)
			}
			// The second message is not acknowledged: JetStream
			// delivers it again.
			if n := ackFloor(); n != 1 {
				t.Errorf("the consumer's ack floor is %d, want 1 (the message whose sighting wasn't sent kept)", n)
			}
		})
	}
}

// logSwitch is a node behind a front that shows, once mode is set,
// another node's log at its address (1) or a fork of its own (2: its
// latest checkpoint with another root, signed by its key), and counts
// the POSTs it gets. The node holds indicator ind (evil.example) of
// member m in collection coll.
type logSwitch struct {
	front       *httptest.Server
	baseA       string
	mode, posts atomic.Int32
	m           demoMember
	coll, ind   string
	dir         string
}

func newLogSwitch(t *testing.T) *logSwitch {
	t.Helper()
	sw := &logSwitch{}
	mode, posts := &sw.mode, &sw.posts
	baseA, stA, dirA := demoNode(t)
	baseB, stB, _ := demoNode(t)
	m, other := stA.Members[0], stB.Members[0]
	coll := stA.Collections.Shared

	// The indicator the events match, in A.
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--0c0c0c0c-0000-4000-8000-00000000000c","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", baseA, "--token", m.Token, "--key", m.KeyFile, "--collection", coll, "--seen", filepath.Join(dir, "setup.seen"), ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}

	// A's key, to sign a checkpoint of a fork.
	skey, err := os.ReadFile(filepath.Join(dirA, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	targetA, _ := neturl.Parse(baseA)
	targetB, _ := neturl.Parse(baseB)
	toA, toB := httputil.NewSingleHostReverseProxy(targetA), httputil.NewSingleHostReverseProxy(targetB)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		switch {
		case mode.Load() == 1 && strings.HasPrefix(r.URL.Path, "/log/"):
			r.Header.Set("Authorization", "Bearer "+other.Token)
			toB.ServeHTTP(w, r)
			return
		case mode.Load() == 2 && r.URL.Path == "/log/checkpoint":
			// A's latest checkpoint with another root, signed
			// by A's key.
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, baseA+"/log/checkpoint", nil)
			req.Header.Set("Authorization", r.Header.Get("Authorization"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			text, _, _ := strings.Cut(string(b), "\n\n")
			lines := strings.Split(text, "\n")
			if len(lines) < 3 {
				http.Error(w, "no checkpoint", http.StatusBadGateway)
				return
			}
			lines[2] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
			n, err := note.Sign(&note.Note{Text: strings.Join(lines[:3], "\n") + "\n"}, signer)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write(n)
			return
		}
		toA.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	sw.front, sw.baseA, sw.m, sw.coll, sw.ind, sw.dir = front, baseA, m, coll, ind, dir
	return sw
}

// TestMatchFollowChecksTheLogAgain: match --follow --push checks the
// node's log again before each push, as a fleet member does: a node whose
// log changes key while it follows gets no more sightings, and the run
// stops (exit 4) at once. Before, it pushed on; with the check alone it
// pushed nothing more but followed on until it was interrupted.
func TestMatchFollowChecksTheLogAgain(t *testing.T) {
	sw := newLogSwitch(t)
	logFile := filepath.Join(sw.dir, "dns.log")
	line := func(uid string) string {
		return `{"ts":1591367999.306059,"uid":"` + uid + `","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example","answers":["203.0.113.66"]}` + "\n"
	}
	if err := os.WriteFile(logFile, []byte(line("C1")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	errb := &lockedBuffer{}
	cl := &cli{stdin: bytes.NewReader(nil), stdout: &lockedBuffer{}, stderr: errb, getenv: func(string) string { return "" }}
	var exited atomic.Int32
	exited.Store(-1)
	go func() {
		exited.Store(int32(cl.main(ctx, []string{"match", "--follow", "--flush", "100ms",
			"--url", sw.front.URL, "--token", sw.m.Token, "--collection", sw.coll, "--push", "--key", sw.m.KeyFile,
			"--indicators", sw.ind, "--seen", filepath.Join(sw.dir, "follow.seen"), logFile})))
	}()
	// The wait gives up well before the run's ctx ends, which would stop
	// the follower too.
	waitCtx, waitCancel := context.WithTimeout(ctx, 60*time.Second)
	defer waitCancel()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if waitCtx.Err() != nil {
				t.Fatalf("timed out waiting for %s:\n%s", what, errb)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("the first sighting to be pushed", func() bool { return sw.posts.Load() > 0 })
	sw.mode.Store(1)
	before := sw.posts.Load()
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(line("C2"))
	f.Close()
	wait("the follower to stop or push again", func() bool { return exited.Load() >= 0 || sw.posts.Load() > before })
	if n := sw.posts.Load() - before; n != 0 {
		t.Fatalf("the node got %d POSTs once its log changed:\n%s", n, errb)
	}
	if code := exited.Load(); code != 4 || !strings.Contains(errb.String(), "sent nothing more") {
		t.Errorf("exit %d, want 4 saying \"sent nothing more\":\n%s", code, errb)
	}
}
