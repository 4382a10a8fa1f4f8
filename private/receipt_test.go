package private

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// mth and path are RFC 9162 section 2.1.1 and 2.1.3.1 written directly
// from the definitions, independent of the code under test.
func mth(leaves []tlog.Hash) tlog.Hash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func path(m int, leaves []tlog.Hash) []tlog.Hash {
	if len(leaves) == 1 {
		return nil
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	if m < k {
		return append(path(m, leaves[:k]), mth(leaves[k:]))
	}
	return append(path(m-k, leaves[k:]), mth(leaves[:k]))
}

type receiptFixture struct {
	verifier note.Verifier
	receipt  KeyReceipt
	key      *PublicKey
	signer   note.Signer
	leaves   [][]byte
	opening  tlog.Opening
}

func newReceiptFixture(t testing.TB, key *PublicKey, setID string) receiptFixture {
	t.Helper()
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "parley.test/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	for i := range 5 {
		leaves = append(leaves, []byte(fmt.Sprintf(`{"filler":%d}`, i)))
	}
	op := tlog.Opening{Salt: bytes.Repeat([]byte{9}, tlog.SaltSize), ObjectID: setID, Collection: "c1", Member: "identity--p", Version: "2025-12-31T23:59:59.5Z"}
	e := tlog.Entry{Kind: tlog.KindOPRFKey, Received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Commitment: tlog.OPRFKeyCommitment(op, SuiteID, key.Bytes())}
	leaf, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	leaves = append(leaves[:3], append([][]byte{leaf}, leaves[3:]...)...)
	f := receiptFixture{verifier: verifier, key: key, signer: signer, leaves: leaves, opening: op}
	f.receipt = f.receiptAt(t, 3)
	return f
}

func (f receiptFixture) receiptAt(t testing.TB, index int) KeyReceipt {
	t.Helper()
	hashes := make([]tlog.Hash, len(f.leaves))
	for i, l := range f.leaves {
		hashes[i] = tlog.LeafHash(l)
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "parley.test/log", Size: uint64(len(hashes)), Hash: mth(hashes)}, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	return KeyReceipt{LogIndex: uint64(index), TreeSize: uint64(len(hashes)), Entry: f.leaves[index], Opening: f.opening,
		InclusionProof: path(index, hashes), Checkpoint: string(cp)}
}

// withdrawn is f with an oprf-withdrawal entry of its set's key entry
// (leaf 3) appended, received at received, its opening stating version;
// it returns the grown fixture, the withdrawal's opening and its receipt.
func (f receiptFixture) withdrawn(t testing.TB, received time.Time, version string) (receiptFixture, tlog.Opening, KeyReceipt) {
	t.Helper()
	keyEntry, err := tlog.ParseEntry(f.leaves[3])
	if err != nil {
		t.Fatal(err)
	}
	op := f.opening
	op.Salt = bytes.Repeat([]byte{7}, tlog.SaltSize)
	op.Version = version
	leaf, err := tlog.Entry{Kind: tlog.KindOPRFWithdrawal, Received: received, Commitment: tlog.OPRFWithdrawalCommitment(op, keyEntry.Commitment)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g := f
	g.leaves = append(append([][]byte(nil), f.leaves...), leaf)
	return g, op, g.receiptAt(t, len(g.leaves)-1)
}

func TestKeyReceipt(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	if err := f.receipt.Verify(f.verifier, "set1", p.PublicKey()); err != nil {
		t.Fatalf("a good receipt fails: %v", err)
	}
	other := newTestProvider(t, 2).PublicKey()
	_, otherV, _ := tlog.NewNodeKey(rand.Reader, "parley.test/log")
	otherVerifier, _ := tlog.NewVerifier(otherV)

	tamperedProof := f.receipt
	tamperedProof.InclusionProof = append([]tlog.Hash(nil), f.receipt.InclusionProof...)
	tamperedProof.InclusionProof[0][0] ^= 1
	wrongIndex := f.receipt
	wrongIndex.LogIndex = 2
	filler := f.receiptAt(t, 1) // a valid receipt of an entry that is not a key entry
	otherOpening := f.receipt
	otherOpening.Opening.Collection = "c2" // the set claimed for another collection
	otherSalt := f.receipt
	otherSalt.Opening.Salt = bytes.Repeat([]byte{8}, tlog.SaltSize)

	for name, tc := range map[string]struct {
		r     KeyReceipt
		v     note.Verifier
		setID string
		key   *PublicKey
	}{
		"a key not in the log":        {f.receipt, f.verifier, "set1", other},
		"another set":                 {f.receipt, f.verifier, "set2", p.PublicKey()},
		"a checkpoint by another key": {f.receipt, otherVerifier, "set1", p.PublicKey()},
		"a tampered proof":            {tamperedProof, f.verifier, "set1", p.PublicKey()},
		"a wrong index":               {wrongIndex, f.verifier, "set1", p.PublicKey()},
		"not a key entry":             {filler, f.verifier, "set1", p.PublicKey()},
		"another opening":             {otherOpening, f.verifier, "set1", p.PublicKey()},
		"another salt":                {otherSalt, f.verifier, "set1", p.PublicKey()},
	} {
		if err := tc.r.Verify(tc.v, tc.setID, tc.key); !errors.Is(err, ErrKeyNotInLog) {
			t.Errorf("%s: Verify = %v, want ErrKeyNotInLog", name, err)
		}
	}
}

// TestWithdrawnReceiptTime: a withdrawal receipt's opening states the
// withdrawal's time (what parley private receipt prints), which must be
// the received time of its log entry, the one the log orders and
// witnesses bound: an opening that claims another time, though committed
// to, doesn't verify.
func TestWithdrawnReceiptTime(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	received := time.Date(2026, 2, 1, 0, 0, 0, 123456789, time.UTC)
	withdrawal := func(version string) KeyReceipt {
		g, op, wr := f.withdrawn(t, received, version)
		rc := g.receiptAt(t, 3)
		rc.Withdrawal = &WithdrawalReceipt{Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Created: time.Date(2025, 12, 31, 23, 59, 59, 5e8, time.UTC), Withdrawn: received,
			LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: op, InclusionProof: wr.InclusionProof, Checkpoint: wr.Checkpoint}
		return rc
	}
	for _, version := range []string{received.Format(time.RFC3339Nano), "2026-02-01T00:00:00.123456789Z"} {
		rc := withdrawal(version)
		if _, err := rc.VerifyWithdrawn(f.verifier, "set1"); err != nil {
			t.Errorf("a withdrawal at its entry's time (%s) fails: %v", version, err)
		}
	}
	for _, version := range []string{"2026-01-15T00:00:00Z", "", "yesterday"} {
		rc := withdrawal(version)
		if _, err := rc.VerifyWithdrawn(f.verifier, "set1"); !errors.Is(err, ErrKeyNotInLog) {
			t.Errorf("a withdrawal claiming time %q, logged at %s: VerifyWithdrawn = %v, want ErrKeyNotInLog", version, received.Format(time.RFC3339Nano), err)
		}
	}
}

// TestWithdrawnReceiptStatedTimes: the set's creation and withdrawal
// times a withdrawal receipt states beside its entries (Created,
// Withdrawn, which a kept receipt shows) must be the ones the log
// commits to, the key entry's opening's and the withdrawal entry's
// received time: a node can't hand a receipt with made-up times.
func TestWithdrawnReceiptStatedTimes(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	received := time.Date(2026, 2, 1, 0, 0, 0, 123456789, time.UTC)
	g, op, wr := f.withdrawn(t, received, received.Format(time.RFC3339Nano))
	created := time.Date(2025, 12, 31, 23, 59, 59, 5e8, time.UTC)
	withdrawal := func(created, withdrawn time.Time) KeyReceipt {
		rc := g.receiptAt(t, 3)
		rc.Withdrawal = &WithdrawalReceipt{Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Created: created, Withdrawn: withdrawn,
			LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: op, InclusionProof: wr.InclusionProof, Checkpoint: wr.Checkpoint}
		return rc
	}
	good := withdrawal(created.In(time.FixedZone("x", 3600)), received)
	if _, err := good.VerifyWithdrawn(f.verifier, "set1"); err != nil {
		t.Fatalf("a withdrawal with its log's times fails: %v", err)
	}
	for name, rc := range map[string]KeyReceipt{
		"a made-up withdrawal time":     withdrawal(created, received.Add(-24*time.Hour)),
		"a withdrawal time a tick late": withdrawal(created, received.Add(time.Nanosecond)),
		"no withdrawal time":            withdrawal(created, time.Time{}),
		"a made-up creation time":       withdrawal(created.Add(-30*24*time.Hour), received),
		"no creation time":              withdrawal(time.Time{}, received),
	} {
		if _, err := rc.VerifyWithdrawn(f.verifier, "set1"); !errors.Is(err, ErrKeyNotInLog) {
			t.Errorf("%s: VerifyWithdrawn = %v, want ErrKeyNotInLog", name, err)
		}
		saved := SavedReceipt{Set: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Receipt: rc}
		if err := saved.Verify(f.verifier); !errors.Is(err, ErrKeyNotInLog) {
			t.Errorf("%s: SavedReceipt.Verify = %v, want ErrKeyNotInLog", name, err)
		}
	}
}

// TestSavedReceiptTimes: under a witness policy, the withdrawal time a
// saved receipt shows (its entry's) must agree with the cosignatures of
// its checkpoint, as an object receipt's does: a withdrawal logged as of
// February 1 in a tree a witness cosigned on January 20 is post-dated.
// Before, parley verify --receipt --witness-policy checked only that the
// quorum cosigned, and printed the post-dated time as the withdrawal's.
func TestSavedReceiptTimes(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	keyEntry, err := tlog.ParseEntry(f.leaves[3])
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.test/w")
	if err != nil {
		t.Fatal(err)
	}
	witness, err := tlog.ParseCosignerKey(wskey, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	cosign := func(n string, at time.Time) string {
		parsed, err := note.Open([]byte(n), note.VerifierList(f.verifier))
		if err != nil {
			t.Fatal(err)
		}
		b, err := note.Sign(parsed, witness.At(at))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	received := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	saved := func(cosigned time.Time) *SavedReceipt {
		_, op, wr := f.withdrawn(t, received, received.Format(time.RFC3339Nano))
		rc := f.receipt
		rc.Checkpoint = cosign(rc.Checkpoint, keyEntry.Received.Add(time.Hour))
		created, err := time.Parse(time.RFC3339Nano, f.opening.Version)
		if err != nil {
			t.Fatal(err)
		}
		rc.Withdrawal = &WithdrawalReceipt{Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Created: created, Withdrawn: received,
			LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: op, InclusionProof: wr.InclusionProof, Checkpoint: cosign(wr.Checkpoint, cosigned)}
		s := &SavedReceipt{Set: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Receipt: rc}
		if err := s.Verify(f.verifier); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := saved(received.Add(time.Minute)).CheckTimes(f.verifier, pol, 0); err != nil {
		t.Errorf("a withdrawal cosigned a minute after it was logged: %v", err)
	}
	err = saved(time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)).CheckTimes(f.verifier, pol, 0)
	if !errors.Is(err, ErrKeyNotInLog) || !strings.Contains(err.Error(), "entry 6") {
		t.Errorf("a withdrawal logged as of %s in a tree cosigned on January 20: %v, want ErrKeyNotInLog naming entry 6", received.Format(time.RFC3339), err)
	}
}

// TestKeyReceiptOpeningVersion: the key entry's opening states the set's
// creation (its version), which the entry's commitment doesn't cover. A
// receipt whose version was changed by hand still opens the commitment
// and its checkpoint still verifies (the note signs the entry, not the
// opening), so the version is held to the entry: no later than its
// received time, to the microsecond the log keeps. Before, any string
// passed, and a withdrawn receipt's created time (checked against it)
// could be made up with it.
func TestKeyReceiptOpeningVersion(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	// received: 2026-01-01T00:00:00Z.
	for _, version := range []string{"2025-12-31T23:59:59.5Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000999Z", "2026-01-01T01:00:00+01:00"} {
		rc := f.receipt
		rc.Opening.Version = version
		if err := rc.Verify(f.verifier, "set1", p.PublicKey()); err != nil {
			t.Errorf("a key entry whose opening states the set created at %s, received at 2026-01-01T00:00:00Z: %v", version, err)
		}
	}
	for _, version := range []string{"2026-01-01T00:00:00.000001Z", "2027-01-01T00:00:00Z", "", "yesterday", "2025-12-31T23:59:59.5"} {
		rc := f.receipt
		rc.Opening.Version = version
		err := rc.Verify(f.verifier, "set1", p.PublicKey())
		if !errors.Is(err, ErrKeyNotInLog) || !strings.Contains(err.Error(), "created at") || strings.Contains(err.Error(), "\n") {
			t.Errorf("a key entry whose opening states the set created at %q, received at 2026-01-01T00:00:00Z: Verify = %v, want a one-line ErrKeyNotInLog", version, err)
		}
		saved := SavedReceipt{Set: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Receipt: rc}
		if err := saved.Verify(f.verifier); !errors.Is(err, ErrKeyNotInLog) {
			t.Errorf("a saved receipt whose opening states the set created at %q: Verify = %v, want ErrKeyNotInLog", version, err)
		}
	}

	// A withdrawn set's receipt: the stated creation and the opening's
	// version moved back together, a month earlier, still agree with
	// each other; the ones moved past the key entry's time are refused.
	received := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	g, op, wr := f.withdrawn(t, received, received.Format(time.RFC3339Nano))
	for version, ok := range map[string]bool{"2025-12-01T00:00:00Z": true, "2026-01-15T00:00:00Z": false} {
		rc := g.receiptAt(t, 3)
		rc.Opening.Version = version
		created, err := time.Parse(time.RFC3339Nano, version)
		if err != nil {
			t.Fatal(err)
		}
		rc.Withdrawal = &WithdrawalReceipt{Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Created: created, Withdrawn: received,
			LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: op, InclusionProof: wr.InclusionProof, Checkpoint: wr.Checkpoint}
		if _, err := rc.VerifyWithdrawn(f.verifier, "set1"); (err == nil) != ok {
			t.Errorf("a withdrawn set's receipt stating it created at %s (key entry received 2026-01-01): VerifyWithdrawn = %v, want ok %v", version, err, ok)
		}
	}
}

// TestVerifySetCreated: the set's description (GET /private/sets/{id})
// states its creation, which the node stamps as the key entry's opening
// version: a receipt and a description that disagree on it are refused.
func TestVerifySetCreated(t *testing.T) {
	p := newTestProvider(t, 1)
	f := newReceiptFixture(t, p.PublicKey(), "set1")
	saved := SavedReceipt{Set: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Receipt: f.receipt}
	info := SetInfo{ID: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Collection: "c1", Provider: "identity--p"}
	for _, created := range []time.Time{{}, time.Date(2025, 12, 31, 23, 59, 59, 5e8, time.UTC), time.Date(2026, 1, 1, 0, 59, 59, 5e8, time.FixedZone("x", 3600))} {
		info.Created = created
		if err := saved.VerifySet(f.verifier, info); err != nil {
			t.Errorf("a description stating the set created at %v, as its key entry's opening: %v", created, err)
		}
	}
	for _, created := range []time.Time{time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} {
		info.Created = created
		if err := saved.VerifySet(f.verifier, info); !errors.Is(err, ErrKeyNotInLog) || !strings.Contains(err.Error(), "created at") {
			t.Errorf("a description stating the set created at %v, its key entry's opening 2025-12-31T23:59:59.5Z: VerifySet = %v, want ErrKeyNotInLog", created, err)
		}
	}
}

// TestParseSetInfoListBounded: a list of set descriptions (GET
// /private/sets) is read one at a time and holds at most
// tlog.MaxJSONElements: decoded whole, a file of "{}," repeated took a
// slice header and a copy of each, over 10 times its size, live. The
// described set is found in a list as before, its unknown fields
// returned, and a list with a malformed description, or not JSON, is
// refused.
func TestParseSetInfoListBounded(t *testing.T) {
	over := `[` + strings.Repeat(`{},`, tlog.MaxJSONElements) + `{}]`
	if _, _, err := ParseSetInfo([]byte(over), "set1"); err == nil || !strings.Contains(err.Error(), "more than 65536 sets") {
		t.Errorf("a list of %d descriptions: %v, want a refusal", tlog.MaxJSONElements+1, err)
	}
	list := ` [{"id":"set0","suite":"x"}, {"id":"set1","suite":"` + SuiteID + `","later":1}, {"id":"set1","suite":"second"}]`
	info, unknown, err := ParseSetInfo([]byte(list), "set1")
	if err != nil || info.Suite != SuiteID || len(unknown) != 1 || unknown[0] != "later" {
		t.Errorf("set1 in a list: %+v, %q, %v", info, unknown, err)
	}
	if _, _, err := ParseSetInfo([]byte(list), "set9"); err == nil || !strings.Contains(err.Error(), "no description of set set9") {
		t.Errorf("a set not in the list: %v", err)
	}
	for _, bad := range []string{`[{"id":"set1"},{"ID":"x"}]`, `[{"id":"set1"},{"id":"x","id":"y"}]`, `[{"id":"set1"},`, `[{"id":"set1"}] []`, `[{"id":"set1"},1]`} {
		if _, _, err := ParseSetInfo([]byte(bad), "set1"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if info, _, err := ParseSetInfo([]byte(`{"id":"set1","size":3}`), "set1"); err != nil || info.Size != 3 {
		t.Errorf("one description: %+v, %v", info, err)
	}
}
