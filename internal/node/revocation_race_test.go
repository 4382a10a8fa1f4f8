package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
)

// TestSubmissionRacingOperator: a member's envelope is checked against
// its key and access as the node read them before the checks; an
// operator's key rotation or revocation, or the member's revocation or
// removal, committed while the envelope waits for the CPUs that check it
// (a thief holding a stolen token and key can keep them busy) must not let
// it into the log after the key event, signed by a key no longer in force
// or sent by a member no longer allowed to write. The envelope is refused
// whole (403), nothing is stored, and the log's key entries stay the last
// word on the member.
func TestSubmissionRacingOperator(t *testing.T) {
	newPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		act  func(ctx context.Context, n *Node, member string) error
	}{
		{"key rotated", func(ctx context.Context, n *Node, member string) error {
			return n.RotateKey(ctx, member, newPub, nil)
		}},
		{"key revoked", func(ctx context.Context, n *Node, member string) error { return n.RevokeKey(ctx, member) }},
		{"member revoked", func(ctx context.Context, n *Node, member string) error { return n.RevokeMember(ctx, member) }},
		{"member removed", func(ctx context.Context, n *Node, member string) error {
			_, err := n.RemoveMember(ctx, member)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			tn := newTestNode(t)
			b := budgetOf(t, tn.checks)
			// Every CPU that checks objects is busy with someone else's.
			release := holdAll(t, b, "someone else")

			obj := indicator(t, tn.alice.ID, tn.alice.Key, t0)
			type result struct {
				st  *taxii.Status
				err error
			}
			done := make(chan error, 1)
			res := make(chan result, 1)
			go func() {
				st, err := tn.alice.Client.AddObjects(ctx, tn.shared, []json.RawMessage{obj})
				res <- result{st, err}
				done <- err
			}()
			// Alice's envelope has been read, her member and key too: it
			// waits for a CPU to check it.
			waitQueued(t, b, tn.alice.ID, done)
			if err := c.act(ctx, tn.Node, tn.alice.ID); err != nil {
				t.Fatal(err)
			}
			release()
			r := <-res

			if r.err == nil {
				t.Fatalf("the envelope checked before the operator's change was accepted: %+v", r.st)
			}
			if !errors.Is(r.err, taxii.ErrForbidden) {
				t.Errorf("the envelope's refusal: %v, want 403", r.err)
			}
			es, err := tn.store.Entries(ctx, 0, tn.logSize(t))
			if err != nil {
				t.Fatal(err)
			}
			id := idOf(t, obj)
			for _, e := range es {
				if e.ObjectID == id {
					t.Fatalf("log entry %d holds the object signed before the operator's change, logged after it", e.Index)
				}
			}
			// Nothing else is left behind: the object isn't served.
			objs, err := tn.store.Objects(ctx, store.Query{Collection: tn.shared, IDs: []string{id}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.Objects) != 0 {
				t.Errorf("the refused object is stored: %d versions", len(objs.Objects))
			}
		})
	}
}

// TestPublishRacingRemoval: a private set is checked (its member may
// write its collection) before its tags are computed, which takes seconds
// for a large set; a member removed or revoked meanwhile must not get the
// set, and its key entry, into the log after its revocation.
func TestPublishRacingRemoval(t *testing.T) {
	for _, how := range []string{"removed", "revoked"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			tn := newTestNode(t)
			_, cpu, _, err := tn.Node.private.limits()
			if err != nil {
				t.Fatal(err)
			}
			b := budgetOf(t, cpu)
			release := holdAll(t, b, "someone else")

			done := make(chan error, 1)
			go func() {
				_, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("planted", 3)})
				done <- err
			}()
			// Her access checked, the set's tags wait for a CPU.
			waitQueued(t, b, tn.alice.ID, done)
			if how == "removed" {
				_, err = tn.RemoveMember(ctx, tn.alice.ID)
			} else {
				err = tn.RevokeMember(ctx, tn.alice.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			size := tn.logSize(t)
			release()
			err = <-done
			var he *private.HTTPError
			if !errors.As(err, &he) || he.Status != http.StatusForbidden {
				t.Errorf("the publication of a member %s meanwhile: %v, want 403", how, err)
			}
			if got := tn.logSize(t); got != size {
				t.Errorf("the log grew from %d to %d entries after the member was %s", size, got, how)
			}
			sets, err := tn.store.PrivateSets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(sets) != 0 {
				t.Errorf("the node holds %d private sets, planted by a member %s meanwhile", len(sets), how)
			}
		})
	}
}
