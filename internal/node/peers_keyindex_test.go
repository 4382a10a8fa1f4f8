package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// keysOf returns b's GET /log/keys answer (every member's), read with
// the follower name's token.
func keysOf(t *testing.T, b *origin, name string) tlog.KeysResponse {
	t.Helper()
	tok, err := peer.ReadToken(b.followers[name])
	if err != nil {
		t.Fatal(err)
	}
	kr, err := (&tlog.Client{URL: b.URL, Token: tok}).Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestPeerKeyIndex: A follows B (in steps of 16 entries) while alice
// rotates her key and then revokes it, and bob registers: A ends with B's
// own signed key index of the checkpoint it holds (byte for byte what B
// serves at GET /log/keys), recorded with that checkpoint; A's GET
// /peers/bundle carries it, with every key entry it lists, so that the
// bundle verifies with its key history complete; peer status shows it.
func TestPeerKeyIndex(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 16)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	b.share(t, b.intel, 40)
	a.caughtUp(t, b, "a")
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	if err := b.RotateKey(ctx, b.alice.ID, pub2, nil); err != nil {
		t.Fatal(err)
	}
	b.alice.Key = priv2
	b.share(t, b.intel, 20)
	bobPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := b.AddMember(ctx, "bob", bobPub); err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeKey(ctx, b.alice.ID); err != nil {
		t.Fatal(err)
	}
	size := waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "a", "key index of B's tree", func(p store.Peer) bool { return p.State.KeyIndexSize == size && p.State.Next == size })
	kr := keysOf(t, b, "a")
	if kr.TreeSize != uint64(size) || kr.KeyIndex == "" {
		t.Fatalf("B's keys: tree size %d (want %d), key index %q", kr.TreeSize, size, kr.KeyIndex)
	}
	if string(p.State.KeyIndex) != kr.KeyIndex {
		t.Fatalf("A's key index of B:\n%s\nB's:\n%s", p.State.KeyIndex, kr.KeyIndex)
	}
	v := mustVerifier(t, b.VerifierKey())
	icp, err := tlog.OpenCheckpoint(p.State.KeyIndexCheckpoint, v)
	if err != nil || int64(icp.Size) != size {
		t.Fatalf("the key index's checkpoint: %+v, %v", icp, err)
	}
	k, err := tlog.OpenKeyIndex(p.State.KeyIndex, v)
	if err != nil || len(k.Members[b.alice.ID]) != 3 || k.Hash != icp.Hash {
		t.Fatalf("the key index: %+v, %v; want alice's registration, rotation and revocation", k, err)
	}
	if s := peer.StatusOf(p); s.KeyIndexSize != size || s.KeyIndexMissing != "" || !s.KeyIndexAll || !k.Complete {
		t.Fatalf("status: key index of size %d (want %d), missing %q, of every member %v (want true)", s.KeyIndexSize, size, s.KeyIndexMissing, s.KeyIndexAll)
	}

	first := localObjects(t, a.Node, pa.Into)[0]
	code, body := getPeerBundle(t, a, carol.Token, pa.Into, first.ID)
	if code != http.StatusOK {
		t.Fatalf("GET /peers/bundle: %d %s", code, body)
	}
	res, err := tlog.VerifyBundle(body, b.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if !res.KeysComplete || res.Checkpoint.Size != uint64(size) {
		t.Fatalf("the peer bundle: key history complete %v, tree size %d (want %d)", res.KeysComplete, res.Checkpoint.Size, size)
	}
	if ks := res.Keys.Keys(b.alice.ID); len(ks) != 2 || !ks[1].Revoked {
		t.Fatalf("bundle keys of alice: %+v", ks)
	}
}

// checkpointProxy serves b through a proxy that answers GET
// /log/checkpoint with checkpoint whatever b's is, and returns its URL.
func checkpointProxy(t *testing.T, b *origin, checkpoint []byte) string {
	t.Helper()
	target, _ := url.Parse(b.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/log/checkpoint" || r.StatusCode != http.StatusOK {
			return nil
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(checkpoint))
		r.ContentLength = int64(len(checkpoint))
		r.Header.Set("Content-Length", strconv.Itoa(len(checkpoint)))
		return nil
	}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	return front.URL
}

// keysProxy serves b through a proxy that answers GET /log/keys with
// alter(answer) (nil: 404), and returns its URL.
func keysProxy(t *testing.T, b *origin, alter func(kr *tlog.KeysResponse) bool) string {
	t.Helper()
	target, _ := url.Parse(b.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/log/keys" || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		var kr tlog.KeysResponse
		if err := json.Unmarshal(body, &kr); err != nil {
			return err
		}
		if !alter(&kr) {
			r.StatusCode, r.Status = http.StatusNotFound, "404 Not Found"
			body = []byte(`{"title":"not found"}`)
		} else if body, err = json.Marshal(kr); err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// followVia makes fn follow b's intel through the URL u.
func (fn *fedNode) followVia(t *testing.T, b *origin, u, name string, readers ...string) store.Peer {
	t.Helper()
	p, err := fn.AddPeer(context.Background(), PeerSpec{
		Name: name, URL: u, TokenFile: b.followers[name], LogKey: b.VerifierKey(),
		Remote: b.intel, Into: "from-b", Readers: readers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// resign returns the key index k signed with signer.
func resign(t *testing.T, k tlog.KeyIndex, signer note.Signer) string {
	t.Helper()
	s, err := tlog.SignKeyIndex(k, signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPeerFalseKeyIndex: B answers GET /log/keys with a false key index,
// signed with its log key: one that leaves out alice's rotation, one that
// adds an entry (an object entry), one that lists alice's rotation as
// bob's key entry, or one of another tree of the checkpoint's size. A
// replicates B's entries (they are B's log as it is), records no index,
// stops following B, keeps false key index evidence in the tlog format
// that parley verify --log-key checks (tlog.VerifyKeyIndexEvidence with
// B's key): it names the member and the entry the index misstates (or the
// two trees), and a tampered copy proves nothing; peer status reports it.
// So does an index of every member (parley-key-index-all-v1, as B signs
// GET /log/keys) that leaves alice out: it states she has no key entry,
// and her registration proves it false. An index signed by another key
// than B's (which B's key didn't sign), or one of the older form
// (parley-key-index-v1) that doesn't list alice (an index of some
// members isn't false, only not the complete one), is refused without a
// stop: the round fails with it, and status says why A holds none.
func TestPeerFalseKeyIndex(t *testing.T) {
	const mallory = "identity--00000000-0000-4000-8000-000000000001"
	for _, tc := range []struct {
		name  string
		alter func(b *origin, k *tlog.KeyIndex) note.Signer
		stop  bool
		want  string
		// proves checks what the evidence proves, of B's tree of size
		// with root, alice's rotation at rotation.
		proves func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64)
	}{
		{"rotation left out", func(b *origin, k *tlog.KeyIndex) note.Signer {
			k.Members[b.alice.ID] = slices.Delete(slices.Clone(k.Members[b.alice.ID]), 1, 2)
			return b.signer
		}, true, "left out or added", func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64) {
			if !f.LeftOut || f.Member != b.alice.ID || f.Index != rotation || f.Event != tlog.EventRotate {
				t.Fatalf("proves %+v, want alice's rotation %d left out", f, rotation)
			}
		}},
		{"entry added", func(b *origin, k *tlog.KeyIndex) note.Signer {
			k.Members[b.alice.ID] = append(slices.Clone(k.Members[b.alice.ID]), k.Size-1)
			return b.signer
		}, true, "left out or added", func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64) {
			if f.LeftOut || f.OtherTree || f.Member != b.alice.ID || f.Index != uint64(size-1) || f.Event != "an object entry" {
				t.Fatalf("proves %+v, want object entry %d listed for alice", f, size-1)
			}
		}},
		{"another member's key entry", func(b *origin, k *tlog.KeyIndex) note.Signer {
			k.Members[mallory] = []uint64{k.Members[b.alice.ID][1]}
			return b.signer
		}, true, "left out or added", func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64) {
			if f.LeftOut || f.Member != mallory || f.Index != rotation || f.Event != "a member key entry of "+b.alice.ID {
				t.Fatalf("proves %+v, want alice's rotation %d listed for %s", f, rotation, mallory)
			}
		}},
		{"another tree", func(b *origin, k *tlog.KeyIndex) note.Signer {
			k.Hash[0] ^= 1
			return b.signer
		}, true, "of a tree of size", func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64) {
			if !f.OtherTree || f.Size != uint64(size) || f.CheckpointHash != root || f.Hash == root {
				t.Fatalf("proves %+v, want two trees of size %d, B's of root %s", f, size, root)
			}
		}},
		{"member left out", func(b *origin, k *tlog.KeyIndex) note.Signer {
			// Signed as the index of every member, as B serves it.
			k.Complete = true
			delete(k.Members, b.alice.ID)
			return b.signer
		}, true, "leaves out member", func(t *testing.T, b *origin, f tlog.FalseKeyIndex, size int64, root tlog.Hash, rotation uint64) {
			if !f.LeftOut || !f.Unlisted || f.Member != b.alice.ID || f.Index >= rotation || f.Event != tlog.EventRegister {
				t.Fatalf("proves %+v, want alice's registration left out of the index of every member", f)
			}
		}},
		{"member left out of an index of the older form", func(b *origin, k *tlog.KeyIndex) note.Signer {
			// parley-key-index-v1, as a node older than the index of
			// every member signs it: it claims nothing of alice.
			k.Complete = false
			delete(k.Members, b.alice.ID)
			return b.signer
		}, false, "doesn't list member", nil},
		{"another key", func(b *origin, k *tlog.KeyIndex) note.Signer {
			skey, _, err := note.GenerateKey(rand.Reader, b.Config().Origin)
			if err != nil {
				panic(err)
			}
			s, err := note.NewSigner(skey)
			if err != nil {
				panic(err)
			}
			return s
		}, false, "doesn't verify with the log key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			b.share(t, b.intel, 5)
			pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
			if err := b.RotateKey(ctx, b.alice.ID, pub2, nil); err != nil {
				t.Fatal(err)
			}
			b.alice.Key = priv2
			b.share(t, b.intel, 5)
			size := waitIntegratedNode(t, b.Node)
			// B's true index: alice's registration and rotation.
			kr := keysOf(t, b, "a")
			tk, err := tlog.OpenKeyIndex([]byte(kr.KeyIndex), b.verifier)
			if err != nil || kr.TreeSize != uint64(size) || len(tk.Members[b.alice.ID]) != 2 {
				t.Fatalf("B's key index: %+v, %v", tk, err)
			}
			root, rotation := tk.Hash, tk.Members[b.alice.ID][1]
			u := keysProxy(t, b, func(kr *tlog.KeysResponse) bool {
				k, err := tlog.OpenKeyIndex([]byte(kr.KeyIndex), b.verifier)
				if err != nil {
					t.Error(err)
					return true
				}
				kr.KeyIndex = resign(t, k, tc.alter(b, &k))
				return true
			})
			pa := a.followVia(t, b, u, "a")
			var p store.Peer
			if tc.stop {
				p = a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
				if !strings.Contains(p.State.Stopped, peer.ErrFalseKeyIndex.Error()) || !strings.Contains(p.State.Stopped, tc.want) {
					t.Fatalf("stopped for %q, want %q", p.State.Stopped, tc.want)
				}
				ev, err := os.ReadFile(p.State.Evidence)
				if err != nil {
					t.Fatal(err)
				}
				// What parley verify --log-key B's key FILE checks.
				if tlog.IsEvidence(ev) || !tlog.IsKeyIndexEvidence(ev) {
					t.Fatalf("the evidence isn't false key index evidence:\n%s", ev)
				}
				f, err := tlog.VerifyKeyIndexEvidence(b.VerifierKey(), ev)
				if err != nil {
					t.Fatalf("the evidence doesn't verify with B's key: %v\n%s", err, ev)
				}
				tc.proves(t, b, f, size, root, rotation)
				if _, err := tlog.VerifyKeyIndexEvidence(a.VerifierKey(), ev); !errors.Is(err, tlog.ErrKeyIndexEvidence) {
					t.Fatalf("the evidence verifies with A's key: %v", err)
				}
				var e tlog.KeyIndexEvidence
				if err := json.Unmarshal(ev, &e); err != nil || e.LogKey != b.VerifierKey() || !strings.HasPrefix(e.FoundBy, "parley peer a following ") {
					t.Fatalf("evidence: %v\n%s", err, ev)
				}
				if e.Entry != nil {
					e.Entry.Entry[len(e.Entry.Entry)-1] ^= 1
				} else {
					e.Checkpoint = strings.Replace(e.Checkpoint, root.String(), f.Hash.String(), 1)
				}
				tampered, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if f, err := tlog.VerifyKeyIndexEvidence(b.VerifierKey(), tampered); !errors.Is(err, tlog.ErrKeyIndexEvidence) {
					t.Fatalf("a tampered copy proves %q (%v)", f, err)
				}
				if s := peer.StatusOf(p); s.State != "stopped" || s.Evidence == "" {
					t.Fatalf("status: %+v", s)
				}
			} else {
				p = a.waitPeer(t, "a", "refused key index", func(p store.Peer) bool {
					return p.State.Stopped != "" || strings.Contains(p.State.KeyIndexMissing, tc.want) && strings.Contains(p.State.LastError, tc.want)
				})
				if !strings.Contains(p.State.LastError, tc.want) {
					t.Fatalf("last error %q doesn't say %q", p.State.LastError, tc.want)
				}
				if p.State.Stopped != "" {
					t.Fatalf("stopped for an index B's key didn't sign: %q", p.State.Stopped)
				}
				if s := peer.StatusOf(p); s.KeyIndexSize != 0 || !strings.Contains(s.KeyIndexMissing, tc.want) {
					t.Fatalf("status: %+v", s)
				}
			}
			// B's entries are replicated; no index of B's is held.
			if p.State.Next != size || p.State.KeyIndex != nil || len(localObjects(t, a.Node, pa.Into)) != 10 {
				t.Fatalf("after the false index: at %d of %d, key index %q, %d objects", p.State.Next, size, p.State.KeyIndex, len(localObjects(t, a.Node, pa.Into)))
			}
		})
	}
}

// TestPeerKeyIndexOlderForm: a B older than the index of every member
// signs GET /log/keys as parley-key-index-v1. A true one, listing every
// member with its key entries, is accepted as before: A holds it, and
// peer status shows it held but not claiming every member.
func TestPeerKeyIndexOlderForm(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	a.followVia(t, b, olderFormProxy(t, b, func() bool { return true }), "a")
	b.share(t, b.intel, 5)
	size := waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "a", "key index of B's tree", func(p store.Peer) bool {
		return p.State.Stopped != "" || p.State.KeyIndexSize == size && p.State.Next == size
	})
	k, err := tlog.OpenKeyIndex(p.State.KeyIndex, b.verifier)
	if err != nil || k.Complete || p.State.Stopped != "" {
		t.Fatalf("A's key index of B: %+v, %v; stopped %q", k, err, p.State.Stopped)
	}
	if s := peer.StatusOf(p); s.KeyIndexSize != size || s.KeyIndexAll || s.KeyIndexMissing != "" {
		t.Fatalf("status: %+v", s)
	}
}

// TestPeerKeyIndexDowngrade: a B that served the index of every member
// (parley-key-index-all-v1) and later signs the older form
// (parley-key-index-v1), under which a member it leaves out can't be
// proved false, is refused: A replicates B's new entries, but the round
// fails with a clear last_error, A keeps the index of every member it
// held, doesn't stop (nothing is proved), and status says why.
func TestPeerKeyIndexDowngrade(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	var older atomic.Bool
	a.followVia(t, b, olderFormProxy(t, b, older.Load), "a")
	b.share(t, b.intel, 5)
	size1 := waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "a", "key index of B's tree", func(p store.Peer) bool {
		return p.State.Stopped != "" || p.State.KeyIndexSize == size1 && p.State.Next == size1
	})
	if s := peer.StatusOf(p); !s.KeyIndexAll || s.Stopped != "" {
		t.Fatalf("status before the downgrade: %+v", s)
	}
	older.Store(true)
	b.share(t, b.intel, 5)
	size2 := waitIntegratedNode(t, b.Node)
	p = a.waitPeer(t, "a", "the older form refused", func(p store.Peer) bool {
		return p.State.Stopped != "" || p.State.Next == size2 && strings.Contains(p.State.LastError, "older form")
	})
	if p.State.Stopped != "" || p.State.KeyIndexSize != size1 || !strings.Contains(p.State.LastError, tlog.KeyIndexAllHeader+" before") ||
		!strings.Contains(p.State.KeyIndexMissing, "downgrade") {
		t.Fatalf("after the downgrade: stopped %q, key index of size %d (want %d), last error %q, missing %q", p.State.Stopped, p.State.KeyIndexSize, size1, p.State.LastError, p.State.KeyIndexMissing)
	}
	if s := peer.StatusOf(p); !s.KeyIndexAll || s.KeyIndexSize != size1 {
		t.Fatalf("status after the downgrade: %+v", s)
	}
	// Once B serves the index of every member again, A takes it.
	older.Store(false)
	a.waitPeer(t, "a", "the index of every member again", func(p store.Peer) bool {
		return p.State.Stopped != "" || p.State.KeyIndexSize == size2 && p.State.KeyIndexMissing == ""
	})
}

// TestPeerWithoutKeyIndex: a B older than the key index (its GET
// /log/keys answers without one, or isn't there) is followed as before:
// A replicates its objects and later ones, holds no index, says why in
// peer status, and its GET /peers/bundle carries none (clients check the
// objects as logged, their key history not proved complete).
func TestPeerWithoutKeyIndex(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alter func(kr *tlog.KeysResponse) bool
	}{
		{"no key index", func(kr *tlog.KeysResponse) bool { kr.KeyIndex = ""; return true }},
		{"no GET /log/keys", func(*tlog.KeysResponse) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			carol, err := a.AddMember(ctx, "carol", nil)
			if err != nil {
				t.Fatal(err)
			}
			pa := a.followVia(t, b, keysProxy(t, b, tc.alter), "a", "carol")
			b.share(t, b.intel, 5)
			a.caughtUp(t, b, "a")
			b.share(t, b.intel, 5)
			p := a.caughtUp(t, b, "a")
			if p.State.Objects != 10 || p.State.KeyIndex != nil || p.State.Stopped != "" || p.State.LastError != "" ||
				!strings.HasPrefix(p.State.KeyIndexMissing, peer.NoKeyIndex) {
				t.Fatalf("peer: %d objects, key index %q, missing %q, stopped %q, error %q", p.State.Objects, p.State.KeyIndex, p.State.KeyIndexMissing, p.State.Stopped, p.State.LastError)
			}
			if s := peer.StatusOf(p); s.KeyIndexSize != 0 || !strings.HasPrefix(s.KeyIndexMissing, peer.NoKeyIndex) {
				t.Fatalf("status: %+v", s)
			}
			first := localObjects(t, a.Node, pa.Into)[0]
			code, body := getPeerBundle(t, a, carol.Token, pa.Into, first.ID)
			if code != http.StatusOK {
				t.Fatalf("GET /peers/bundle: %d %s", code, body)
			}
			res, err := tlog.VerifyBundle(body, b.VerifierKey())
			if err != nil || res.KeysComplete {
				t.Fatalf("the peer bundle: %v, key history complete %v", err, res.KeysComplete)
			}
		})
	}
}

// TestPeerKeyIndexOfNewerCheckpoint: B's log grows between A's reading
// its checkpoint and its key index (here: B's GET /log/checkpoint keeps
// showing an older tree, GET /log/keys answers at the latest). A accepts
// the newer checkpoint the index comes with, replicates up to it, and
// ends with the index of a checkpoint it holds, not with none.
func TestPeerKeyIndexOfNewerCheckpoint(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	b.share(t, b.intel, 5)
	size1 := waitIntegratedNode(t, b.Node)
	tok, err := peer.ReadToken(b.followers["a"])
	if err != nil {
		t.Fatal(err)
	}
	old, err := (&tlog.Client{URL: b.URL, Token: tok}).Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 5)
	size2 := waitIntegratedNode(t, b.Node)
	srv := checkpointProxy(t, b, old)
	a.followVia(t, b, srv, "a")
	p := a.waitPeer(t, "a", "key index", func(p store.Peer) bool { return p.State.KeyIndex != nil })
	if p.State.Next != size2 || p.State.KeyIndexSize != size2 || p.State.Objects != 10 {
		t.Fatalf("at %d with %d objects and a key index of size %d; want %d (B's /log/checkpoint said %d)", p.State.Next, p.State.Objects, p.State.KeyIndexSize, size2, size1)
	}
	if kr := keysOf(t, b, "a"); string(p.State.KeyIndex) != kr.KeyIndex {
		t.Fatalf("A's key index isn't B's:\n%s\n%s", p.State.KeyIndex, kr.KeyIndex)
	}
}

// TestPeerKeptKeyIndexEvidence: false key index evidence of B kept under
// A/evidence (a round killed between writing it and recording the stop)
// stops A's following of B before A replicates anything, as kept
// evidence of a fork does; the stop names the file.
func TestPeerKeptKeyIndexEvidence(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	b.share(t, b.intel, 5)
	size := waitIntegratedNode(t, b.Node)
	tok, err := peer.ReadToken(b.followers["a"])
	if err != nil {
		t.Fatal(err)
	}
	signed, err := (&tlog.Client{URL: b.URL, Token: tok}).Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(signed, b.verifier)
	if err != nil || int64(cp.Size) != size {
		t.Fatalf("B's checkpoint: %+v, %v", cp, err)
	}
	other := cp.Hash
	other[0] ^= 1
	ki := resign(t, tlog.KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: other, Members: map[string][]uint64{}}, b.signer)
	ev, err := tlog.NewKeyIndexTreeEvidence(b.VerifierKey(), []byte(ki), signed, "parley peer a following "+b.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(a.dir, "evidence")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "peer-a-0123456789abcdef.json")
	if err := os.WriteFile(path, ev, 0o600); err != nil {
		t.Fatal(err)
	}
	a.follow(t, b, "a", "from-b")
	p := a.waitPeer(t, "a", "stopped or caught up", func(p store.Peer) bool { return p.State.Stopped != "" || p.State.Next == size })
	if !strings.Contains(p.State.Stopped, "false key index") || p.State.Evidence != path || p.State.Next != 0 {
		t.Fatalf("with false key index evidence kept: stopped %q, evidence %q, at %d", p.State.Stopped, p.State.Evidence, p.State.Next)
	}
}

// TestPeerFalseKeyIndexEntryNotServed: B signs a key index that lists an
// object entry as alice's key entry, and once A has replicated B's log,
// B serves that entry changed when A reads it again for the evidence.
// A can't prove the index false with it (its hash isn't the one in B's
// tree), so it doesn't stop on its own word: the index is refused, A
// holds none, and status says why. Once B serves the entry its tree
// holds, the next round proves the index false and stops.
func TestPeerFalseKeyIndexEntryNotServed(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	b.share(t, b.intel, 5)
	size := waitIntegratedNode(t, b.Node)
	ku := keysProxy(t, b, func(kr *tlog.KeysResponse) bool {
		k, err := tlog.OpenKeyIndex([]byte(kr.KeyIndex), b.verifier)
		if err != nil {
			t.Error(err)
			return true
		}
		k.Members[b.alice.ID] = append(slices.Clone(k.Members[b.alice.ID]), k.Size-1)
		kr.KeyIndex = resign(t, k, b.signer)
		return true
	})
	target, _ := url.Parse(ku)
	var served atomic.Int64
	var lie atomic.Bool
	lie.Store(true)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if !strings.HasPrefix(r.Request.URL.Path, "/log/tile/entries/") || r.StatusCode != http.StatusOK {
			return nil
		}
		if served.Add(1) == 1 || !lie.Load() {
			return nil // replication reads the entries as they are
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		body[len(body)-1] ^= 1 // the last leaf's last byte
		r.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	a.followVia(t, b, srv.URL, "a")
	const why = "no evidence of it could be built"
	p := a.waitPeer(t, "a", "refused key index", func(p store.Peer) bool {
		return p.State.Stopped != "" || (strings.Contains(p.State.KeyIndexMissing, why) && strings.Contains(p.State.LastError, why))
	})
	if p.State.Stopped != "" || p.State.Evidence != "" || p.State.Next != size || p.State.KeyIndex != nil {
		t.Fatalf("with B's entry served changed: stopped %q, evidence %q, at %d of %d, key index %q", p.State.Stopped, p.State.Evidence, p.State.Next, size, p.State.KeyIndex)
	}
	lie.Store(false)
	p = a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
	ev, err := os.ReadFile(p.State.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tlog.VerifyKeyIndexEvidence(b.VerifierKey(), ev)
	if err != nil || f.Member != b.alice.ID || f.Index != uint64(size-1) || f.LeftOut || f.Event != "an object entry" {
		t.Fatalf("the evidence proves %+v (%v), want object entry %d listed for alice", f, err, size-1)
	}
}

// olderFormProxy serves B through keysProxy, with B's index of every
// member re-signed by B as the older form (parley-key-index-v1, the same
// lines) whenever older says so: what a B older than that form serves.
func olderFormProxy(t *testing.T, b *origin, older func() bool) string {
	return keysProxy(t, b, func(kr *tlog.KeysResponse) bool {
		if !older() {
			return true
		}
		k, err := tlog.OpenKeyIndex([]byte(kr.KeyIndex), b.verifier)
		if err != nil {
			t.Error(err)
			return true
		}
		k.Complete = false
		kr.KeyIndex = resign(t, k, b.signer)
		return true
	})
}

// TestPeerKeyIndexDroppedIsDowngrade: a B that served the index of every
// member and later serves no key index (its GET /log/keys answers
// without one, or isn't there) was taken for a node older than the key
// index: A went on with "the peer serves no key index", a round without
// error, and stopped asking once caught up. It is a downgrade, as the
// older form is (TestPeerKeyIndexDowngrade): A replicates B's new
// entries, the round fails saying so, A keeps the index it held, and
// takes B's index again once B serves it.
func TestPeerKeyIndexDroppedIsDowngrade(t *testing.T) {
	for _, tc := range []struct {
		name, says string
		alter      func(kr *tlog.KeysResponse) bool
	}{
		{"no key index", "sends no key index", func(kr *tlog.KeysResponse) bool { kr.KeyIndex = ""; return true }},
		{"no GET /log/keys", "is not found (HTTP 404)", func(*tlog.KeysResponse) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			var drop atomic.Bool
			a.followVia(t, b, keysProxy(t, b, func(kr *tlog.KeysResponse) bool { return !drop.Load() || tc.alter(kr) }), "a")
			b.share(t, b.intel, 5)
			size1 := waitIntegratedNode(t, b.Node)
			p := a.waitPeer(t, "a", "key index of B's tree", func(p store.Peer) bool {
				return p.State.Stopped != "" || p.State.KeyIndexSize == size1 && p.State.Next == size1
			})
			if s := peer.StatusOf(p); !s.KeyIndexAll || s.Stopped != "" {
				t.Fatalf("status before the downgrade: %+v", s)
			}
			drop.Store(true)
			b.share(t, b.intel, 5)
			size2 := waitIntegratedNode(t, b.Node)
			p = a.waitPeer(t, "a", "the dropped index refused", func(p store.Peer) bool {
				return p.State.Stopped != "" || p.State.Next == size2 && (p.State.LastError != "" || p.State.Failures > 0 || strings.HasPrefix(p.State.KeyIndexMissing, peer.NoKeyIndex))
			})
			if p.State.Stopped != "" || p.State.KeyIndexSize != size1 || !strings.Contains(p.State.LastError, tc.says) || !strings.Contains(p.State.LastError, "downgrade") ||
				!strings.Contains(p.State.KeyIndexMissing, "downgrade") {
				t.Fatalf("after the index dropped: stopped %q, key index of size %d (want %d), last error %q, missing %q", p.State.Stopped, p.State.KeyIndexSize, size1, p.State.LastError, p.State.KeyIndexMissing)
			}
			drop.Store(false)
			a.waitPeer(t, "a", "the index of every member again", func(p store.Peer) bool {
				return p.State.Stopped != "" || p.State.KeyIndexSize == size2 && p.State.KeyIndexMissing == ""
			})
		})
	}
}

// TestPeerBundleKeysBounded: a peer bundle with the peer's key index shows
// every member's key entries, each with its proof; past
// MaxPeerBundleKeys key entries (or MaxPeerBundleKeyBytes of them) it
// would be more than clients read of one response (before: served, and
// its memory reserved for a share at most), so it goes without the key
// index, with the sharers' key entries only, and says why in its
// Parley-Key-Index-Omitted header: it still verifies, its key history
// not proved complete.
func TestPeerBundleKeysBounded(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	b.share(t, b.intel, 2)
	size := waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "a", "key index of B's tree", func(p store.Peer) bool { return p.State.KeyIndexSize == size && p.State.Next == size })
	id := localObjects(t, a.Node, pa.Into)[0].ID
	get := func() (*http.Response, tlog.BundleResult) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, a.URL+"/peers/bundle?collection="+pa.Into+"&object="+id, nil)
		req.Header.Set("Authorization", "Bearer "+carol.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /peers/bundle: %d %s", resp.StatusCode, body)
		}
		res, err := tlog.VerifyBundle(body, b.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		return resp, res
	}
	if resp, res := get(); !res.KeysComplete || resp.Header.Get("Parley-Key-Index-Omitted") != "" {
		t.Fatalf("a bundle within the bound: key history complete %v, omitted %q", res.KeysComplete, resp.Header.Get("Parley-Key-Index-Omitted"))
	}
	a.testPeerBundleKeys = p.State.Keys - 1
	resp, res := get()
	if res.KeysComplete || !strings.Contains(resp.Header.Get("Parley-Key-Index-Omitted"), "more than the") {
		t.Fatalf("a bundle past the bound: key history complete %v, omitted %q", res.KeysComplete, resp.Header.Get("Parley-Key-Index-Omitted"))
	}
	if ks := res.Keys.Keys(b.alice.ID); len(ks) != 1 {
		t.Fatalf("the sharer's keys in the bundle without the index: %+v", ks)
	}
	// The bound on their bytes.
	bu, why, err := peer.Bundle(ctx, a.Store(), p, id, 0, 1)
	if err != nil || bu.KeyIndex != "" || !strings.Contains(why, "bytes") {
		t.Fatalf("a bundle past the key bytes bound: key index %v, why %q, %v", bu.KeyIndex != "", why, err)
	}
}
