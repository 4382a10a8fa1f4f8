package tlog

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/parley-exchange/parley/internal/untrusted"
	"golang.org/x/mod/sumdb/note"
)

// KeyIndexHeader is the first line of a key index note ([KeyIndex]) of
// some members.
const KeyIndexHeader = "parley-key-index-v1"

// KeyIndexAllHeader is the first line of a key index note of every
// member ([KeyIndex] with Complete set): the same body, signed as the
// claim that the members it lists are all the members with a key entry
// in its tree.
const KeyIndexAllHeader = "parley-key-index-all-v1"

// laterKeyIndexForm reports whether first, a key index's first line, names
// a form this version doesn't know: "parley-key-index-" then a name of
// lowercase letters, digits and dashes ending "-v" and a version number.
func laterKeyIndexForm(first string) bool {
	const prefix = "parley-key-index-"
	if !strings.HasPrefix(first, prefix) || len(first) > 64 {
		return false
	}
	rest := first[len(prefix):]
	i := strings.LastIndex(rest, "v")
	if i < 0 || i+1 == len(rest) || (i > 0 && rest[i-1] != '-') {
		return false
	}
	for _, r := range rest[:i] {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	for _, r := range rest[i+1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ErrKeyIndex is returned (wrapped) by [Bundle.CheckKeyIndex] when a
// bundle's member key entries are not shown complete: the bundle has no
// key index, the index doesn't verify, or the bundle leaves out (or adds)
// a key entry of a member the index lists.
var ErrKeyIndex = errors.New("member key entries not shown complete")

// KeyIndex is the node's signed statement of which member key entries a
// tree holds for some members: for each member, the log indexes of ALL its
// [KindMemberKey] entries (registration, rotations, key revocations, its
// revocation) in the tree of Size entries whose root is Hash. A bundle
// carries one so that a verifier can tell that its key entries are the
// member's whole key history up to the checkpoint, not a selection: a
// key entry left out (a rotation, a revocation) would otherwise leave an
// older key looking in force, and an object signed with it counting.
//
// It is a C2SP signed note by the log key, whose text is
//
//	parley-key-index-v1               (or parley-key-index-all-v1)
//	<origin>
//	<tree size, decimal>
//	<root hash, base64>
//	<member id> [<index> ...]     one line per member, sorted by id
//
// with the indexes in increasing order, separated by single spaces (a
// member with no key entry in the tree has a line of its id alone). Its
// first line makes it parse as no checkpoint, and a checkpoint as no key
// index. The first line [KeyIndexAllHeader] (Complete) makes it an index
// of every member: it also states that no member it doesn't list has a
// key entry in the tree, which one of the form [KeyIndexHeader] (of the
// members asked for) never states. Key entries are in clear in the log,
// so a false index is provable by anyone: the index signed with the log
// key beside a checkpoint of the same tree and the inclusion proof of a
// key entry it leaves out (of a member it lists, or of any member when
// it is Complete).
type KeyIndex struct {
	Origin string
	Size   uint64
	Hash   Hash
	// Members maps member ids to the indexes of their key entries.
	Members map[string][]uint64
	// Complete: the index claims to list every member with a key entry
	// in its tree (its first line is [KeyIndexAllHeader]). An index
	// without it says nothing of the members it doesn't list.
	Complete bool
}

// header is the index's first line.
func (k KeyIndex) header() string {
	if k.Complete {
		return KeyIndexAllHeader
	}
	return KeyIndexHeader
}

// Lists returns the indexes of member's key entries the index states,
// and whether it states them: a member it lists, or any member of a
// Complete index (one it doesn't list has none).
func (k KeyIndex) Lists(member string) ([]uint64, bool) {
	listed, ok := k.Members[member]
	if !ok && k.Complete {
		return []uint64{}, true
	}
	return listed, ok
}

// Marshal returns the index's note text.
func (k KeyIndex) Marshal() ([]byte, error) {
	ids := make([]string, 0, len(k.Members))
	for id := range k.Members {
		if id == "" || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' }) {
			return nil, fmt.Errorf("couldn't write key index: member id %q is empty or has spaces", id)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n%d\n%s\n", k.header(), k.Origin, k.Size, k.Hash)
	for _, id := range ids {
		b.WriteString(id)
		last := int64(-1)
		for _, i := range k.Members[id] {
			if int64(i) <= last || i >= k.Size {
				return nil, fmt.Errorf("couldn't write key index: the indexes of %s are not increasing within the tree", id)
			}
			last = int64(i)
			b.WriteByte(' ')
			b.WriteString(strconv.FormatUint(i, 10))
		}
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// ParseKeyIndex parses key index note text (without signatures). Every
// accepted text re-encodes byte for byte with [KeyIndex.Marshal].
func ParseKeyIndex(text []byte) (KeyIndex, error) {
	bad := func(why string) (KeyIndex, error) {
		return KeyIndex{}, fmt.Errorf("%w: malformed key index: %s", ErrKeyIndex, why)
	}
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return bad("doesn't end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 4 || (lines[0] != KeyIndexHeader && lines[0] != KeyIndexAllHeader) {
		if laterKeyIndexForm(lines[0]) {
			// Not malformed: a newer parley's form, which this version
			// can't check. Still refused (nothing it states is checked),
			// but said so: an older client or follower of a newer node
			// took it for a node serving garbage.
			return KeyIndex{}, fmt.Errorf("%w: the key index is of the form %s, which this version of parley doesn't know (a newer parley signed it): upgrade parley to check it", ErrKeyIndex, lines[0])
		}
		return bad("it doesn't start with " + KeyIndexHeader + " or " + KeyIndexAllHeader)
	}
	k := KeyIndex{Origin: lines[1], Members: map[string][]uint64{}, Complete: lines[0] == KeyIndexAllHeader}
	n, err := strconv.ParseUint(lines[2], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[2] {
		return bad("tree size isn't a decimal number")
	}
	k.Size = n
	if k.Hash, err = ParseHash(lines[3]); err != nil {
		return bad("root hash isn't base64 of 32 bytes")
	}
	for _, l := range lines[4:] {
		f := strings.Split(l, " ")
		if _, dup := k.Members[f[0]]; dup {
			return bad("a member is listed twice")
		}
		idx := make([]uint64, 0, len(f)-1)
		for _, v := range f[1:] {
			i, err := strconv.ParseUint(v, 10, 64)
			if err != nil || strconv.FormatUint(i, 10) != v {
				return bad("an index isn't a decimal number")
			}
			idx = append(idx, i)
		}
		k.Members[f[0]] = idx
	}
	again, err := k.Marshal()
	if err != nil || string(again) != s {
		return bad("it isn't in canonical form (members sorted, indexes increasing within the tree, single spaces)")
	}
	return k, nil
}

// SignKeyIndex signs k as a note with signer, whose name must equal k's
// origin.
func SignKeyIndex(k KeyIndex, signer note.Signer) (string, error) {
	if signer.Name() != k.Origin {
		return "", fmt.Errorf("couldn't sign key index: key name %q isn't the origin %q", signer.Name(), k.Origin)
	}
	text, err := k.Marshal()
	if err != nil {
		return "", err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return "", fmt.Errorf("couldn't sign key index: %w", err)
	}
	return string(msg), nil
}

// OpenKeyIndex verifies a signed key index note with v and parses it.
func OpenKeyIndex(signed []byte, v note.Verifier) (KeyIndex, error) {
	// As for a checkpoint: note.Open ignores the unused low bits of a
	// signature's last base64 character, so a changed byte would still
	// verify, and two texts would be one signed index.
	if err := strictSignatureLines(signed); err != nil {
		return KeyIndex{}, fmt.Errorf("%w: %v", ErrKeyIndex, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return KeyIndex{}, fmt.Errorf("%w: its signature doesn't verify with the log key: %v", ErrKeyIndex, err)
	}
	k, err := ParseKeyIndex([]byte(n.Text))
	if err != nil {
		return k, err
	}
	if k.Origin != v.Name() {
		return k, fmt.Errorf("%w: the key index is of log %q, not %q", ErrKeyIndex, untrusted.Text(k.Origin, 200), v.Name())
	}
	return k, nil
}

// NewKeyIndex builds the key index of the tree of cp for the key entries
// keys (all the key entries of the members listed, in log order) and the
// members listed, who may have none. The caller sets Complete when keys
// are every member key entry of the tree.
func NewKeyIndex(cp Checkpoint, keys []BundleKey, members []string) (KeyIndex, error) {
	k := KeyIndex{Origin: cp.Origin, Size: cp.Size, Hash: cp.Hash, Members: map[string][]uint64{}}
	for _, m := range members {
		k.Members[m] = []uint64{}
	}
	for _, bk := range keys {
		e, err := ParseEntry(bk.Entry)
		if err != nil {
			return k, fmt.Errorf("couldn't index member key entry %d: %w", bk.LogIndex, err)
		}
		k.Members[e.Member] = append(k.Members[e.Member], bk.LogIndex)
	}
	return k, nil
}

// CheckKeyIndex checks that the bundle's member key entries are the whole
// key history, up to the checkpoint cp (which the caller opened with the
// bundle's log key), of every member they name, every member the index
// lists, and every member in members (the members whose signatures the
// caller will check): the bundle's key index must verify with its log
// key, be of cp's tree, list each of those members (an index of every
// member, [KeyIndex].Complete, lists the ones it leaves out with no
// entry), and list for each exactly the indexes of the bundle's key
// entries of that member. A
// bundle with no key index, one that leaves out a member's key entry, or
// one that shows an entry the index doesn't list fails with
// [ErrKeyIndex].
func (b *Bundle) CheckKeyIndex(cp Checkpoint, members []string) error {
	v, err := NewVerifier(b.LogKey)
	if err != nil {
		return fmt.Errorf("%w: log key: %v", ErrKeyIndex, err)
	}
	return b.checkKeyIndex(v, cp, members)
}

// checkKeyIndex is [Bundle.CheckKeyIndex] with the log verifier v.
func (b *Bundle) checkKeyIndex(v note.Verifier, cp Checkpoint, members []string) error {
	if b.KeyIndex == "" {
		return fmt.Errorf("%w: the evidence has no key index, so it doesn't prove that it shows every key rotation and revocation of its members (a node of a version older than the key index sends none)", ErrKeyIndex)
	}
	k, err := OpenKeyIndex([]byte(b.KeyIndex), v)
	if err != nil {
		return err
	}
	if k.Size != cp.Size || k.Hash != cp.Hash {
		return fmt.Errorf("%w: the key index is of the tree of size %d and root %s, not the checkpoint's tree of size %d and root %s", ErrKeyIndex, k.Size, k.Hash, cp.Size, cp.Hash)
	}
	shown := map[string][]uint64{}
	for _, bk := range b.Keys {
		e, err := ParseEntry(bk.Entry)
		if err != nil {
			return fmt.Errorf("%w: member key entry %d: %v", ErrKeyIndex, bk.LogIndex, err)
		}
		shown[e.Member] = append(shown[e.Member], bk.LogIndex)
	}
	// Every member the index lists must be shown with all its entries
	// too, and every member asked about must be listed.
	for m := range k.Members {
		if _, ok := shown[m]; !ok {
			shown[m] = nil
		}
	}
	for _, m := range members {
		if _, ok := shown[m]; !ok {
			shown[m] = nil
		}
	}
	ids := make([]string, 0, len(shown))
	for m := range shown {
		ids = append(ids, m)
	}
	sort.Strings(ids)
	for _, m := range ids {
		// An index of every member that doesn't list m states that m
		// has no key entry in its tree.
		listed, ok := k.Lists(m)
		if !ok {
			return fmt.Errorf("%w: the key index doesn't list %s, so nothing shows its key entries are all there", ErrKeyIndex, m)
		}
		got := map[uint64]bool{}
		for _, i := range shown[m] {
			got[i] = true
		}
		inIndex := map[uint64]bool{}
		for _, i := range listed {
			inIndex[i] = true
			if !got[i] {
				return fmt.Errorf("%w: the evidence leaves out member key entry %d of %s, which the log holds (a registration, key rotation or revocation left out makes the wrong key look in force)", ErrKeyIndex, i, m)
			}
		}
		for _, i := range shown[m] {
			if !inIndex[i] {
				return fmt.Errorf("%w: the evidence shows member key entry %d of %s, which the key index doesn't list", ErrKeyIndex, i, m)
			}
		}
	}
	return nil
}
