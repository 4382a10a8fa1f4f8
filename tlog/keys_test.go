package tlog

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// TestKeyHistory replays one member's key events, good and bad, in log
// order, then asks which key was in force before, at and after each.
func TestKeyHistory(t *testing.T) {
	const m = testMember
	a, b, c, d := testKey(0xa), testKey(0xb), testKey(0xc), testKey(0xd)
	ev := func(event string, k ed25519.PrivateKey, authority string, stmt []byte) Entry {
		e := Entry{Kind: KindMemberKey, Member: m, Event: event, Authority: authority, Statement: stmt}
		if k != nil {
			e.Key = pubOf(k)
		}
		return e
	}
	signedBy := func(old, next ed25519.PrivateKey) []byte {
		return ed25519.Sign(old, RotationMessage(pubOf(old), pubOf(next)))
	}
	h := NewKeyHistory()
	steps := []struct {
		i    uint64
		e    Entry
		want string // "" for success, else a part of the ErrKey message
	}{
		{0, ev(EventRegister, a, AuthorityOperator, nil), ""},
		{2, ev(EventRotate, b, AuthorityMember, signedBy(a, b)), ""},
		{3, ev(EventRotate, c, AuthorityMember, signedBy(c, c)), "doesn't verify"},                            // signed by the new key itself
		{4, ev(EventRotate, c, AuthorityMember, signedBy(a, c)), "doesn't verify"},                            // by a key no longer in force
		{5, ev(EventRotate, c, AuthorityMember, ed25519.Sign(b, []byte("something else"))), "doesn't verify"}, // by the key in force, another message
		{5, ev(EventRotate, b, AuthorityOperator, nil), "already in force"},
		{5, ev(EventRevokeKey, a, AuthorityOperator, nil), "isn't in force"},
		{5, ev(EventRegister, d, AuthorityOperator, nil), "second time"},
		{5, ev(EventRotate, a, AuthorityMember, signedBy(b, a)), "rotates back to a key it held from entry 0"}, // B→A, though signed by B
		{5, ev(EventRotate, a, AuthorityOperator, nil), "rotates back to a key it held from entry 0"},
		{6, ev(EventRotate, c, AuthorityOperator, nil), ""},
		{7, ev(EventRotate, b, AuthorityOperator, nil), "rotates back to a key it held from entry 2"},
		{7, ev(EventRotate, b, AuthorityMember, signedBy(a, b)), "rotates back"}, // the A→B statement replayed
		{8, ev(EventRevokeKey, c, AuthorityOperator, nil), ""},
		{9, ev(EventRevokeKey, c, AuthorityOperator, nil), "isn't in force"},
		{9, ev(EventRotate, d, AuthorityMember, signedBy(c, d)), "doesn't verify"},                     // no key in force to sign with
		{10, ev(EventRotate, c, AuthorityOperator, nil), "rotates back to a key it held from entry 6"}, // a revoked key never returns
		{10, ev(EventRotate, d, AuthorityOperator, nil), ""},
		{12, ev(EventRevokeMember, nil, AuthorityOperator, nil), ""},
		{14, ev(EventRotate, a, AuthorityOperator, nil), "was revoked"},
		{14, ev(EventRevokeMember, nil, AuthorityOperator, nil), "was revoked"},
	}
	for _, s := range steps {
		before := h.Keys(m)
		err := h.Apply(s.i, s.e)
		switch {
		case s.want == "" && err != nil:
			t.Fatalf("entry %d (%s): %v", s.i, s.e.Event, err)
		case s.want != "" && (!errors.Is(err, ErrKey) || !strings.Contains(err.Error(), s.want)):
			t.Fatalf("entry %d (%s): err = %v, want ErrKey saying %q", s.i, s.e.Event, err, s.want)
		case s.want != "" && !equalKeys(before, h.Keys(m)):
			t.Fatalf("entry %d (%s): a refused event changed the history", s.i, s.e.Event)
		}
	}
	type inForce struct {
		key       ed25519.PrivateKey // nil: none
		authority string
	}
	for _, q := range []struct {
		i    uint64
		want inForce
	}{
		{0, inForce{}}, // the registration is in force only after its entry
		{1, inForce{a, AuthorityOperator}},
		{2, inForce{a, AuthorityOperator}}, // the rotation's own entry
		{3, inForce{b, AuthorityMember}},
		{5, inForce{b, AuthorityMember}},
		{6, inForce{b, AuthorityMember}},
		{7, inForce{c, AuthorityOperator}},
		{8, inForce{c, AuthorityOperator}},
		{9, inForce{}}, // revoked at 8
		{10, inForce{}},
		{11, inForce{d, AuthorityOperator}},
		{12, inForce{d, AuthorityOperator}},
		{13, inForce{}}, // member revoked at 12
		{1 << 40, inForce{}},
	} {
		k, ok := h.KeyAt(m, q.i)
		if q.want.key == nil {
			if ok {
				t.Errorf("KeyAt(%d) = %+v, want none", q.i, k)
			}
			continue
		}
		if !ok || !k.Key.Equal(pubOf(q.want.key)) || k.Authority != q.want.authority {
			t.Errorf("KeyAt(%d) = %+v %v, want %x by %s", q.i, k, ok, pubOf(q.want.key), q.want.authority)
		}
	}
	want := []MemberKey{
		{Key: pubOf(a), From: 0, Until: 2, Authority: AuthorityOperator, Event: EventRegister},
		{Key: pubOf(b), From: 2, Until: 6, Authority: AuthorityMember, Event: EventRotate},
		{Key: pubOf(c), From: 6, Until: 8, Authority: AuthorityOperator, Event: EventRotate, Revoked: true},
		{Key: pubOf(d), From: 10, Until: 12, Authority: AuthorityOperator, Event: EventRotate, Revoked: true},
	}
	got := h.Keys(m)
	if !equalKeys(got, want) {
		t.Errorf("Keys = %+v\nwant %+v", got, want)
	}
	// Only a rotation the operator made alone is operator-asserted: not
	// the registration (always the operator's), nor a member-signed one.
	for i, asserted := range []bool{false, false, true, true} {
		if i < len(got) && got[i].OperatorAsserted() != asserted {
			t.Errorf("key %d: OperatorAsserted = %v", i, !asserted)
		}
	}
	if _, ok := h.KeyAt("identity--unknown", 5); ok || h.Keys("identity--unknown") != nil {
		t.Error("an unknown member has a key")
	}

	// CheckSignature: the key in force signs; another key, or any key
	// where none is in force, fails with ErrKey.
	if k, err := h.CheckSignature(m, 3, pubOf(b)); err != nil || !k.Key.Equal(pubOf(b)) {
		t.Errorf("CheckSignature(B at 3) = %+v, %v", k, err)
	}
	if _, err := h.CheckSignature(m, 3, pubOf(a)); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "isn't the key in force") {
		t.Errorf("CheckSignature(A at 3) err = %v", err)
	}
	if _, err := h.CheckSignature(m, 9, pubOf(c)); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "no key in force") {
		t.Errorf("CheckSignature(C at 9) err = %v", err)
	}
}

func equalKeys(a, b []MemberKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Key.Equal(b[i].Key) || a[i].From != b[i].From || a[i].Until != b[i].Until ||
			a[i].Authority != b[i].Authority || a[i].Event != b[i].Event || a[i].Revoked != b[i].Revoked {
			return false
		}
	}
	return true
}

// TestKeyHistoryEdges: the events the log should never hold besides those
// of one member's story, and members without keys.
func TestKeyHistoryEdges(t *testing.T) {
	a, b := testKey(0xa), testKey(0xb)
	const m, n = "identity--m", "identity--n"
	h := NewKeyHistory()
	if err := h.Apply(0, Entry{Kind: KindObject, Commitment: goldenCommit}); !errors.Is(err, ErrKey) {
		t.Errorf("an object entry applied: %v", err)
	}
	if err := h.Apply(0, Entry{Kind: KindMemberKey, Member: m, Event: EventRotate, Key: pubOf(a), Authority: AuthorityOperator}); !errors.Is(err, ErrKey) ||
		!strings.Contains(err.Error(), "isn't registered") {
		t.Errorf("rotation of an unregistered member: %v", err)
	}
	// A member registered without a key has none in force until the
	// operator gives it one; it can't sign its own first rotation.
	if err := h.Apply(1, Entry{Kind: KindMemberKey, Member: m, Event: EventRegister, Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.KeyAt(m, 2); ok {
		t.Error("a member registered without a key has one")
	}
	stmt := ed25519.Sign(a, RotationMessage(pubOf(a), pubOf(a)))
	if err := h.Apply(2, Entry{Kind: KindMemberKey, Member: m, Event: EventRotate, Key: pubOf(a), Authority: AuthorityMember, Statement: stmt}); !errors.Is(err, ErrKey) {
		t.Errorf("self-signed first rotation: %v", err)
	}
	if err := h.Apply(3, Entry{Kind: KindMemberKey, Member: m, Event: EventRotate, Key: pubOf(a), Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	// A rotation statement names the old key: one signed by the key in
	// force but naming another old key, or another new key, doesn't verify.
	if err := h.Apply(4, Entry{Kind: KindMemberKey, Member: n, Event: EventRegister, Key: pubOf(b), Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	c := testKey(0xc)
	for name, msg := range map[string][]byte{
		"other old key": RotationMessage(pubOf(b), pubOf(c)),
		"other new key": RotationMessage(pubOf(a), pubOf(b)),
	} {
		stmt := ed25519.Sign(a, msg)
		if err := h.Apply(5, Entry{Kind: KindMemberKey, Member: m, Event: EventRotate, Key: pubOf(c), Authority: AuthorityMember, Statement: stmt}); !errors.Is(err, ErrKey) {
			t.Errorf("statement naming the %s accepted: %v", name, err)
		}
	}
	// Revoking a member without a key in force works; nothing is in force.
	if err := h.Apply(6, Entry{Kind: KindMemberKey, Member: n, Event: EventRevokeKey, Key: pubOf(b), Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	if err := h.Apply(7, Entry{Kind: KindMemberKey, Member: n, Event: EventRevokeMember, Authority: AuthorityOperator}); err != nil {
		t.Fatal(err)
	}
	if k, ok := h.KeyAt(m, 6); !ok || !k.Key.Equal(pubOf(a)) {
		t.Errorf("KeyAt(m, 6) = %+v %v", k, ok)
	}
	if _, ok := h.KeyAt(n, 7); ok {
		t.Error("revoked key in force")
	}
	if got := h.Members(); len(got) != 2 || got[0] != m || got[1] != n {
		t.Errorf("Members = %v", got)
	}
}

// TestKeyHistoryOneMemberPerKey: a key belongs to one member. A second
// member registered with, or rotated to, a key another member holds or
// held is refused, also with the first member's own signed rotation
// statement replayed for it; a keyless registration and the first
// member's own events are not affected.
func TestKeyHistoryOneMemberPerKey(t *testing.T) {
	carol, erin := testMember, "identity--00000000-0000-4000-8000-00000000000e"
	a, b, c := testKey(0xa), testKey(0xb), testKey(0xc)
	ev := func(member, event string, k ed25519.PrivateKey, authority string, stmt []byte) Entry {
		e := Entry{Kind: KindMemberKey, Member: member, Event: event, Authority: authority, Statement: stmt}
		if k != nil {
			e.Key = pubOf(k)
		}
		return e
	}
	h := NewKeyHistory()
	for _, s := range []struct {
		i    uint64
		e    Entry
		want string
	}{
		{0, ev(carol, EventRegister, a, AuthorityOperator, nil), ""},
		{1, ev(erin, EventRegister, a, AuthorityOperator, nil), "names the key put in force for " + carol + " at entry 0"},
		{1, ev(erin, EventRegister, nil, AuthorityOperator, nil), ""},
		{2, ev(carol, EventRotate, b, AuthorityMember, ed25519.Sign(a, RotationMessage(pubOf(a), pubOf(b)))), ""},
		{3, ev(erin, EventRotate, a, AuthorityOperator, nil), "at entry 0"},                                                // carol's earlier key
		{3, ev(erin, EventRotate, b, AuthorityOperator, nil), "at entry 2"},                                                // carol's key in force
		{3, ev(erin, EventRotate, b, AuthorityMember, ed25519.Sign(a, RotationMessage(pubOf(a), pubOf(b)))), "at entry 2"}, // carol's statement replayed
		{3, ev(carol, EventRevokeMember, nil, AuthorityOperator, nil), ""},
		{4, ev(erin, EventRotate, b, AuthorityOperator, nil), "at entry 2"}, // a revoked member's key
		{4, ev(erin, EventRotate, c, AuthorityOperator, nil), ""},
	} {
		err := h.Apply(s.i, s.e)
		switch {
		case s.want == "" && err != nil:
			t.Fatalf("entry %d (%s of %s): %v", s.i, s.e.Event, s.e.Member, err)
		case s.want != "" && (!errors.Is(err, ErrKey) || !strings.Contains(err.Error(), s.want)):
			t.Fatalf("entry %d (%s of %s): err = %v, want ErrKey saying %q", s.i, s.e.Event, s.e.Member, err, s.want)
		}
	}
	if k, ok := h.KeyAt(erin, 5); !ok || !k.Key.Equal(pubOf(c)) {
		t.Errorf("erin's key at 5: %v %v", k, ok)
	}
}
