package tlog

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// ErrKey is returned (wrapped) by [KeyHistory] for a member key event that
// breaks the rules (a rotation of a revoked member, a member-signed
// rotation whose statement doesn't verify) and for a signature check
// against a key that isn't in force.
var ErrKey = errors.New("member key")

// MemberKey is one key of a member as the log shows it.
type MemberKey struct {
	// Key is the Ed25519 public key.
	Key ed25519.PublicKey
	// From is the index of the entry that put the key in force; the key
	// is in force for entries at later indices until Until.
	From uint64
	// Until is the index of the entry that ended the key (a rotation or a
	// revocation), or 0 while it is still in force.
	Until uint64
	// Authority says who put the key in force: [AuthorityMember] (the
	// previous key signed the rotation) or [AuthorityOperator] (the
	// registration, or a rotation the operator asserted alone).
	Authority string
	// Revoked is true when the key was ended by a revocation rather than
	// replaced by a rotation.
	Revoked bool
	// Event is how the key was put in force: [EventRegister] or
	// [EventRotate].
	Event string
}

// OperatorAsserted reports whether the operator alone rotated this key in,
// without a statement signed by the member's previous key: clients show
// such keys differently, since the operator could have swapped in a key
// of its own.
func (k MemberKey) OperatorAsserted() bool {
	return k.Event == EventRotate && k.Authority == AuthorityOperator
}

// KeyHistory is the member keys a log shows, built by applying its
// [KindMemberKey] entries in log order ([KeyHistory.Apply]); it answers
// which key was in force for a member at a log position. It is safe for
// concurrent use: an audit applies entries while it checks objects of
// earlier positions in the background.
type KeyHistory struct {
	mu      sync.RWMutex
	members map[string]*memberKeys
	// holders maps each key ever put in force to its member and the
	// entry that did: a key belongs to one member.
	holders map[string]keyHolder
}

type keyHolder struct {
	member string
	from   uint64
}

type memberKeys struct {
	registered uint64
	revoked    bool
	revokedAt  uint64      // the revoke-member's index, when revoked
	keys       []MemberKey // by From
}

// NewKeyHistory returns an empty history.
func NewKeyHistory() *KeyHistory {
	return &KeyHistory{members: map[string]*memberKeys{}, holders: map[string]keyHolder{}}
}

// Apply records the member key entry e at log index i. Entries must be
// applied in index order. It fails with [ErrKey] for an event that the
// log should never contain: a second registration, an event for an
// unregistered or revoked member, a rotation to the key in force or to
// any key the member held before, a registration of or rotation to a key
// another member holds or held, a revocation of a key that isn't in
// force, or a member-signed rotation whose statement doesn't verify with
// the previous key. A failed event changes nothing.
//
// A key never comes back because a rotation statement names the old and
// the new key and nothing else: were A→B→A allowed, the A→B statement
// would verify again once A was back, and whoever holds it (the operator)
// could replay it as a member-signed rotation to B, a key the member gave
// up, perhaps because it leaked. With every key used once per member, each
// statement can be applied at most once. A key belongs to one member for
// the same reason, and because a member's signatures must not verify as
// another's: an operator that registered a second member with a member's
// key could replay that member's signed objects and rotation statements
// as the second member's.
func (h *KeyHistory) Apply(i uint64, e Entry) error {
	if e.Kind != KindMemberKey {
		return fmt.Errorf("%w: entry %d is not a member key entry", ErrKey, i)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Key != nil && (e.Event == EventRegister || e.Event == EventRotate) {
		if o, ok := h.holders[string(e.Key)]; ok && o.member != e.Member {
			return fmt.Errorf("%w: the %s of %s names the key put in force for %s at entry %d (a key belongs to one member)", ErrKey, e.Event, e.Member, o.member, o.from)
		}
	}
	m := h.members[e.Member]
	if e.Event == EventRegister {
		if m != nil {
			return fmt.Errorf("%w: %s is registered a second time", ErrKey, e.Member)
		}
		m = &memberKeys{registered: i}
		if e.Key != nil {
			m.keys = append(m.keys, MemberKey{Key: e.Key, From: i, Authority: e.Authority, Event: EventRegister})
			h.holders[string(e.Key)] = keyHolder{e.Member, i}
		}
		h.members[e.Member] = m
		return nil
	}
	if m == nil {
		return fmt.Errorf("%w: %s event for %s, which isn't registered", ErrKey, e.Event, e.Member)
	}
	if m.revoked {
		return fmt.Errorf("%w: %s event for %s, which was revoked", ErrKey, e.Event, e.Member)
	}
	current := m.current()
	switch e.Event {
	case EventRotate:
		if current != nil && bytes.Equal(current.Key, e.Key) {
			return fmt.Errorf("%w: %s rotates to the key already in force", ErrKey, e.Member)
		}
		for _, k := range m.keys {
			if bytes.Equal(k.Key, e.Key) {
				return fmt.Errorf("%w: %s rotates back to a key it held from entry %d (a key is used once: make a new one)", ErrKey, e.Member, k.From)
			}
		}
		if e.Authority == AuthorityMember {
			if current == nil || !ed25519.Verify(current.Key, RotationMessage(current.Key, e.Key), e.Statement) {
				return fmt.Errorf("%w: the rotation statement of %s doesn't verify with its previous key", ErrKey, e.Member)
			}
		}
		if current != nil {
			current.Until = i
		}
		m.keys = append(m.keys, MemberKey{Key: e.Key, From: i, Authority: e.Authority, Event: EventRotate})
		h.holders[string(e.Key)] = keyHolder{e.Member, i}
	case EventRevokeKey:
		if current == nil || !bytes.Equal(current.Key, e.Key) {
			return fmt.Errorf("%w: %s revokes a key that isn't in force", ErrKey, e.Member)
		}
		current.Until, current.Revoked = i, true
	case EventRevokeMember:
		if current != nil {
			current.Until, current.Revoked = i, true
		}
		m.revoked, m.revokedAt = true, i
	}
	return nil
}

// current returns the key in force after the last applied event, or nil.
func (m *memberKeys) current() *MemberKey {
	if len(m.keys) == 0 {
		return nil
	}
	k := &m.keys[len(m.keys)-1]
	if k.Until != 0 {
		return nil
	}
	return k
}

// KeyAt returns the key of member in force for an entry at index i: the key
// of its last registration or rotation before i, unless a revocation before
// i ended it. ok is false when none is.
func (h *KeyHistory) KeyAt(member string, i uint64) (MemberKey, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.members[member]
	if m == nil {
		return MemberKey{}, false
	}
	// The last key put in force before i.
	j := sort.Search(len(m.keys), func(j int) bool { return m.keys[j].From >= i }) - 1
	if j < 0 {
		return MemberKey{}, false
	}
	k := m.keys[j]
	if k.Until != 0 && k.Until < i {
		return MemberKey{}, false
	}
	return k, true
}

// KeylessAt reports whether member was registered without a key before
// index i, had no key put in force before i and wasn't revoked before i: a
// member that can't have signed anything in this log at i, such as the
// member peer:NAME under which a node stores what it replicates from a
// peer. (The revocation is compared by index: an audit applies entries
// after the object it checks.)
func (h *KeyHistory) KeylessAt(member string, i uint64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.members[member]
	return m != nil && m.registered < i && (len(m.keys) == 0 || m.keys[0].From >= i) && !(m.revoked && m.revokedAt < i)
}

// Keys returns every key the log shows for member, oldest first.
func (h *KeyHistory) Keys(member string) []MemberKey {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.members[member]
	if m == nil {
		return nil
	}
	return append([]MemberKey(nil), m.keys...)
}

// Members returns the ids of every member the history knows, sorted.
func (h *KeyHistory) Members() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.members))
	for id := range h.members {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// CheckSignature checks that signer, the key an object's signature
// verified with, is the key in force for member at index i. It fails with
// [ErrKey], saying whether the member has no key in force there or signed
// with another.
func (h *KeyHistory) CheckSignature(member string, i uint64, signer ed25519.PublicKey) (MemberKey, error) {
	k, ok := h.KeyAt(member, i)
	if !ok {
		return MemberKey{}, fmt.Errorf("%w: %s has no key in force at entry %d", ErrKey, member, i)
	}
	if !bytes.Equal(k.Key, signer) {
		return k, fmt.Errorf("%w: signed with a key that isn't the key in force for %s at entry %d", ErrKey, member, i)
	}
	return k, nil
}
