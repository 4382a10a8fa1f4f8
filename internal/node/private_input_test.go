package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
)

// TestPrivateRequestsMalformed posts malformed bodies to the private-set
// API: each is a 4xx with a sentence that says what is wrong, and
// nothing changes (no set published, no log entry, no budget spent).
// Before, a misspelt field ("vaules") published a set of another kind (of
// the member's indicators in the collection) with its key entry in the
// log for good; data after the JSON was ignored; and a body over the
// limit was a 400 "unexpected EOF".
func TestPrivateRequestsMalformed(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 4, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"domain-name:one.example"}})
	if err != nil {
		t.Fatal(err)
	}
	q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
	_, req, err := q.Blind([]string{"domain-name:one.example"})
	if err != nil {
		t.Fatal(err)
	}
	elements, _ := json.Marshal(req)
	coll := fmt.Sprintf("%q", tn.shared)
	huge := `{"collection":` + coll + `,"values":["` + strings.Repeat("a", maxPublishBody) + `"]}`
	for _, tc := range []struct {
		name, path, body string
		status           int
		desc             string
	}{
		{"publish: misspelt values", "/private/sets", `{"collection":` + coll + `,"vaules":["domain-name:two.example"]}`, 400, `unknown field \"vaules\"`},
		{"publish: data after the request", "/private/sets", `{"collection":` + coll + `,"values":["domain-name:two.example"]} {}`, 400, "data after the request"},
		{"publish: not JSON", "/private/sets", `collection=` + tn.shared, 400, "couldn't parse the request"},
		{"publish: values twice", "/private/sets", `{"collection":` + coll + `,"values":["domain-name:two.example"],"values":[]}`, 400, `field \"values\" given twice`},
		{"publish: values not a list", "/private/sets", `{"collection":` + coll + `,"values":"domain-name:two.example"}`, 400, "not a list of strings"},
		{"publish: a bad value", "/private/sets", `{"collection":` + coll + `,"values":["domain-name:two.example","ipv4-addr:300.1.1.1"]}`, 400, "value 2: invalid value"},
		{"publish: a value not a string", "/private/sets", `{"collection":` + coll + `,"values":["domain-name:two.example",7]}`, 400, "values[1]"},
		{"publish: over the limit", "/private/sets", huge, 413, fmt.Sprintf("larger than %d MiB", maxPublishBody>>20)},
		{"evaluate: misspelt elements", "/private/sets/" + set.ID + "/evaluate", `{"element":["AAAA"]}`, 400, `unknown field \"element\"`},
		{"evaluate: data after the request", "/private/sets/" + set.ID + "/evaluate", string(elements) + ` x`, 400, "data after the request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logSize, _ := tn.store.LogSize(ctx)
			sets, _ := tn.privateAPI().st.PrivateSets(ctx)
			before, _ := alice.Set(ctx, set.ID)
			r, _ := http.NewRequest(http.MethodPost, tn.URL+tc.path, strings.NewReader(tc.body))
			r.Header.Set("Authorization", "Bearer "+tn.alice.Token)
			r.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.desc)) {
				t.Errorf("%d %.300s\nwant %d and %q", resp.StatusCode, body, tc.status, tc.desc)
			}
			if after, _ := tn.store.LogSize(ctx); after != logSize {
				t.Errorf("the log grew from %d to %d entries", logSize, after)
			}
			if after, _ := tn.privateAPI().st.PrivateSets(ctx); len(after) != len(sets) {
				t.Errorf("%d private sets, %d before", len(after), len(sets))
			}
			if after, _ := alice.Set(ctx, set.ID); after.Budget.Left != before.Budget.Left {
				t.Errorf("the budget went from %d to %d", before.Budget.Left, after.Budget.Left)
			}
		})
	}
}

// TestSubmitNamesObjectsWithoutID: in a TAXII status, a failed object
// whose id can't be read is named by its place in the envelope, so that
// two such failures say which objects they are; the good object in the
// same envelope is stored (TAXII's partial success).
func TestSubmitNamesObjectsWithoutID(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	good := indicator(t, tn.alice.ID, tn.alice.Key, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := tn.alice.Client.AddObjects(ctx, tn.shared, []json.RawMessage{
		json.RawMessage(`{"type":"indicator"}`), good, json.RawMessage(`{"type":"indicator","id":7}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.SuccessCount != 1 || st.FailureCount != 2 || len(st.Failures) != 2 {
		t.Fatalf("status %+v", st)
	}
	for i, want := range []string{"objects[0]: ", "objects[2]: "} {
		if f := st.Failures[i]; f.ID != "unknown" || !strings.HasPrefix(f.Message, want) {
			t.Errorf("failure %d = %+v, want a message starting %q", i, f, want)
		}
	}
}

// tokenFailStore fails AddToken, like a disk that filled up between the
// two writes of AddMember.
type tokenFailStore struct{ store.Store }

func (tokenFailStore) AddToken(context.Context, store.Token) error {
	return errors.New("disk full")
}

// TestAddMemberTokenFails: when the member is registered (in the log, for
// good) but its token can't be stored, the error says so and how to go
// on, since adding the member again fails on the name: member token
// --rotate, which then works.
func TestAddMemberTokenFails(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	real := n.store
	n.store = tokenFailStore{real}
	_, err := n.AddMember(ctx, "eve", nil)
	n.store = real
	m, rerr := n.ResolveMember(ctx, "eve")
	if rerr != nil {
		t.Fatalf("eve isn't registered: %v (AddMember: %v)", rerr, err)
	}
	for _, want := range []string{"registered member \"eve\" (" + m.ID + ")", "couldn't issue its token", "parley member token --member " + m.ID + " --rotate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("AddMember error %v, want one with %q", err, want)
		}
	}
	if _, _, err := n.RotateToken(ctx, m.ID); err != nil {
		t.Errorf("the rotation the error suggests: %v", err)
	}
}
