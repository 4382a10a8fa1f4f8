package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"
)

// Fixed values of the golden entries.
const (
	goldenCommit    = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	goldenKey1      = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	goldenKey3      = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
	goldenStatement = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=="
	goldenMember    = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
	goldenReceived  = "2026-11-24T20:01:02.345Z"
)

var (
	goldenTime = time.Date(2026, 11, 24, 20, 1, 2, 345000000, time.UTC)
	key1       = ed25519.PublicKey(bytes.Repeat([]byte{1}, 32))
	key3       = ed25519.PublicKey(bytes.Repeat([]byte{3}, 32))
	statement2 = bytes.Repeat([]byte{2}, 64)
)

// goldenEntries are one entry of every kind, event and authority shape,
// with their exact leaf bytes.
var goldenEntries = []struct {
	name string
	e    Entry
	leaf string
}{
	{"object", Entry{Kind: KindObject, Received: goldenTime, Commitment: goldenCommit},
		`{"commitment":"` + goldenCommit + `","kind":"object","received":"` + goldenReceived + `"}`},
	{"object whole second", Entry{Kind: KindObject, Received: time.Date(2026, 11, 24, 20, 1, 2, 0, time.UTC), Commitment: goldenCommit},
		`{"commitment":"` + goldenCommit + `","kind":"object","received":"2026-11-24T20:01:02Z"}`},
	{"object nanoseconds", Entry{Kind: KindObject, Received: time.Date(2026, 11, 24, 20, 1, 2, 120, time.UTC), Commitment: goldenCommit},
		`{"commitment":"` + goldenCommit + `","kind":"object","received":"2026-11-24T20:01:02.00000012Z"}`},
	{"oprf-key", Entry{Kind: KindOPRFKey, Received: goldenTime, Commitment: goldenCommit},
		`{"commitment":"` + goldenCommit + `","kind":"oprf-key","received":"` + goldenReceived + `"}`},
	{"register", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRegister, Key: key1, Authority: AuthorityOperator},
		`{"authority":"operator","event":"register","key":"` + goldenKey1 + `","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `"}`},
	{"register without key", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRegister, Authority: AuthorityOperator},
		`{"authority":"operator","event":"register","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `"}`},
	{"rotate by member", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRotate, Key: key3, Authority: AuthorityMember, Statement: statement2},
		`{"authority":"member","event":"rotate","key":"` + goldenKey3 + `","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `","statement":"` + goldenStatement + `"}`},
	{"rotate by operator", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRotate, Key: key3, Authority: AuthorityOperator},
		`{"authority":"operator","event":"rotate","key":"` + goldenKey3 + `","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `"}`},
	{"revoke-key", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRevokeKey, Key: key1, Authority: AuthorityOperator},
		`{"authority":"operator","event":"revoke-key","key":"` + goldenKey1 + `","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `"}`},
	{"revoke-member", Entry{Kind: KindMemberKey, Received: goldenTime, Member: goldenMember, Event: EventRevokeMember, Authority: AuthorityOperator},
		`{"authority":"operator","event":"revoke-member","kind":"member-key","member":"` + goldenMember + `","received":"` + goldenReceived + `"}`},
	{"oprf-withdrawal", Entry{Kind: KindOPRFWithdrawal, Received: goldenTime, Commitment: goldenCommit},
		`{"commitment":"` + goldenCommit + `","kind":"oprf-withdrawal","received":"` + goldenReceived + `"}`},
}

// equalEntry compares entries field by field (times as instants, absent
// and empty byte strings apart: nil is "absent").
func equalEntry(a, b Entry) bool {
	return a.Kind == b.Kind && a.Received.Equal(b.Received) && a.Commitment == b.Commitment && a.Member == b.Member &&
		a.Event == b.Event && a.Authority == b.Authority &&
		(a.Key == nil) == (b.Key == nil) && bytes.Equal(a.Key, b.Key) &&
		(a.Statement == nil) == (b.Statement == nil) && bytes.Equal(a.Statement, b.Statement)
}

func TestEntryGolden(t *testing.T) {
	for _, g := range goldenEntries {
		got, err := g.e.Marshal()
		if err != nil {
			t.Errorf("%s: Marshal: %v", g.name, err)
			continue
		}
		if string(got) != g.leaf {
			t.Errorf("%s: Marshal:\n got %s\nwant %s", g.name, got, g.leaf)
		}
		back, err := ParseEntry([]byte(g.leaf))
		if err != nil {
			t.Errorf("%s: ParseEntry: %v", g.name, err)
			continue
		}
		if !equalEntry(back, g.e) {
			t.Errorf("%s: round trip: got %+v want %+v", g.name, back, g.e)
		}
		if back.Received.Location() != time.UTC {
			t.Errorf("%s: parsed time in %v", g.name, back.Received.Location())
		}
	}
}

// TestParseEntryRefusesV1: a format v1 entry (object id, collection,
// member and version in clear, no "kind") is refused with ErrOldFormat and
// a message that says what to do.
func TestParseEntryRefusesV1(t *testing.T) {
	v1 := `{"collection":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","commitment":"` + goldenCommit +
		`","member":"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5","object_id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","received":"2026-11-24T20:01:02.345Z","version":"2016-04-06T20:03:48.000Z"}`
	_, err := ParseEntry([]byte(v1))
	if !errors.Is(err, ErrOldFormat) || !errors.Is(err, ErrMalformedEntry) {
		t.Fatalf("ParseEntry(v1) err = %v, want ErrOldFormat and ErrMalformedEntry", err)
	}
	for _, want := range []string{"format v1", `"kind"`, "format v2", "docs/log.md"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q doesn't say %q", err, want)
		}
	}
	// A v2 entry is never taken for a v1 one.
	for _, g := range goldenEntries {
		if _, err := ParseEntry([]byte(g.leaf)); errors.Is(err, ErrOldFormat) {
			t.Errorf("%s: %v", g.name, err)
		}
	}
	// A v1 OPRF key entry had a kind but showed the set's collection and
	// member: it is refused too.
	v1Key := `{"collection":"c","commitment":"` + goldenCommit + `","kind":"oprf-key","member":"m","object_id":"o","received":"2026-01-02T03:04:05.5Z","version":"v"}`
	if _, err := ParseEntry([]byte(v1Key)); !errors.Is(err, ErrMalformedEntry) {
		t.Errorf("ParseEntry(v1 OPRF key) err = %v", err)
	}
}

func TestEntryEscapes(t *testing.T) {
	e := goldenEntries[4].e
	e.Member = "a\"b\\c\n\x01é\u2028<>&\x7f"
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"member":"a\"b\\c\n\u0001é`+"\u2028"+`<>&`+"\x7f"+`"`)) {
		t.Fatalf("escapes not RFC 8785: %s", b)
	}
	if back, err := ParseEntry(b); err != nil || !equalEntry(back, e) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestParseEntryRejectsNonCanonical(t *testing.T) {
	object := goldenEntries[0].leaf
	register := goldenEntries[4].leaf
	rotate := goldenEntries[6].leaf
	cases := map[string]string{
		"empty":              ``,
		"not object":         `[]`,
		"empty object":       `{}`,
		"space":              strings.Replace(object, `:"`, `: "`, 1),
		"newline":            object + "\n",
		"unsorted":           `{"kind":"object","commitment":"` + goldenCommit + `","received":"` + goldenReceived + `"}`,
		"unknown member":     strings.Replace(object, `{`, `{"aaa":"x",`, 1),
		"v1 member":          strings.Replace(object, `{`, `{"collection":"c",`, 1),
		"duplicate":          strings.Replace(object, `"kind":"object"`, `"kind":"object","kind":"object"`, 1),
		"missing received":   `{"commitment":"` + goldenCommit + `","kind":"object"}`,
		"offset time":        strings.Replace(object, `.345Z`, `.345+00:00`, 1),
		"zeros in fraction":  strings.Replace(object, `.345Z`, `.3450Z`, 1),
		"non-UTC zone":       strings.Replace(object, `20:01:02.345Z`, `21:01:02.345+01:00`, 1),
		"lowercase z":        strings.Replace(object, `.345Z`, `.345z`, 1),
		"upper hex":          strings.Replace(object, goldenCommit, strings.ToUpper(goldenCommit), 1),
		"needless escape":    strings.Replace(register, `identity`, `\u0069dentity`, 1),
		"escaped slash":      strings.Replace(register, `"member":"`, `"member":"\/`, 1),
		"upper \\u escape":   strings.Replace(register, `identity`, "\\u001Fidentity", 1),
		"trailing":           object + " ",
		"leading":            " " + object,
		"number value":       `{"kind":1}`,
		"null value":         strings.Replace(object, `"object"`, `null`, 1),
		"key unpadded":       strings.Replace(register, goldenKey1, strings.TrimRight(goldenKey1, "="), 1),
		"key URL alphabet":   strings.Replace(register, goldenKey1, strings.Replace(goldenKey1, "A", "-", 1), 1),
		"key with newline":   strings.Replace(register, goldenKey1, goldenKey1[:20]+`\n`+goldenKey1[20:], 1),
		"key stray bits":     strings.Replace(register, goldenKey1, goldenKey1[:42]+"F=", 1),
		"statement unpadded": strings.Replace(rotate, goldenStatement, strings.TrimRight(goldenStatement, "="), 1),
		"empty key":          strings.Replace(register, goldenKey1, ``, 1),
		"truncated":          object[:len(object)-1],
		"unterminated":       `{"kind":"obj`,
		"control character":  strings.Replace(register, `identity`, "\x01identity", 1),
		"bad utf-8":          strings.Replace(register, `identity`, "\xffidentity", 1),
	}
	for name, in := range cases {
		if e, err := ParseEntry([]byte(in)); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("%s: ParseEntry(%q) = %+v, %v, want ErrMalformedEntry", name, in, e, err)
		}
	}
}

// rawLeaf encodes e as Marshal does but without its checks (and with
// present-but-empty key and statement kept), so that ParseEntry is shown
// canonical-looking bytes that break one rule.
func rawLeaf(e Entry) []byte {
	f := map[string]string{"kind": e.Kind, "received": formatTime(e.Received)}
	for name, v := range map[string]string{"authority": e.Authority, "commitment": e.Commitment, "event": e.Event, "member": e.Member} {
		if v != "" {
			f[name] = v
		}
	}
	if e.Key != nil {
		f["key"] = base64.StdEncoding.EncodeToString(e.Key)
	}
	if e.Statement != nil {
		f["statement"] = base64.StdEncoding.EncodeToString(e.Statement)
	}
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	b := []byte{'{'}
	for i, n := range names {
		b = appendMember(b, n, f[n], i > 0)
	}
	return append(b, '}')
}

// TestEntryRules breaks each rule of an entry's kind in turn: Marshal
// refuses the entry and ParseEntry its bytes, each saying which rule.
func TestEntryRules(t *testing.T) {
	object := func() Entry { return goldenEntries[0].e }
	oprf := func() Entry { return goldenEntries[3].e }
	rotate := func() Entry {
		e := goldenEntries[6].e
		e.Key, e.Statement = bytes.Clone(key3), bytes.Clone(statement2)
		return e
	}
	operator := func() Entry { e := goldenEntries[7].e; e.Key = bytes.Clone(key3); return e }
	revokeMember := func() Entry { return goldenEntries[9].e }
	cases := []struct {
		name string
		e    Entry
		mut  func(*Entry)
		want string
	}{
		{"zero time", object(), func(e *Entry) { e.Received = time.Time{} }, "received"},
		{"year 10000", object(), func(e *Entry) { e.Received = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "received"},
		{"year -1", object(), func(e *Entry) { e.Received = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "received"},
		{"short commitment", object(), func(e *Entry) { e.Commitment = "abcd" }, "64 lowercase hex"},
		{"long commitment", object(), func(e *Entry) { e.Commitment += "00" }, "64 lowercase hex"},
		{"upper commitment", object(), func(e *Entry) { e.Commitment = strings.ToUpper(e.Commitment) }, "64 lowercase hex"},
		{"non-hex commitment", object(), func(e *Entry) { e.Commitment = "g" + e.Commitment[1:] }, "64 lowercase hex"},
		{"no commitment", oprf(), func(e *Entry) { e.Commitment = "" }, "64 lowercase hex"},
		{"object with member", object(), func(e *Entry) { e.Member = goldenMember }, "only kind, received and commitment"},
		{"object with event", object(), func(e *Entry) { e.Event = EventRegister }, "only kind, received and commitment"},
		{"object with key", object(), func(e *Entry) { e.Key = key1 }, "only kind, received and commitment"},
		{"object with authority", object(), func(e *Entry) { e.Authority = AuthorityOperator }, "only kind, received and commitment"},
		{"object with statement", object(), func(e *Entry) { e.Statement = statement2 }, "only kind, received and commitment"},
		{"oprf-key with member", oprf(), func(e *Entry) { e.Member = goldenMember }, "only kind, received and commitment"},
		{"member-key with commitment", operator(), func(e *Entry) { e.Commitment = goldenCommit }, "no commitment"},
		{"no member", operator(), func(e *Entry) { e.Member = "" }, "member is empty"},
		{"member not UTF-8", operator(), func(e *Entry) { e.Member = "identity--\xff" }, "UTF-8"},
		{"short key", operator(), func(e *Entry) { e.Key = e.Key[:31] }, "key is not 32 bytes"},
		{"long key", operator(), func(e *Entry) { e.Key = append(e.Key, 0) }, "key is not 32 bytes"},
		{"empty key", operator(), func(e *Entry) { e.Key = ed25519.PublicKey{} }, "key is not 32 bytes"},
		{"unknown event", operator(), func(e *Entry) { e.Event = "replace" }, "unknown member key event"},
		{"no event", operator(), func(e *Entry) { e.Event = "" }, "unknown member key event"},
		{"rotate without key", operator(), func(e *Entry) { e.Key = nil }, "a rotate event needs a key"},
		{"revoke-key without key", operator(), func(e *Entry) { e.Event, e.Key = EventRevokeKey, nil }, "a revoke-key event needs a key"},
		{"revoke-member with key", revokeMember(), func(e *Entry) { e.Key = key1 }, "revoke-member event has no key"},
		{"member without statement", rotate(), func(e *Entry) { e.Statement = nil }, "needs a 64-byte statement"},
		{"short statement", rotate(), func(e *Entry) { e.Statement = e.Statement[:63] }, "needs a 64-byte statement"},
		{"operator with statement", operator(), func(e *Entry) { e.Statement = statement2 }, "operator-asserted event has no statement"},
		{"operator with empty statement", operator(), func(e *Entry) { e.Statement = []byte{} }, "operator-asserted event has no statement"},
		{"unknown authority", operator(), func(e *Entry) { e.Authority = "node" }, "unknown authority"},
		{"no authority", operator(), func(e *Entry) { e.Authority = "" }, "unknown authority"},
		{"empty kind", object(), func(e *Entry) { e.Kind = "" }, "kind is empty"},
		{"unknown kind", object(), func(e *Entry) { e.Kind = "objects" }, "unknown kind"},
	}
	for _, c := range cases {
		// Each base entry is valid, so the failure is the mutation's.
		if _, err := c.e.Marshal(); err != nil {
			t.Fatalf("%s: base entry: %v", c.name, err)
		}
		e := c.e
		c.mut(&e)
		if _, err := e.Marshal(); !errors.Is(err, ErrMalformedEntry) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Marshal err = %v, want ErrMalformedEntry saying %q", c.name, err, c.want)
		}
		raw := rawLeaf(e)
		if _, err := ParseEntry(raw); !errors.Is(err, ErrMalformedEntry) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ParseEntry(%s) err = %v, want ErrMalformedEntry saying %q", c.name, raw, err, c.want)
		}
	}
}

// lp is LP(s) written out by hand: a 4-byte big-endian length, then s.
func lp(s string) string {
	n := len(s)
	return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + s
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestObjectCommitment(t *testing.T) {
	salt := bytes.Repeat([]byte{0xa5}, SaltSize)
	op := Opening{Salt: salt, Collection: "c-1", ObjectID: "indicator--x", Version: "2026-01-01T00:00:00.000Z", Member: "identity--m"}
	obj := []byte(`{"id":"indicator--x"}`)
	want := sha256Hex("parley-object-commitment-v2\n" + string(salt) + "\x00\x00\x00\x03c-1" + "\x00\x00\x00\x0cindicator--x" +
		"\x00\x00\x00\x182026-01-01T00:00:00.000Z" + "\x00\x00\x00\x0bidentity--m" + string(obj))
	if got := ObjectCommitment(op, obj); got != want {
		t.Fatalf("ObjectCommitment = %s, want %s", got, want)
	}
	if want != sha256Hex("parley-object-commitment-v2\n"+string(salt)+lp(op.Collection)+lp(op.ObjectID)+lp(op.Version)+lp(op.Member)+string(obj)) {
		t.Fatal("lp helper disagrees with the hand-written lengths")
	}
	// Every field counts, and the length prefixes keep field boundaries:
	// moving a byte from one field to the next changes the commitment.
	for name, o := range map[string]Opening{
		"salt":       {Salt: append(bytes.Clone(salt[:31]), 0xa4), Collection: op.Collection, ObjectID: op.ObjectID, Version: op.Version, Member: op.Member},
		"collection": {Salt: salt, Collection: "c-2", ObjectID: op.ObjectID, Version: op.Version, Member: op.Member},
		"object id":  {Salt: salt, Collection: op.Collection, ObjectID: "indicator--y", Version: op.Version, Member: op.Member},
		"version":    {Salt: salt, Collection: op.Collection, ObjectID: op.ObjectID, Version: "2026-01-01T00:00:00.001Z", Member: op.Member},
		"member":     {Salt: salt, Collection: op.Collection, ObjectID: op.ObjectID, Version: op.Version, Member: "identity--n"},
		"boundary":   {Salt: salt, Collection: "c-1i", ObjectID: "ndicator--x", Version: op.Version, Member: op.Member},
	} {
		if ObjectCommitment(o, obj) == want {
			t.Errorf("%s changed, same commitment", name)
		}
	}
	if ObjectCommitment(op, []byte(`{"id":"indicator--y"}`)) == want {
		t.Error("object changed, same commitment")
	}
}

// TestOPRFWithdrawalCommitment: the withdrawal entry's commitment binds
// the set id, collection, member, time and the key entry's commitment,
// each length-prefixed, under its own domain separator.
func TestOPRFWithdrawalCommitment(t *testing.T) {
	salt := bytes.Repeat([]byte{0x5b}, SaltSize)
	op := Opening{Salt: salt, Collection: "col", ObjectID: "set-1", Member: "identity--m", Version: "2026-12-05T23:00:00.000Z"}
	key := strings.Repeat("ab", 32)
	want := sha256Hex("parley-oprf-withdrawal-commitment-v1\n" + string(salt) + lp("set-1") + lp("col") + lp("identity--m") + lp("2026-12-05T23:00:00.000Z") + lp(key))
	if got := OPRFWithdrawalCommitment(op, key); got != want {
		t.Fatalf("OPRFWithdrawalCommitment = %s, want %s", got, want)
	}
	for name, change := range map[string]func(*Opening, *string){
		"salt":           func(o *Opening, _ *string) { o.Salt = bytes.Repeat([]byte{1}, SaltSize) },
		"set":            func(o *Opening, _ *string) { o.ObjectID = "set-2" },
		"collection":     func(o *Opening, _ *string) { o.Collection = "other" },
		"member":         func(o *Opening, _ *string) { o.Member = "identity--n" },
		"time":           func(o *Opening, _ *string) { o.Version = "2026-12-05T23:00:01.000Z" },
		"key commitment": func(_ *Opening, k *string) { *k = strings.Repeat("cd", 32) },
	} {
		o, k := op, key
		change(&o, &k)
		if OPRFWithdrawalCommitment(o, k) == want {
			t.Errorf("%s changed, same commitment", name)
		}
	}
	// Not an oprf-key commitment of the same opening.
	if OPRFKeyCommitment(op, "ristretto255-SHA512", []byte(key)) == want {
		t.Error("a key commitment equals a withdrawal commitment")
	}
}

func TestOPRFKeyCommitment(t *testing.T) {
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	op := Opening{Salt: salt, Collection: "col", ObjectID: "set-1", Member: "identity--m"}
	pub := []byte{1, 2, 3}
	want := sha256Hex("parley-oprf-key-commitment-v2\n" + string(salt) + lp("set-1") + lp("col") + lp("identity--m") + lp("ristretto255-SHA512") + "\x01\x02\x03")
	if got := OPRFKeyCommitment(op, "ristretto255-SHA512", pub); got != want {
		t.Fatalf("OPRFKeyCommitment = %s, want %s", got, want)
	}
	// The set id comes before the collection: swapping them changes it.
	swapped := op
	swapped.Collection, swapped.ObjectID = op.ObjectID, op.Collection
	if OPRFKeyCommitment(swapped, "ristretto255-SHA512", pub) == want {
		t.Error("set id and collection swapped, same commitment")
	}
	if OPRFKeyCommitment(op, "P256-SHA256", pub) == want {
		t.Error("suite changed, same commitment")
	}
	// Domain separation: an OPRF key commitment is never an object's.
	if ObjectCommitment(op, pub) == want {
		t.Error("object and OPRF key commitments coincide")
	}
}

func TestNewSaltAndRotationMessage(t *testing.T) {
	s, err := NewSalt(strings.NewReader(strings.Repeat("s", 40)))
	if err != nil || len(s) != SaltSize || string(s) != strings.Repeat("s", SaltSize) {
		t.Fatalf("NewSalt = %x, %v", s, err)
	}
	if _, err := NewSalt(strings.NewReader("short")); err == nil {
		t.Fatal("NewSalt accepted a short reader")
	}
	got := string(RotationMessage(key1, key3))
	if want := "parley-key-rotation-v1\n" + goldenKey1 + "\n" + goldenKey3 + "\n"; got != want {
		t.Fatalf("RotationMessage = %q, want %q", got, want)
	}
}

func FuzzParseEntry(f *testing.F) {
	for _, g := range goldenEntries {
		f.Add([]byte(g.leaf))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"collection":"c","commitment":"` + goldenCommit + `","member":"m","object_id":"o","received":"2026-01-02T03:04:05.5Z","version":"v"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("error doesn't wrap ErrMalformedEntry: %v", err)
			}
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("parsed entry doesn't marshal: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed bytes:\n%q\n%q", b, again)
		}
	})
}

// TestParseEntryUnknownKind: an entry of a kind this version doesn't
// know (a log written by a newer Parley, as an oprf-withdrawal entry is
// to a build older than it) is refused with ErrUnknownKind, naming the
// kind (clipped, inert) and the upgrade, not only as malformed.
func TestParseEntryUnknownKind(t *testing.T) {
	for _, kind := range []string{"zz-future", "a\u001b[2Jb", strings.Repeat("k", 500)} {
		leaf := `{"commitment":"` + strings.Repeat("ab", 32) + `","kind":"` + strings.ReplaceAll(kind, "\u001b", `\u001b`) + `","received":"2026-01-01T00:00:00Z"}`
		_, err := ParseEntry([]byte(leaf))
		if !errors.Is(err, ErrUnknownKind) || !errors.Is(err, ErrMalformedEntry) {
			t.Fatalf("kind %.20q: ParseEntry = %v, want ErrUnknownKind and ErrMalformedEntry", kind, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "upgrade") || !strings.Contains(msg, KindOPRFWithdrawal) || strings.ContainsRune(msg, '\u001b') || len(msg) > 400 {
			t.Errorf("kind %.20q: the error %q doesn't name the upgrade and the kinds read, inertly and briefly", kind, msg)
		}
	}
	if _, err := ParseEntry([]byte(`{"commitment":"` + strings.Repeat("ab", 32) + `","kind":"zz-future","received":"2026-01-01T00:00:00Z"}`)); !strings.Contains(err.Error(), `"zz-future"`) {
		t.Errorf("the error %v doesn't name the kind", err)
	}
}
