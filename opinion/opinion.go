package opinion

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/stix"
)

// Value is one value of the STIX 2.1 opinion-enum.
type Value string

// The opinion-enum of STIX 2.1 section 10.8.
const (
	StronglyDisagree Value = "strongly-disagree"
	Disagree         Value = "disagree"
	Neutral          Value = "neutral"
	Agree            Value = "agree"
	StronglyAgree    Value = "strongly-agree"
)

// Values lists the opinion values from disagreement to agreement.
var Values = []Value{StronglyDisagree, Disagree, Neutral, Agree, StronglyAgree}

// Valid reports whether v is one of [Values].
func (v Value) Valid() bool { return slices.Contains(Values, v) }

// ParseValue accepts an opinion value as STIX spells it.
func ParseValue(s string) (Value, error) {
	v := Value(s)
	if !v.Valid() {
		return "", fmt.Errorf("%w: %q is not one of strongly-disagree, disagree, neutral, agree, strongly-agree", ErrInvalid, s)
	}
	return v, nil
}

// Errors that callers branch on; the functions wrap them.
var (
	// ErrInvalid: the object isn't a valid STIX 2.1 opinion, or an
	// argument is malformed.
	ErrInvalid = errors.New("invalid opinion")
	// ErrUnsigned: the opinion carries no object signature.
	ErrUnsigned = errors.New("opinion is not signed")
	// ErrForged: the signature doesn't verify, or verifies with a key that
	// isn't the registered key of the member in created_by_ref.
	ErrForged = errors.New("opinion signature is not its member's")
	// ErrUnknownMember: the opinion's member (created_by_ref, or the
	// sharer for [VerifyShared]) has no registered key, or no member is
	// named at all.
	ErrUnknownMember = errors.New("opinion's member has no registered key")
)

// Opinion is one version of a STIX opinion object.
type Opinion struct {
	// ID is the opinion's STIX id ("opinion--UUID").
	ID string
	// Member is the member's identity id: created_by_ref, or, for an
	// opinion without one verified by [VerifyShared], the member who
	// shared it. Parse leaves it empty when created_by_ref is absent.
	Member string
	// Version is modified (created when modified is absent).
	Version time.Time
	// Value is the opinion property.
	Value Value
	// ObjectRefs are the objects the opinion is about.
	ObjectRefs []string
	// Confidence is the STIX confidence (0 to 100), nil when not given.
	Confidence *int
	// Explanation is the explanation property, "" when absent.
	Explanation string
	// Revoked is the revoked property.
	Revoked bool
	// Raw is the object's RFC 8785 canonical JSON, signature included.
	Raw []byte

	verified bool
}

// Verified reports whether the opinion came from [Verify] with a
// signature by its member's registered key. [Compute] ignores every
// opinion for which it is false.
func (o Opinion) Verified() bool { return o.verified }

// About reports whether the opinion's object_refs contains object.
func (o Opinion) About(object string) bool { return slices.Contains(o.ObjectRefs, object) }

// Parse parses and validates one STIX 2.1 opinion object without checking
// its signature; the result is not [Opinion.Verified]. It fails with
// [ErrInvalid] for anything but a valid opinion.
func Parse(raw []byte) (Opinion, error) {
	o, err := stix.Parse(raw)
	if err != nil {
		return Opinion{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if o.Type != "opinion" {
		return Opinion{}, fmt.Errorf("%w: %s is a %s, not an opinion", ErrInvalid, o.ID, o.Type)
	}
	var v stix.Validator
	if err := v.Validate(o); err != nil {
		return Opinion{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	canon, err := stix.Canonicalize(raw)
	if err != nil {
		return Opinion{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	op := Opinion{ID: o.ID, Member: o.CreatedByRef, Version: o.Modified, Revoked: o.Revoked, Raw: canon}
	if op.Version.IsZero() {
		op.Version = o.Created
	}
	// The validator checked the types of these properties.
	s, _ := o.Props["opinion"].(string)
	op.Value = Value(s)
	if refs, ok := o.Props["object_refs"].([]any); ok {
		for _, r := range refs {
			if s, ok := r.(string); ok {
				op.ObjectRefs = append(op.ObjectRefs, s)
			}
		}
	}
	op.Explanation, _ = o.Props["explanation"].(string)
	if c, ok := o.Props["confidence"].(json.Number); ok {
		n, err := c.Int64()
		if err != nil || n < 0 || n > 100 {
			return Opinion{}, fmt.Errorf("%w: %s: confidence %s is not an integer from 0 to 100", ErrInvalid, o.ID, c)
		}
		ci := int(n)
		op.Confidence = &ci
	}
	return op, nil
}

// Keys maps member identity ids to their registered Ed25519 public keys.
type Keys map[string]ed25519.PublicKey

// Verify parses an opinion ([Parse]) and checks its object signature
// against the registered key of the member named by created_by_ref. It
// returns a verified opinion, or an error wrapping [ErrInvalid],
// [ErrUnsigned], [ErrUnknownMember] (also when created_by_ref is absent)
// or [ErrForged]; the opinion returned with an error (when it parsed) is
// not verified, for display.
func Verify(raw []byte, keys Keys) (Opinion, error) {
	return VerifyShared(raw, "", keys)
}

// VerifyShared is [Verify] for an opinion version as it came through a
// Parley log, whose entry names sharer as the member who shared it: an
// opinion without created_by_ref is attributed to sharer (the node let
// only sharer's key sign it), and one whose created_by_ref names another
// member fails with [ErrForged]. An empty sharer is [Verify].
func VerifyShared(raw []byte, sharer string, keys Keys) (Opinion, error) {
	op, err := Parse(raw)
	if err != nil {
		return op, err
	}
	switch {
	case op.Member == "" && sharer == "":
		return op, fmt.Errorf("%w: %s has no created_by_ref", ErrUnknownMember, op.ID)
	case op.Member == "":
		op.Member = sharer
	case sharer != "" && op.Member != sharer:
		return op, fmt.Errorf("%w: %s names %s but %s shared it", ErrForged, op.ID, op.Member, sharer)
	}
	pub, err := stix.Verify(op.Raw)
	switch {
	case errors.Is(err, stix.ErrUnsigned):
		return op, fmt.Errorf("%w: %s", ErrUnsigned, op.ID)
	case err != nil:
		return op, fmt.Errorf("%w: %s: %v", ErrForged, op.ID, err)
	}
	key, ok := keys[op.Member]
	if !ok || len(key) != ed25519.PublicKeySize {
		return op, fmt.Errorf("%w: %s names %s", ErrUnknownMember, op.ID, op.Member)
	}
	if !bytes.Equal(pub, key) {
		return op, fmt.Errorf("%w: %s is signed by a key that isn't the registered key of %s", ErrForged, op.ID, op.Member)
	}
	op.verified = true
	return op, nil
}

// Draft is what [New] needs to write an opinion.
type Draft struct {
	// Member is the identity id of the member giving the opinion.
	Member string
	// Object is the id of the object the opinion is about.
	Object string
	// Value is the opinion.
	Value Value
	// Explanation is optional free text.
	Explanation string
	// Confidence, when not nil, is the member's confidence (0 to 100).
	Confidence *int
}

// New writes a new STIX 2.1 opinion object (a fresh id from rand, created
// and modified at now with millisecond precision) and signs it with key.
// It returns the signed object's canonical JSON.
func New(d Draft, key ed25519.PrivateKey, now time.Time, rand io.Reader) ([]byte, error) {
	if !d.Value.Valid() {
		return nil, fmt.Errorf("couldn't write an opinion: %w: %q is not an opinion value", ErrInvalid, d.Value)
	}
	if !strings.HasPrefix(d.Member, "identity--") {
		return nil, fmt.Errorf("couldn't write an opinion: %w: the member %q is not an identity id", ErrInvalid, d.Member)
	}
	if _, err := stix.SplitIdentifier(d.Object); err != nil {
		return nil, fmt.Errorf("couldn't write an opinion: %w: %v", ErrInvalid, err)
	}
	if d.Confidence != nil && (*d.Confidence < 0 || *d.Confidence > 100) {
		return nil, fmt.Errorf("couldn't write an opinion: %w: confidence %d is not from 0 to 100", ErrInvalid, *d.Confidence)
	}
	u, err := uuid.NewRandomFromReader(rand)
	if err != nil {
		return nil, fmt.Errorf("couldn't write an opinion: %w", err)
	}
	ts := stix.FormatTimestamp(now.UTC().Truncate(time.Millisecond))
	m := map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": "opinion--" + u.String(),
		"created": ts, "modified": ts, "created_by_ref": d.Member,
		"opinion": string(d.Value), "object_refs": []string{d.Object},
	}
	if d.Explanation != "" {
		m["explanation"] = d.Explanation
	}
	if d.Confidence != nil {
		m["confidence"] = *d.Confidence
	}
	return signChecked(m, key)
}

// Revoke writes the revoking version of a member's opinion: the same
// object with revoked true and modified set to now, or to one millisecond
// after the previous version when now isn't later (a new version must
// have a greater modified). It returns the signed canonical JSON.
func Revoke(prev []byte, key ed25519.PrivateKey, now time.Time) ([]byte, error) {
	op, err := Parse(prev)
	if err != nil {
		return nil, fmt.Errorf("couldn't revoke: %w", err)
	}
	if op.Revoked {
		return nil, fmt.Errorf("couldn't revoke %s: %w: it is already revoked", op.ID, ErrInvalid)
	}
	return nextVersion(op, key, now, func(m map[string]any) { m["revoked"] = true })
}

// nextVersion writes the next version of op: its properties without the
// signature, edited by edit, with modified set to now (or one millisecond
// after op's version when now isn't later), signed with key.
func nextVersion(op Opinion, key ed25519.PrivateKey, now time.Time, edit func(map[string]any)) ([]byte, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(op.Raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("couldn't write a new version of %s: %w", op.ID, err)
	}
	if ext, ok := m["extensions"].(map[string]any); ok {
		delete(ext, stix.SignatureExtensionID)
		if len(ext) == 0 {
			delete(m, "extensions")
		}
	}
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(op.Version) {
		t = op.Version.Add(time.Millisecond).Truncate(time.Millisecond)
	}
	m["modified"] = stix.FormatTimestamp(t)
	edit(m)
	return signChecked(m, key)
}

// Withdrawal is a new opinion version that withdraws a member's stance on
// an object (see [Withdraw]).
type Withdrawal struct {
	// Standing is the version it supersedes (from the opinions given to
	// Withdraw, so its Raw can be matched to where it is stored).
	Standing Opinion
	// Raw is the new version, signed: revoked, or, when the opinion is
	// also about other objects, without the object in its object_refs.
	Raw []byte
	// Revoked reports whether Raw is revoked (else it drops the object).
	Revoked bool
}

// Withdraw returns the new versions that withdraw member's stance on
// object: one for every opinion of member whose standing version (rules
// 1–3 of the package documentation, over the verified opinions given)
// counts for object. An opinion about object alone is revoked (rule 4);
// one also about other objects gets a version without object in its
// object_refs (rule 5), so its stance on the others stays. Once they are
// stored, [Compute] counts no opinion of member on object: revoking only
// the counted opinion would let rule 6 count the member's next latest
// one instead. The versions are signed with key and ordered by opinion
// id; none when member has no standing opinion on object.
func Withdraw(object, member string, opinions []Opinion, key ed25519.PrivateKey, now time.Time) ([]Withdrawal, error) {
	standing := map[string]Opinion{}
	for _, o := range opinions {
		if !o.verified || o.Member != member {
			continue
		}
		if cur, ok := standing[o.ID]; !ok || later(o, cur) {
			standing[o.ID] = o
		}
	}
	var out []Withdrawal
	for _, o := range standing {
		if o.Revoked || !o.About(object) {
			continue
		}
		w := Withdrawal{Standing: o, Revoked: len(o.ObjectRefs) == 1}
		var err error
		if w.Revoked {
			w.Raw, err = nextVersion(o, key, now, func(m map[string]any) { m["revoked"] = true })
		} else {
			refs := slices.DeleteFunc(slices.Clone(o.ObjectRefs), func(r string) bool { return r == object })
			w.Raw, err = nextVersion(o, key, now, func(m map[string]any) { m["object_refs"] = refs })
		}
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Withdrawal) int { return strings.Compare(a.Standing.ID, b.Standing.ID) })
	return out, nil
}

// signChecked signs m and checks that the result is a valid opinion, so
// that New and Revoke never hand out an object the node would refuse.
func signChecked(m map[string]any, key ed25519.PrivateKey) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("couldn't write an opinion: %w", err)
	}
	signed, err := stix.Sign(b, key)
	if err != nil {
		return nil, err
	}
	if _, err := Parse(signed); err != nil {
		return nil, fmt.Errorf("couldn't write an opinion: %w", err)
	}
	return signed, nil
}
