package tlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Witness policies in the C2SP tlog-policy format:
//
//	log <vkey> [<url>]
//	witness <name> <vkey> [<url>]
//	group <name> all|any|<k> <name>...
//	quorum <name>|none
//
// Items are separated by spaces and tabs; empty lines and lines starting
// with "#" are ignored; a group or the quorum names only witnesses and
// groups defined on earlier lines; a name is a group member at most once in
// the whole policy; witness keys are cosignature keys (type 0x04 Ed25519
// cosignature/v1, or 0x06 ML-DSA-44); no two logs and no two witnesses share a public key; exactly one
// quorum line.

// ErrMalformedPolicy is returned (wrapped) for a policy that isn't valid
// C2SP tlog-policy text.
var ErrMalformedPolicy = errors.New("malformed witness policy")

// ErrQuorum is returned (wrapped) by [CheckQuorum] when a checkpoint isn't
// signed by a policy log or isn't cosigned by the policy's quorum.
var ErrQuorum = errors.New("checkpoint doesn't meet the witness policy")

// Policy limits: C2SP recommends supporting at least 32 of each.
const (
	MaxPolicyLogs      = 256
	MaxPolicyWitnesses = 256
	MaxPolicyGroups    = 256
	MaxPolicySize      = 1 << 20
)

// Policy is a parsed witness policy.
type Policy struct {
	// Logs are the logs whose checkpoints the policy accepts; empty means
	// the caller checks the log signature itself.
	Logs []PolicyLog
	// Witnesses are the known witnesses, in file order.
	Witnesses []PolicyWitness
	// Groups are the witness groups, in file order.
	Groups []PolicyGroup
	// Quorum names the witness or group that must witness a checkpoint,
	// or "none".
	Quorum string

	names map[string]int // witness i → i; group j → -(j+1)
}

// PolicyLog is one "log" line.
type PolicyLog struct {
	Key string
	URL string
	v   note.Verifier
}

// PolicyWitness is one "witness" line.
type PolicyWitness struct {
	Name string
	Key  string
	// URL is the witness's submission prefix, if given (monitor retrieval
	// uses the same prefix).
	URL string
	v   *CosignatureVerifier
}

// PolicyGroup is one "group" line: witnessed when at least K members are.
type PolicyGroup struct {
	Name    string
	K       int
	Members []string
	// kText is how K was written ("all", "any" or the number).
	kText string
}

// Cosignature is one valid witness cosignature found by [CheckQuorum].
type Cosignature struct {
	// Witness is the witness's name in the policy.
	Witness string
	// Key is its verifier key.
	Key string
	// Time is the cosignature's timestamp: the witness vouches that the
	// checkpoint was the largest consistent one it had seen then.
	Time time.Time
}

// ParsePolicy parses C2SP tlog-policy text. It fails with
// [ErrMalformedPolicy] naming the line.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedPolicy, MaxPolicySize)
	}
	for i, c := range data {
		if c != '\t' && c != '\n' && (c < 0x20 || c == 0x7f) {
			line := bytes.Count(data[:i], []byte{'\n'}) + 1
			return nil, fmt.Errorf("%w: line %d: control character 0x%02x", ErrMalformedPolicy, line, c)
		}
	}
	p := &Policy{names: map[string]int{}}
	sawQuorum := false
	// Public keys seen, to reject duplicate logs and duplicate witnesses
	// (a witness may hold a log's key: tlog-policy forbids only the former).
	logKeys, witnessKeys := map[string]bool{}, map[string]bool{}
	// Names listed as a group member: each at most once in the policy, so
	// a witness contributes to the quorum in only one way.
	member := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		bad := func(format string, args ...any) (*Policy, error) {
			return nil, fmt.Errorf("%w: line %d: %s", ErrMalformedPolicy, i+1, fmt.Sprintf(format, args...))
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return bad("want: log <vkey> [<url>]")
			}
			if len(p.Logs) == MaxPolicyLogs {
				return bad("more than %d logs", MaxPolicyLogs)
			}
			v, err := NewVerifier(f[1])
			if err != nil {
				return bad("%v", err)
			}
			_, _, raw, _ := splitVerifierKey(f[1])
			if logKeys[string(raw[1:])] {
				return bad("the key of this log is already another log's")
			}
			logKeys[string(raw[1:])] = true
			l := PolicyLog{Key: f[1], v: v}
			if len(f) == 3 {
				l.URL = f[2]
			}
			p.Logs = append(p.Logs, l)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return bad("want: witness <name> <vkey> [<url>]")
			}
			if len(p.Witnesses) == MaxPolicyWitnesses {
				return bad("more than %d witnesses", MaxPolicyWitnesses)
			}
			if err := p.define(f[1]); err != nil {
				return bad("%v", err)
			}
			if _, _, raw, err := splitVerifierKey(f[2]); err == nil && raw[0] != CosignatureType && raw[0] != MLDSACosignatureType {
				// tlog-policy: witness keys are of a tlog-cosignature
				// type: Ed25519 cosignature/v1 (0x04) or ML-DSA-44 (0x06).
				return bad("witness %s's key has type 0x%02x, not a cosignature key (0x04 Ed25519, 0x06 ML-DSA-44)", f[1], raw[0])
			}
			v, err := NewCosignatureVerifier(f[2])
			if err != nil {
				return bad("%v", err)
			}
			if witnessKeys[string(v.pub)] {
				return bad("the key of witness %s is already another witness's", f[1])
			}
			witnessKeys[string(v.pub)] = true
			w := PolicyWitness{Name: f[1], Key: f[2], v: v}
			if len(f) == 4 {
				w.URL = f[3]
			}
			p.names[f[1]] = len(p.Witnesses)
			p.Witnesses = append(p.Witnesses, w)
		case "group":
			if len(f) < 4 {
				return bad("want: group <name> all|any|<k> <name>...")
			}
			if len(p.Groups) == MaxPolicyGroups {
				return bad("more than %d groups", MaxPolicyGroups)
			}
			if err := p.define(f[1]); err != nil {
				return bad("%v", err)
			}
			g := PolicyGroup{Name: f[1], Members: append([]string(nil), f[3:]...), kText: f[2]}
			seen := map[string]bool{}
			for _, m := range g.Members {
				if m == "none" {
					return bad("none can't be a group member")
				}
				if _, ok := p.names[m]; !ok {
					return bad("%q isn't defined on an earlier line", m)
				}
				if seen[m] {
					return bad("%q is listed twice", m)
				}
				seen[m] = true
				if g, dup := member[m]; dup {
					return bad("%q is already a member of group %q (a name may be a group member once)", m, g)
				}
				member[m] = f[1]
			}
			switch g.kText {
			case "all":
				g.K = len(g.Members)
			case "any":
				g.K = 1
			default:
				k, err := strconv.Atoi(g.kText)
				if err != nil || strconv.Itoa(k) != g.kText || k < 1 || k > len(g.Members) {
					return bad("threshold %q isn't all, any or a decimal from 1 to %d", g.kText, len(g.Members))
				}
				g.K = k
			}
			p.names[f[1]] = -(len(p.Groups) + 1)
			p.Groups = append(p.Groups, g)
		case "quorum":
			if len(f) != 2 {
				return bad("want: quorum <name>")
			}
			if sawQuorum {
				return bad("a second quorum line")
			}
			if _, ok := p.names[f[1]]; !ok && f[1] != "none" {
				return bad("%q isn't defined on an earlier line", f[1])
			}
			p.Quorum, sawQuorum = f[1], true
		default:
			return bad("unknown keyword %.40q", f[0])
		}
	}
	if !sawQuorum {
		return nil, fmt.Errorf("%w: no quorum line", ErrMalformedPolicy)
	}
	return p, nil
}

// define reserves a witness or group name.
func (p *Policy) define(name string) error {
	if name == "none" {
		return errors.New("none is a reserved name")
	}
	if _, dup := p.names[name]; dup {
		return fmt.Errorf("%q is defined twice", name)
	}
	return nil
}

// NewWitnessPolicy is the shorthand policy of `--witness VKEY` (repeated)
// with `--witness-quorum K`: any K of the witnesses, in a group named
// "K-of-N"; no witnesses and K = 0 is "quorum none". Each witness is named
// by its key's name (so that messages say which witness), or w1, w2, ...
// when two keys share a name. It accepts any log (the caller checks the log
// signature).
func NewWitnessPolicy(witnessKeys []string, k int) (*Policy, error) {
	var b strings.Builder
	names := shorthandNames(witnessKeys, fmt.Sprintf("%d-of-%d", k, len(witnessKeys)))
	for i, key := range witnessKeys {
		if strings.ContainsAny(key, " \t\n") {
			return nil, fmt.Errorf("%w: witness key %.80q", ErrMalformedPolicy, key)
		}
		fmt.Fprintf(&b, "witness %s %s\n", names[i], key)
	}
	switch {
	case k < 0 || k > len(witnessKeys):
		return nil, fmt.Errorf("%w: a quorum of %d out of %d witnesses", ErrMalformedPolicy, k, len(witnessKeys))
	case k == 0:
		if len(witnessKeys) > 0 {
			return nil, fmt.Errorf("%w: a quorum of 0 with witnesses given; use at least 1", ErrMalformedPolicy)
		}
		b.WriteString("quorum none\n")
	default:
		group := fmt.Sprintf("%d-of-%d", k, len(witnessKeys))
		fmt.Fprintf(&b, "group %s %d %s\nquorum %s\n", group, k, strings.Join(names, " "), group)
	}
	return ParsePolicy([]byte(b.String()))
}

// shorthandNames names the witnesses of keys by their keys' names, unless
// two share a name, one has none or it is "none" or group: then w1, w2, ...
func shorthandNames(keys []string, group string) []string {
	names := make([]string, len(keys))
	seen := map[string]bool{"none": true, group: true}
	for i, key := range keys {
		name, _, _ := strings.Cut(key, "+")
		if name == "" || seen[name] || strings.ContainsAny(name, " \t\n") {
			for j := range names {
				names[j] = "w" + strconv.Itoa(j+1)
			}
			return names
		}
		seen[name] = true
		names[i] = name
	}
	return names
}

// String returns the policy in canonical C2SP tlog-policy text: logs,
// witnesses, groups, then the quorum, one space between items. Parsing it
// gives the same policy.
func (p *Policy) String() string {
	var b strings.Builder
	for _, l := range p.Logs {
		b.WriteString("log " + l.Key)
		if l.URL != "" {
			b.WriteString(" " + l.URL)
		}
		b.WriteByte('\n')
	}
	for _, w := range p.Witnesses {
		b.WriteString("witness " + w.Name + " " + w.Key)
		if w.URL != "" {
			b.WriteString(" " + w.URL)
		}
		b.WriteByte('\n')
	}
	for _, g := range p.Groups {
		fmt.Fprintf(&b, "group %s %s %s\n", g.Name, g.kText, strings.Join(g.Members, " "))
	}
	b.WriteString("quorum " + p.Quorum + "\n")
	return b.String()
}

// CheckQuorum checks a signed checkpoint note against the policy: signed
// by one of the policy's logs (skipped when it lists none: the caller
// verifies the log signature with the key it pins), and cosigned by the
// quorum. Only timestamped C2SP cosignatures count (Ed25519
// cosignature/v1, ML-DSA-44 with a timestamp), since a cosignature must
// carry its time; signatures from keys the policy doesn't know are
// ignored, but a signature line naming a policy witness's key that doesn't
// verify rejects the whole note (C2SP signed-note). It returns every valid
// policy-witness cosignature, in policy order, even when the quorum fails,
// with [ErrQuorum] then.
func CheckQuorum(p *Policy, signed []byte) ([]Cosignature, error) {
	cos, _, err := checkQuorum(p, signed)
	return cos, err
}

// checkQuorum is [CheckQuorum], returning also every valid policy-witness
// cosignature with a timestamp, in note order: a note may carry more than
// one cosignature of a witness (a node that had its unchanged checkpoint
// cosigned again keeps the first and the latest, docs/witness.md), and
// [CosignedTimes] needs them all while the quorum counts each witness
// once, by its first line.
func checkQuorum(p *Policy, signed []byte) ([]Cosignature, []Cosignature, error) {
	if err := checkSignatureEncoding(signed); err != nil {
		return nil, nil, err
	}
	if len(p.Logs) > 0 {
		vs := make([]note.Verifier, len(p.Logs))
		for i, l := range p.Logs {
			vs[i] = l.v
		}
		n, err := OpenNote(signed, note.VerifierList(vs...))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: not signed by a policy log: %v", ErrQuorum, err)
		}
		c, err := ParseCheckpoint([]byte(n.Text))
		if err != nil {
			return nil, nil, err
		}
		if !originSigned(c.Origin, n.Sigs) {
			return nil, nil, fmt.Errorf("%w: origin %q isn't the name of the log key that signed it", ErrQuorum, c.Origin)
		}
	}
	var cos, all []Cosignature
	have := map[string]bool{}
	if len(p.Witnesses) > 0 {
		vs := make([]note.Verifier, len(p.Witnesses))
		for i, w := range p.Witnesses {
			vs[i] = w.v
		}
		n, err := OpenNote(signed, note.VerifierList(vs...))
		var unverified *note.UnverifiedNoteError
		switch {
		case errors.As(err, &unverified):
			// No cosignature from a policy witness: only "quorum none" passes.
		case err != nil:
			return nil, nil, fmt.Errorf("%w: %w", ErrQuorum, err)
		default:
			if _, err := ParseCheckpoint([]byte(n.Text)); err != nil {
				return nil, nil, err
			}
			byKey := map[[2]any]int{}
			for i, w := range p.Witnesses {
				byKey[[2]any{w.v.name, w.v.hash}] = i
			}
			for _, s := range n.Sigs {
				i := byKey[[2]any{s.Name, s.Hash}]
				t, err := CosignatureTime(s.Base64)
				if err != nil {
					return nil, nil, err
				}
				if t.Unix() == 0 {
					// An ML-DSA-44 cosignature without a timestamp
					// states nothing about the log's latest tree.
					continue
				}
				w := p.Witnesses[i]
				if !have[w.Name] {
					have[w.Name] = true
					cos = append(cos, Cosignature{Witness: w.Name, Key: w.Key, Time: t})
				}
			}
			// n.Sigs has each key's first line; OpenNote verified the
			// others too. Every line of a policy witness counts for all.
			for _, l := range strings.Split(string(signed[len(n.Text)+1:]), "\n") {
				name, hash, sig, ok := SignatureLine(l)
				if !ok {
					continue
				}
				i, ok := byKey[[2]any{name, hash}]
				if !ok || len(sig) < 8 {
					continue
				}
				t := binary.BigEndian.Uint64(sig)
				if t == 0 || t > math.MaxInt64 {
					continue // no statement (see above); out of range
				}
				w := p.Witnesses[i]
				all = append(all, Cosignature{Witness: w.Name, Key: w.Key, Time: time.Unix(int64(t), 0).UTC()})
			}
			sort.SliceStable(cos, func(a, b int) bool { return p.names[cos[a].Witness] < p.names[cos[b].Witness] })
		}
	}
	if p.Quorum == "none" || p.witnessed(p.Quorum, have) {
		return cos, all, nil
	}
	return cos, all, fmt.Errorf("%w: %d policy witness(es) cosigned it, not enough for quorum %s", ErrQuorum, len(cos), p.Quorum)
}

// witnessed evaluates a witness or group name against the witnesses that
// cosigned. Groups name only earlier names, so evaluating them in file
// order, each once, settles every group in linear time (a recursive walk
// could take exponential time on groups that share members).
func (p *Policy) witnessed(name string, have map[string]bool) bool {
	groups := make([]bool, len(p.Groups))
	is := func(n string) bool {
		i := p.names[n]
		if i >= 0 {
			return have[p.Witnesses[i].Name]
		}
		return groups[-i-1]
	}
	for j, g := range p.Groups {
		n := 0
		for _, m := range g.Members {
			if is(m) {
				n++
			}
		}
		groups[j] = n >= g.K
	}
	return is(name)
}

// Needs reports whether the policy's quorum can't be met without the
// witness named name: the cosignatures of all its other witnesses fall
// short of it.
func (p *Policy) Needs(name string) bool {
	if p.Quorum == "none" {
		return false
	}
	have := map[string]bool{}
	for _, w := range p.Witnesses {
		if w.Name != name {
			have[w.Name] = true
		}
	}
	return !p.witnessed(p.Quorum, have)
}

// WitnessURLs returns the witnesses that have a URL, by name.
func (p *Policy) WitnessURLs() map[string]string {
	out := map[string]string{}
	for _, w := range p.Witnesses {
		if w.URL != "" {
			out[w.Name] = w.URL
		}
	}
	return out
}

// originSigned reports whether one of the verified signatures is by a key
// named origin (C2SP tlog-checkpoint: the log key's name is the origin).
func originSigned(origin string, sigs []note.Signature) bool {
	for _, s := range sigs {
		if s.Name == origin {
			return true
		}
	}
	return false
}
