package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// testReport returns a report created by creator about an indicator.
func testReport(t *testing.T, tn *testNode, m testMember) (json.RawMessage, string) {
	t.Helper()
	id := stix.NewIdentifier("report")
	return object(t, m.Key, map[string]any{
		"type": "report", "spec_version": "2.1", "id": id, "created_by_ref": m.ID,
		"created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
		"name": "attribution of the test campaign", "published": "2026-02-01T00:00:00Z",
		"object_refs": []string{"intrusion-set--7a1e0c52-4b3d-4e0f-9a21-000000000001"},
	}), id
}

// testOpinion returns an opinion version by m on about (unsigned when m
// has no key).
func testOpinion(t *testing.T, m testMember, id string, minute int, value opinion.Value, revoked bool, about ...string) json.RawMessage {
	t.Helper()
	o := map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": id, "created_by_ref": m.ID,
		"created":  stix.FormatTimestamp(t0),
		"modified": stix.FormatTimestamp(t0.Add(time.Duration(minute) * time.Minute)),
		"opinion":  string(value), "object_refs": about,
	}
	if revoked {
		o["revoked"] = true
	}
	return object(t, m.Key, o)
}

func postOK(t *testing.T, tn *testNode, m testMember, coll string, objs ...json.RawMessage) {
	t.Helper()
	st := post(t, m.Client, coll, objs...)
	if st.FailureCount > 0 {
		t.Fatalf("the node refused %s: %s", st.Failures[0].ID, st.Failures[0].Message)
	}
}

// getConcurrence fetches GET /concurrence as m and decodes it.
func getConcurrence(t *testing.T, tn *testNode, token, object string) (int, opinion.Concurrence) {
	t.Helper()
	code, body := rawGet(t, tn.URL+"/concurrence?object="+url.QueryEscape(object), token)
	var c opinion.Concurrence
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("couldn't decode %s: %v", body, err)
		}
	}
	return code, c
}

func voteOf(c opinion.Concurrence, member string) (opinion.Vote, bool) {
	for _, v := range c.Votes {
		if v.Member == member {
			return v, true
		}
	}
	return opinion.Vote{}, false
}

func TestConcurrence(t *testing.T) {
	tn := newTestNode(t)
	a, b, c := tn.alice, tn.bob, tn.carol
	report, rid := testReport(t, tn, a)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.optional, report)
	postOK(t, tn, a, tn.writeOnly, report) // alice may write there but not read: it must not show
	hidden, hid := testReport(t, tn, b)
	postOK(t, tn, b, tn.private, hidden)

	// Alice: many opinions, one voice (her latest).
	postOK(t, tn, a, tn.shared,
		testOpinion(t, a, "opinion--00000000-0000-4000-8000-00000000000a", 0, opinion.Agree, false, rid),
		testOpinion(t, a, "opinion--00000000-0000-4000-8000-00000000000b", 1, opinion.Disagree, false, rid),
		testOpinion(t, a, "opinion--00000000-0000-4000-8000-00000000000c", 2, opinion.StronglyAgree, false, rid, hid))
	// Bob: disagree, then neutral, then he revokes the neutral one: his
	// disagreement stands again.
	postOK(t, tn, b, tn.shared,
		testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b1", 0, opinion.Disagree, false, rid),
		testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b2", 3, opinion.Neutral, false, rid))
	postOK(t, tn, b, tn.shared,
		testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b2", 4, opinion.Neutral, true, rid))
	// An opinion without created_by_ref is refused (it would be the
	// sharer's, but the node wants every versioned object to name its
	// creator); with it, this one (minute 1) is Bob's latest remaining
	// one in shared.
	b4 := map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": "opinion--00000000-0000-4000-8000-0000000000b4",
		"created": stix.FormatTimestamp(t0), "modified": stix.FormatTimestamp(t0.Add(time.Minute)),
		"opinion": "disagree", "object_refs": []string{rid}, "confidence": 55,
	}
	if st := post(t, b.Client, tn.shared, object(t, b.Key, b4)); st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "has no created_by_ref") {
		t.Fatalf("an opinion without created_by_ref: status %+v; want refused for its missing created_by_ref", st)
	}
	b4["created_by_ref"] = b.ID
	postOK(t, tn, b, tn.shared, object(t, b.Key, b4))
	// Bob's later opinion in his private collection: only Bob sees it.
	postOK(t, tn, b, tn.private,
		testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b3", 9, opinion.Agree, false, rid))
	// Carol has no key: her opinion is stored unsigned (optional policy)
	// and never counts.
	postOK(t, tn, c, tn.optional,
		testOpinion(t, c, "opinion--00000000-0000-4000-8000-0000000000c1", 0, opinion.StronglyDisagree, false, rid))
	// A forged opinion planted in the store behind the pipeline's back:
	// it names Bob but carries Alice's signature.
	forged := testOpinion(t, testMember{ID: b.ID, Key: a.Key}, "opinion--00000000-0000-4000-8000-0000000000f1", 20, opinion.StronglyDisagree, false, rid)
	plant(t, tn, tn.shared, b.ID, forged)

	vkey := tn.VerifierKey()
	check := func(who string, token string, want map[opinion.Value]int, voices, access int) opinion.Concurrence {
		t.Helper()
		code, conc := getConcurrence(t, tn, token, rid)
		if code != http.StatusOK {
			t.Fatalf("%s: GET /concurrence = %d", who, code)
		}
		if conc.Object != rid || conc.Voices != voices || len(conc.Votes) != voices || conc.MembersWithAccess != access {
			t.Errorf("%s: object %s, voices %d (%d listed), access %d; want %d voices, %d with access", who, conc.Object, conc.Voices, len(conc.Votes), conc.MembersWithAccess, voices, access)
		}
		for _, v := range opinion.Values {
			if conc.Counts[v] != want[v] {
				t.Errorf("%s: count of %s = %d, want %d", who, v, conc.Counts[v], want[v])
			}
		}
		if _, err := opinion.VerifyConcurrence(conc, vkey); err != nil {
			t.Errorf("%s: the node's answer doesn't verify: %v", who, err)
		}
		return conc
	}
	// Alice reads shared and optional: her strong agreement, Bob's
	// disagreement; Carol's unsigned opinion and the forged one don't count.
	ca := check("alice", a.Token, map[opinion.Value]int{opinion.StronglyAgree: 1, opinion.Disagree: 1}, 2, 3)
	if v, _ := voteOf(ca, a.ID); v.OpinionID != "opinion--00000000-0000-4000-8000-00000000000c" {
		t.Errorf("alice's counted opinion is %+v", v)
	}
	if v, _ := voteOf(ca, b.ID); v.OpinionID != "opinion--00000000-0000-4000-8000-0000000000b4" || v.Confidence == nil || *v.Confidence != 55 {
		t.Errorf("bob's counted opinion for alice is %+v", v)
	}
	if len(ca.Evidence.Items) != 9 { // a's 3, b's 4 in shared, c's 1, the forged 1
		t.Errorf("alice's evidence has %d items, want 9", len(ca.Evidence.Items))
	}
	if fmt.Sprint(ca.WritableCollections) != fmt.Sprint([]string{tn.shared, tn.optional}) {
		t.Errorf("alice's writable collections = %v", ca.WritableCollections)
	}
	// Bob also reads his private collection: his private agreement is his
	// latest opinion.
	// The "of N" counts readers only of collections the asker reads that
	// hold the object: Bob reads shared (alice, bob) and private (bob), not
	// optional, so Carol, who reads only optional, isn't counted for him.
	cb := check("bob", b.Token, map[opinion.Value]int{opinion.StronglyAgree: 1, opinion.Agree: 1}, 2, 2)
	if v, _ := voteOf(cb, b.ID); v.OpinionID != "opinion--00000000-0000-4000-8000-0000000000b3" {
		t.Errorf("bob's counted opinion for bob is %+v", v)
	}
	// Carol reads only the optional collection: no opinion of the others
	// leaks into her tally, and her own unsigned one doesn't count.
	cc := check("carol", c.Token, map[opinion.Value]int{}, 0, 2)
	for _, it := range cc.Evidence.Items {
		var head struct{ ID string }
		json.Unmarshal(it.Object, &head)
		if head.ID != "opinion--00000000-0000-4000-8000-0000000000c1" {
			t.Errorf("carol's evidence shows %s from a collection she can't read", head.ID)
		}
	}

	// Access: an object only in Bob's private collection doesn't exist for
	// Alice; nor does an unknown one.
	for _, tc := range []struct {
		token, object string
		want          int
	}{
		{a.Token, hid, http.StatusNotFound},
		{a.Token, "report--00000000-0000-4000-8000-000000000099", http.StatusNotFound},
		{a.Token, "not an id", http.StatusBadRequest},
		{"", rid, http.StatusUnauthorized},
		{"parley_wrong", rid, http.StatusUnauthorized},
	} {
		if code, _ := rawGet(t, tn.URL+"/concurrence?object="+url.QueryEscape(tc.object), tc.token); code != tc.want {
			t.Errorf("GET /concurrence?object=%s = %d, want %d", tc.object, code, tc.want)
		}
	}
	// Bob can read the hidden report, Alice can't: her opinion on it
	// (shared in a collection he reads) doesn't count, as she may not
	// read the report, and isn't in his evidence.
	check2 := func() {
		code, conc := getConcurrence(t, tn, b.Token, hid)
		if code != http.StatusOK || conc.Voices != 0 || conc.MembersWithAccess != 1 || len(conc.Evidence.Items) != 0 {
			t.Errorf("bob on the hidden report: %d %+v, %d items of evidence", code, conc.Tally, len(conc.Evidence.Items))
		}
	}
	check2()

}

// plant stores an object with a proper log entry straight into the store,
// skipping the pipeline's checks: what a compromised node could do.
func plant(t *testing.T, tn *testNode, coll, member string, raw json.RawMessage) {
	t.Helper()
	o, err := stix.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := stix.Canonicalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := tlog.NewSalt(tn.Rand())
	if err != nil {
		t.Fatal(err)
	}
	_, err = tn.store.Submit(context.Background(), store.Submission{
		StatusID: stix.NewIdentifier("x")[3:], Collection: coll, Member: member, Received: tn.Now(),
		Items: []store.Item{{
			Object: store.Object{ID: o.ID, Type: o.Type, SpecVersion: "2.1", Version: o.Modified, Signed: true, Raw: canon, Salt: salt},
			Salt:   salt,
			Entry: func(so store.Object) ([]byte, error) {
				return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(so.Opening(), canon)}.Marshal()
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrenceBoundedPerMember: a member who floods an object with
// opinion versions adds at most opinionsPerMember of them to the tally
// and its evidence, and the answer still verifies; the others' votes are
// untouched. Its newest opinion counts; one of its own buried under more
// newer versions than the bound no longer does.
func TestConcurrenceBoundedPerMember(t *testing.T) {
	tn := newTestNode(t)
	a, b := tn.alice, tn.bob
	report, rid := testReport(t, tn, a)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.shared, testOpinion(t, a, "opinion--00000000-0000-4000-8000-00000000000a", 0, opinion.Agree, false, rid))
	// Bob: agrees first, then posts many more opinions, all revoked but
	// the newest, in envelopes of ten.
	flood := 3 * opinionsPerMember.Rows
	var batch []json.RawMessage
	for i := 0; i <= flood; i++ {
		value, revoked := opinion.Disagree, i < flood
		if i == 0 {
			value, revoked = opinion.Agree, false
		}
		batch = append(batch, testOpinion(t, b, fmt.Sprintf("opinion--00000000-0000-4000-8000-%012d", i), i, value, revoked, rid))
		if len(batch) == 10 || i == flood {
			postOK(t, tn, b, tn.shared, batch...)
			batch = nil
		}
	}
	bobsItems := func(c opinion.Concurrence) int {
		n := 0
		for _, it := range c.Evidence.Items {
			var head struct {
				CreatedBy string `json:"created_by_ref"`
			}
			json.Unmarshal(it.Object, &head)
			if head.CreatedBy == b.ID {
				n++
			}
		}
		return n
	}
	code, c := getConcurrence(t, tn, a.Token, rid)
	if code != http.StatusOK {
		t.Fatalf("GET /concurrence = %d", code)
	}
	if _, err := opinion.VerifyConcurrence(c, tn.VerifierKey()); err != nil {
		t.Fatalf("the answer doesn't verify: %v", err)
	}
	if n := bobsItems(c); n != opinionsPerMember.Rows {
		t.Errorf("bob's versions in the evidence: %d, want %d", n, opinionsPerMember.Rows)
	}
	if v, ok := voteOf(c, a.ID); !ok || v.Value != opinion.Agree {
		t.Errorf("alice's vote: %+v, %v", v, ok)
	}
	if v, ok := voteOf(c, b.ID); !ok || v.Value != opinion.Disagree || v.OpinionID != fmt.Sprintf("opinion--00000000-0000-4000-8000-%012d", flood) {
		t.Errorf("bob's vote: %+v, %v; want his newest, disagree", v, ok)
	}
	// Bob revokes his newest too: his first agreement lies under more
	// than the bound of newer revoked versions, so he has no voice left.
	postOK(t, tn, b, tn.shared, testOpinion(t, b, fmt.Sprintf("opinion--00000000-0000-4000-8000-%012d", flood), flood+1, opinion.Disagree, true, rid))
	if _, c = getConcurrence(t, tn, a.Token, rid); c.Voices != 1 || c.Counts[opinion.Agree] != 1 {
		t.Errorf("after bob's last revocation: %d voices, counts %v; want alice's alone", c.Voices, c.Counts)
	}
}

// discardResponse is an http.ResponseWriter that keeps the status and
// counts the body without holding it.
type discardResponse struct {
	h      http.Header
	status int
	n      int64
}

func (w *discardResponse) Header() http.Header         { return w.h }
func (w *discardResponse) WriteHeader(status int)      { w.status = status }
func (w *discardResponse) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// TestConcurrenceReservationBySize: a tally reserves by the sizes of the
// opinion versions it will read, measured first, not by the number of
// members times the largest object. With twelve members each holding a
// small opinion it is a small part of the budget (the pessimistic figure
// was most of half of it: such requests ran two at a time); when one of
// them shares an opinion of nearly max_object_size it grows by
// tallyFactor times the difference. Either way GET /concurrence
// allocates, garbage included, less than it reserved.
func TestConcurrenceReservationBySize(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	members := []testMember{tn.alice, tn.bob}
	for i := range 10 {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		nm, err := tn.AddMember(ctx, fmt.Sprintf("member%d", i), pub)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, testMember{ID: nm.ID, Token: nm.Token, Key: key, Client: &taxii.Client{BaseURL: tn.URL, Token: nm.Token}})
	}
	var names []string
	for _, m := range members {
		names = append(names, m.ID)
	}
	many, err := tn.AddCollection(ctx, "many", "", names, names, "")
	if err != nil {
		t.Fatal(err)
	}
	report, rid := testReport(t, tn, tn.alice)
	postOK(t, tn, tn.alice, many, report)
	for i, m := range members {
		postOK(t, tn, m, many, testOpinion(t, m, fmt.Sprintf("opinion--00000000-0000-4000-8000-%012d", i), 0, opinion.Agree, false, rid))
	}
	alice, err := tn.Store().Member(ctx, tn.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	nodeMembers, err := tn.Store().Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reservation := func() int64 {
		t.Helper()
		memory, _, err := tn.PrepareConcurrence(ctx, alice, rid, ConcurrenceWait)
		if err != nil {
			t.Fatal(err)
		}
		return memory
	}
	// What the tally reads: each member's one opinion.
	versions, err := tn.Store().OpinionVersions(ctx, []string{many}, rid, opinionsPerMember)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, v := range versions {
		size += int64(len(v.Raw))
	}
	if len(versions) != len(members) {
		t.Fatalf("%d opinion versions, want %d", len(versions), len(members))
	}
	small := reservation()
	if want := tallyFactor*size + int64(len(versions))*tallyItemBytes + int64(len(nodeMembers))*tallyMemberBytes + reserveSlack; small != want {
		t.Errorf("reservation with %d small opinions (%d bytes) = %d, want %d", len(versions), size, small, want)
	}
	budget := tn.cfg.ResponseMemory
	if small > budget/32 {
		t.Errorf("reservation with %d small opinions = %d bytes, more than 1/32 of the %d-byte budget", len(versions), small, budget)
	}
	h := tn.Handler(nil)
	get := func() (status int, allocated uint64) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/concurrence?object="+url.QueryEscape(rid), nil)
		req.Header.Set("Authorization", "Bearer "+tn.alice.Token)
		w := &discardResponse{h: http.Header{}}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h.ServeHTTP(w, req)
		runtime.ReadMemStats(&after)
		return w.status, after.TotalAlloc - before.TotalAlloc
	}
	// within checks that the tally allocates at most what it reserved.
	within := func(what string, reserved int64) {
		t.Helper()
		if status, _ := get(); status != http.StatusOK { // the opinions are in a checkpoint after this
			t.Fatalf("GET /concurrence = %d", status)
		}
		if status, allocated := get(); status != http.StatusOK || int64(allocated) > reserved {
			t.Errorf("GET /concurrence with %s = %d, allocated %d bytes; reserved %d", what, status, allocated, reserved)
		} else {
			t.Logf("%s: allocated %d bytes, reserved %d (%.2f)", what, allocated, reserved, float64(allocated)/float64(reserved))
		}
	}
	within("small opinions", small)

	// One member's newest opinion of nearly max_object_size: always read,
	// so the reservation grows by tallyFactor times what it adds.
	m := members[5]
	pad := int(tn.cfg.MaxObjectSize) - 4<<10
	large := object(t, m.Key, map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": "opinion--00000000-0000-4000-8000-000000000005", "created_by_ref": m.ID,
		"created": stix.FormatTimestamp(t0), "modified": stix.FormatTimestamp(t0.Add(time.Minute)),
		"opinion": string(opinion.Disagree), "object_refs": []string{rid}, "explanation": strings.Repeat("x", pad),
	})
	postOK(t, tn, m, many, large)
	grown := reservation()
	if grown < small+tallyFactor*int64(pad) {
		t.Errorf("reservation after an opinion of %d bytes = %d, want at least %d", len(large), grown, small+tallyFactor*int64(pad))
	}
	if grown > budget/4 {
		t.Errorf("reservation after an opinion of %d bytes = %d, more than a quarter of the %d-byte budget", len(large), grown, budget)
	}
	within("a large opinion", grown)

	// Its next version, of < (six bytes each if the answer escaped HTML).
	markup := object(t, m.Key, map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": "opinion--00000000-0000-4000-8000-000000000005", "created_by_ref": m.ID,
		"created": stix.FormatTimestamp(t0), "modified": stix.FormatTimestamp(t0.Add(2 * time.Minute)),
		"opinion": string(opinion.Disagree), "object_refs": []string{rid}, "explanation": strings.Repeat("<", pad),
	})
	postOK(t, tn, m, many, markup)
	within("a large opinion of <", reservation())
}

// TestConcurrenceAcrossKeyRotation: an opinion counts when it is signed by
// the key the log shows in force for its member at the opinion's position,
// as the client's check has it (docs/signatures.md, "Verifying"), not by
// the member's key today. Before the fix, a member's key rotation dropped
// every opinion it had signed before it from the node's tally, and
// `parley concurrence` then flagged an honest node's answer as not
// following from the evidence (found by h/indep with the demo's report).
func TestConcurrenceAcrossKeyRotation(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	a, b := tn.alice, tn.bob
	report, rid := testReport(t, tn, a)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.shared, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 0, opinion.StronglyAgree, false, rid))
	postOK(t, tn, b, tn.shared, testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b1", 0, opinion.Disagree, false, rid))

	// Alice rotates (her own, signed by her previous key); Bob's key is
	// rotated on the operator's word. Neither re-signs anything.
	for _, m := range []testMember{a, b} {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var stmt []byte
		if m.ID == a.ID {
			stmt = ed25519.Sign(m.Key, tlog.RotationMessage(m.Key.Public().(ed25519.PublicKey), pub))
		}
		if err := tn.RotateKey(ctx, m.ID, pub, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// A version signed by Alice's old key after the rotation, planted
	// behind the pipeline's back, must not count: her old key is out of
	// force at its position.
	plant(t, tn, tn.shared, a.ID, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 5, opinion.StronglyDisagree, false, rid))

	code, conc := getConcurrence(t, tn, a.Token, rid)
	if code != http.StatusOK {
		t.Fatalf("GET /concurrence = %d", code)
	}
	want := map[opinion.Value]int{opinion.StronglyAgree: 1, opinion.Disagree: 1}
	for _, v := range opinion.Values {
		if conc.Counts[v] != want[v] {
			t.Errorf("count of %s = %d, want %d (votes %+v)", v, conc.Counts[v], want[v], conc.Votes)
		}
	}
	if conc.Voices != 2 {
		t.Errorf("voices = %d, want 2", conc.Voices)
	}
	if _, err := opinion.VerifyConcurrence(conc, tn.VerifierKey()); err != nil {
		t.Errorf("the node's answer doesn't verify: %v", err)
	}
}

// TestConcurrenceOnlyReadersAndLoggedKeys: only the opinions of members
// who may read the object count (a member who can write a collection the
// asker reads, but can't read the object, once made "3 of 2 members with
// access"); and each opinion is verified with the key its member had in
// force when it was logged, as clients verify it (the node used the
// current key, so after a rotation it dropped the member's earlier
// opinions and every client's check of the honest node's answer failed).
func TestConcurrenceOnlyReadersAndLoggedKeys(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	a, b := tn.alice, tn.bob
	// dave writes "board", which alice reads; he can't read shared.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nm, err := tn.AddMember(ctx, "dave", pub)
	if err != nil {
		t.Fatal(err)
	}
	d := testMember{ID: nm.ID, Token: nm.Token, Key: priv, Client: &taxii.Client{BaseURL: tn.URL, Token: nm.Token}}
	board, err := tn.AddCollection(ctx, "board", "", []string{"alice"}, []string{"alice", "dave"}, "")
	if err != nil {
		t.Fatal(err)
	}
	report, rid := testReport(t, tn, a)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.shared, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 0, opinion.Agree, false, rid))
	postOK(t, tn, b, tn.shared, testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b1", 1, opinion.Disagree, false, rid))
	postOK(t, tn, d, board, testOpinion(t, d, "opinion--00000000-0000-4000-8000-0000000000d1", 2, opinion.StronglyAgree, false, rid))

	vkey := tn.VerifierKey()
	check := func(step, who, token string, want map[opinion.Value]int, access int) opinion.Concurrence {
		t.Helper()
		code, conc := getConcurrence(t, tn, token, rid)
		if code != http.StatusOK {
			t.Fatalf("%s: %s: GET /concurrence = %d", step, who, code)
		}
		for _, v := range opinion.Values {
			if conc.Counts[v] != want[v] {
				t.Errorf("%s: %s: count of %s = %d, want %d", step, who, v, conc.Counts[v], want[v])
			}
		}
		if conc.MembersWithAccess != access || conc.Voices > conc.MembersWithAccess {
			t.Errorf("%s: %s: %d voices of %d members with access, want at most %d of %d", step, who, conc.Voices, conc.MembersWithAccess, access, access)
		}
		if _, err := opinion.VerifyConcurrence(conc, vkey); err != nil {
			t.Errorf("%s: %s: the node's answer doesn't verify: %v", step, who, err)
		}
		return conc
	}
	both := map[opinion.Value]int{opinion.Agree: 1, opinion.Disagree: 1}
	conc := check("before", "alice", a.Token, both, 2)
	for _, it := range conc.Evidence.Items {
		if it.Member == d.ID {
			t.Errorf("alice's evidence holds dave's opinion, who can't read the object")
		}
	}
	check("before", "bob", b.Token, both, 2)

	// Alice rotates her key: her opinion, logged under the old one, still
	// counts, for the node and for the clients.
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	if err := tn.RotateKey(ctx, a.ID, pub2, nil); err != nil {
		t.Fatal(err)
	}
	check("rotated", "alice", a.Token, both, 2)
	check("rotated", "bob", b.Token, both, 2)
	// A version signed with her old key but logged after the rotation (a
	// stolen key, planted) counts for neither; her new key's does.
	plant(t, tn, tn.shared, a.ID, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 5, opinion.StronglyDisagree, false, rid))
	check("planted", "bob", b.Token, both, 2)
	a2 := a
	a2.Key = priv2
	postOK(t, tn, a2, tn.shared, testOpinion(t, a2, "opinion--00000000-0000-4000-8000-0000000000a1", 6, opinion.Neutral, false, rid))
	check("new key", "bob", b.Token, map[opinion.Value]int{opinion.Neutral: 1, opinion.Disagree: 1}, 2)
}

// TestConcurrenceKeyEntryLeftOut: a lying node plants a version of
// alice's opinion signed with her key after the log ended it (her own
// rotation, one the operator asserted, a key revocation, her revocation),
// and serves evidence that leaves the ending entry out, so that her old
// key looks in force at the planted version and it counts. The evidence's
// key index lists the entry left out and the client refuses it; the
// honest answer, the planted version not counted, verifies.
func TestConcurrenceKeyEntryLeftOut(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"member-signed rotation", "operator rotation", "key revocation", "member revocation"} {
		t.Run(kind, func(t *testing.T) {
			tn := newTestNode(t)
			a, b := tn.alice, tn.bob
			report, rid := testReport(t, tn, a)
			postOK(t, tn, a, tn.shared, report)
			postOK(t, tn, a, tn.shared, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 0, opinion.StronglyAgree, false, rid))
			postOK(t, tn, b, tn.shared, testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b1", 0, opinion.Disagree, false, rid))
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			var err error
			switch kind {
			case "member-signed rotation":
				err = tn.RotateKey(ctx, a.ID, pub, ed25519.Sign(a.Key, tlog.RotationMessage(a.Key.Public().(ed25519.PublicKey), pub)))
			case "operator rotation":
				err = tn.RotateKey(ctx, a.ID, pub, nil)
			case "key revocation":
				err = tn.RevokeKey(ctx, a.ID)
			case "member revocation":
				err = tn.RevokeMember(ctx, a.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			plant(t, tn, tn.shared, a.ID, testOpinion(t, a, "opinion--00000000-0000-4000-8000-0000000000a1", 5, opinion.StronglyDisagree, false, rid))

			code, honest := getConcurrence(t, tn, b.Token, rid)
			if code != http.StatusOK {
				t.Fatalf("GET /concurrence = %d", code)
			}
			if honest.Counts[opinion.StronglyDisagree] != 0 || honest.Counts[opinion.StronglyAgree] != 1 {
				t.Errorf("honest counts %v: the planted version counted", honest.Counts)
			}
			if _, err := opinion.VerifyConcurrence(honest, tn.VerifierKey()); err != nil {
				t.Fatalf("the honest answer doesn't verify: %v", err)
			}

			// The lie: alice's last key entry left out, the tally recounted
			// with the keys the rest show.
			forged := honest
			j, _ := json.Marshal(honest.Evidence)
			json.Unmarshal(j, &forged.Evidence)
			ended := -1
			for i, k := range forged.Evidence.Keys {
				if e, _ := tlog.ParseEntry(k.Entry); e.Member == a.ID {
					ended = i
				}
			}
			forged.Evidence.Keys = append(forged.Evidence.Keys[:ended], forged.Evidence.Keys[ended+1:]...)
			cp, keys, err := forged.Evidence.Open()
			if err != nil {
				t.Fatal(err)
			}
			var ops []opinion.Opinion
			for _, it := range forged.Evidence.Items {
				op, _ := opinion.VerifyLogged(it.Object, it.Member, it.LogIndex, keys)
				ops = append(ops, op)
			}
			forged.Tally = opinion.Compute(rid, ops)
			forged.Voices = forged.Tally.Voices()
			if forged.Counts[opinion.StronglyDisagree] != 1 {
				t.Fatalf("the forged evidence (checkpoint %d) doesn't make the planted version count: %v", cp.Size, forged.Counts)
			}
			_, err = opinion.VerifyConcurrence(forged, tn.VerifierKey())
			if !errors.Is(err, opinion.ErrEvidence) || !strings.Contains(err.Error(), "leaves out member key entry") {
				t.Errorf("VerifyConcurrence(evidence without alice's %s) = %v, want it refused", kind, err)
			}
		})
	}
}

// reportVersion returns a version of the report id by m, modified at
// modified, revoked or not.
func reportVersion(t *testing.T, m testMember, id, modified string, revoked bool) json.RawMessage {
	t.Helper()
	o := map[string]any{
		"type": "report", "spec_version": "2.1", "id": id, "created_by_ref": m.ID,
		"created": "2026-02-01T00:00:00.000Z", "modified": modified,
		"name": "attribution of the test campaign", "published": "2026-02-01T00:00:00Z",
		"object_refs": []string{"intrusion-set--7a1e0c52-4b3d-4e0f-9a21-000000000001"},
	}
	if revoked {
		o["revoked"] = true
	}
	return object(t, m.Key, o)
}

// TestConcurrenceObjectRevoked: object_revoked says whether the latest
// version of the object the asker may read is revoked, and
// object_latest_version which version that is; a revocation in a
// collection the asker can't read says nothing to it, and an object it
// can't read is still a 404, revoked or not.
func TestConcurrenceObjectRevoked(t *testing.T) {
	tn := newTestNode(t)
	a, b, c := tn.alice, tn.bob, tn.carol
	const v1, v2 = "2026-02-01T00:00:00.000Z", "2026-02-02T00:00:00.000Z"
	rid := stix.NewIdentifier("report")
	report := reportVersion(t, a, rid, v1, false)
	postOK(t, tn, a, tn.shared, report)
	postOK(t, tn, a, tn.optional, report)
	postOK(t, tn, b, tn.shared, testOpinion(t, b, "opinion--00000000-0000-4000-8000-0000000000b1", 0, opinion.Agree, false, rid))
	// The report's next version, revoked by its author, first only where
	// Carol and Alice read, not Bob.
	revoked := reportVersion(t, a, rid, v2, true)
	postOK(t, tn, a, tn.optional, revoked)
	vkey := tn.VerifierKey()
	check := func(who, token string, wantRevoked bool, wantVersion string) {
		t.Helper()
		code, conc := getConcurrence(t, tn, token, rid)
		if code != http.StatusOK {
			t.Fatalf("%s: GET /concurrence = %d", who, code)
		}
		if conc.ObjectRevoked != wantRevoked || conc.ObjectLatestVersion != wantVersion {
			t.Errorf("%s: object_revoked %v, object_latest_version %q; want %v, %q", who, conc.ObjectRevoked, conc.ObjectLatestVersion, wantRevoked, wantVersion)
		}
		if _, err := opinion.VerifyConcurrence(conc, vkey); err != nil {
			t.Errorf("%s: the node's answer doesn't verify: %v", who, err)
		}
		// On the wire, always present.
		_, body := rawGet(t, tn.URL+"/concurrence?object="+url.QueryEscape(rid), token)
		if !strings.Contains(body, fmt.Sprintf(`"object_revoked":%v`, wantRevoked)) {
			t.Errorf("%s: the answer has no \"object_revoked\":%v: %.300s", who, wantRevoked, body)
		}
	}
	check("alice", a.Token, true, v2)
	check("carol", c.Token, true, v2)
	check("bob", b.Token, false, v1) // the revocation is where he can't read
	// Revoked where Bob reads too.
	postOK(t, tn, a, tn.shared, revoked)
	check("bob", b.Token, true, v2)
	// A revoked object only in Bob's private collection is a 404 to
	// Alice, exactly as an unknown id.
	hid, unknown := stix.NewIdentifier("report"), stix.NewIdentifier("report")
	postOK(t, tn, b, tn.private, reportVersion(t, b, hid, v1, false))
	postOK(t, tn, b, tn.private, reportVersion(t, b, hid, v2, true))
	hc, hb := rawGet(t, tn.URL+"/concurrence?object="+url.QueryEscape(hid), a.Token)
	uc, ub := rawGet(t, tn.URL+"/concurrence?object="+url.QueryEscape(unknown), a.Token)
	if hc != http.StatusNotFound || uc != http.StatusNotFound || strings.ReplaceAll(hb, hid, "ID") != strings.ReplaceAll(ub, unknown, "ID") {
		t.Errorf("alice on bob's revoked private report: %d %q; on an unknown id: %d %q", hc, hb, uc, ub)
	}
}
