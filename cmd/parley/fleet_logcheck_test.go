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
			var mode atomic.Int32
			var posts atomic.Int32
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
