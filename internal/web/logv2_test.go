package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// v2Log is a log in format v2 (/work/notes/logv2.md, the trust-core
// change under way on main), built in the test from a node's store as it
// is at build time: a member-key register entry for each member with a
// key, then an object entry for each stored object version, in store
// order. It serves GET /log/key, /log/checkpoint, /log/receipt and
// /log/keys as the v2 node will, and passes every other request to the
// node. It exists to test the browser's checks against the v2 rules
// before the node speaks them; once it does, the browser test should run
// against the node alone.
type v2Log struct {
	n      *node.Node
	next   http.Handler
	signer note.Signer
	vkey   string

	mu         sync.Mutex
	leaves     [][]byte // leaf hashes
	entries    [][]byte
	objects    map[string]int // object id + "\n" + version -> index
	openings   map[int]opening
	keyEvents  map[string][]int
	checkpoint string
}

type opening struct {
	salt                                []byte
	collection, objectID, version, memb string
}

func canonical(t testing.TB, m map[string]string) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = stix.Canonicalize(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func lp(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	return append(b, s...)
}

// commitmentV2 is the object commitment of logv2.md.
func commitmentV2(salt []byte, collection, objectID, version, member string, canon []byte) string {
	h := sha256.New()
	h.Write([]byte("parley-object-commitment-v2\n"))
	h.Write(salt)
	for _, s := range []string{collection, objectID, version, member} {
		h.Write(lp(s))
	}
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

func leafHash(b []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, b...))
	return h[:]
}

func nodeHash(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

// mth and path are RFC 9162 section 2.1.1 and 2.1.3.1, written from the
// definitions (the node's own tree code is what this must agree with,
// not what it may share bugs with).
func mth(d [][]byte) []byte {
	switch len(d) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return d[0]
	}
	k := split(len(d))
	return nodeHash(mth(d[:k]), mth(d[k:]))
}

func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func path(m int, d [][]byte) [][]byte {
	if len(d) <= 1 {
		return nil
	}
	k := split(len(d))
	if m < k {
		return append(path(m, d[:k]), mth(d[k:]))
	}
	return append(path(m-k, d[k:]), mth(d[:k]))
}

// consistency is RFC 9162 section 2.1.4.1's PROOF(m, D[n]), from the
// definition.
func consistency(m int, d [][]byte) [][]byte { return subproof(m, d, true) }

func subproof(m int, d [][]byte, b bool) [][]byte {
	n := len(d)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{mth(d)}
	}
	k := split(n)
	if m <= k {
		return append(subproof(m, d[:k], b), mth(d[k:]))
	}
	return append(subproof(m-k, d[k:], false), mth(d[:k]))
}

func newV2Log(t testing.TB, n *node.Node) *v2Log {
	t.Helper()
	origin := "parley.test/v2"
	skey, vkey, err := tlog.NewNodeKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l := &v2Log{n: n, next: n.Handler(nil), signer: signer, vkey: vkey,
		objects: map[string]int{}, openings: map[int]opening{}, keyEvents: map[string][]int{}}
	ctx := context.Background()
	received := time.Date(2026, 9, 14, 8, 0, 0, 0, time.UTC)
	add := func(leaf []byte) int {
		l.entries = append(l.entries, leaf)
		l.leaves = append(l.leaves, leafHash(leaf))
		received = received.Add(time.Second)
		return len(l.entries) - 1
	}
	ms, err := n.Store().Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if len(m.PublicKey) == 0 {
			continue
		}
		i := add(canonical(t, map[string]string{"authority": "operator", "event": "register", "key": base64.StdEncoding.EncodeToString(m.PublicKey),
			"kind": "member-key", "member": m.ID, "received": received.Format(time.RFC3339Nano)}))
		l.keyEvents[m.ID] = append(l.keyEvents[m.ID], i)
	}
	cs, err := n.Store().Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all []store.Object
	for _, c := range cs {
		p, err := n.Store().Objects(ctx, store.Query{Collection: c.ID, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Objects...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	for _, o := range all {
		var v struct{ Modified, Created string }
		json.Unmarshal(o.Raw, &v)
		version := v.Modified
		if version == "" {
			version = v.Created
		}
		salt := make([]byte, 32)
		rand.Read(salt)
		c := commitmentV2(salt, o.Collection, o.ID, version, o.Member, o.Raw)
		i := add(canonical(t, map[string]string{"commitment": c, "kind": "object", "received": received.Format(time.RFC3339Nano)}))
		l.objects[o.ID+"\n"+version] = i
		l.openings[i] = opening{salt, o.Collection, o.ID, version, o.Member}
	}
	root := mth(l.leaves)
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, len(l.leaves), base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoint = string(signed)
	return l
}

func b64s(hs [][]byte) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, base64.StdEncoding.EncodeToString(h))
	}
	return out
}

func (l *v2Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/log/key", "/log/checkpoint", "/log/receipt", "/log/keys":
	default:
		l.next.ServeHTTP(w, r)
		return
	}
	m, err := l.n.AuthenticateRequest(r)
	if err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(l.leaves)
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/log/key":
		fmt.Fprintln(w, l.vkey)
	case "/log/checkpoint":
		fmt.Fprint(w, l.checkpoint)
	case "/log/receipt":
		i, ok := l.objects[q.Get("object")+"\n"+q.Get("version")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		op := l.openings[i]
		c, err := l.n.Store().Collection(r.Context(), op.collection)
		if err != nil || !c.CanRead(m.ID) {
			http.NotFound(w, r) // as for an unknown object
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"log_index": i, "tree_size": size, "entry": l.entries[i], "salt": op.salt,
			"collection": op.collection, "member": op.memb, "object_id": op.objectID, "version": op.version,
			"inclusion_proof": b64s(path(i, l.leaves)), "checkpoint": l.checkpoint,
		})
	case "/log/keys":
		var events []map[string]any
		for member, idx := range l.keyEvents {
			if q.Get("member") != "" && q.Get("member") != member {
				continue
			}
			for _, i := range idx {
				events = append(events, map[string]any{"log_index": i, "entry": l.entries[i], "inclusion_proof": b64s(path(i, l.leaves))})
			}
		}
		sort.Slice(events, func(a, b int) bool { return events[a]["log_index"].(int) < events[b]["log_index"].(int) })
		// The key index of the entries shown, signed as the node signs it.
		var keys []tlog.BundleKey
		for _, ev := range events {
			keys = append(keys, tlog.BundleKey{Entry: ev["entry"].([]byte), LogIndex: uint64(ev["log_index"].(int))})
		}
		var members []string
		if m := q.Get("member"); m != "" {
			members = []string{m}
		}
		var index string
		if v, err := tlog.NewVerifier(l.vkey); err == nil {
			if cp, err := tlog.OpenCheckpoint([]byte(l.checkpoint), v); err == nil {
				if k, err := tlog.NewKeyIndex(cp, keys, members); err == nil {
					index, _ = tlog.SignKeyIndex(k, l.signer)
				}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"tree_size": size, "checkpoint": l.checkpoint, "events": events, "key_index": index})
	}
}

// TestV2LogHelper checks the test's own v2 log against the module's
// Merkle and note code, so that the browser is tested against a log
// that is right.
func TestV2LogHelper(t *testing.T) {
	f := newFixture(t)
	l := newV2Log(t, f.n)
	v, err := tlog.NewVerifier(l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	nt, err := note.Open([]byte(l.checkpoint), note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split([]byte(nt.Text), []byte("\n"))
	if size, _ := strconv.Atoi(string(lines[1])); size != len(l.leaves) || size < 10 {
		t.Fatalf("checkpoint size %s, %d leaves", lines[1], len(l.leaves))
	}
	root, _ := base64.StdEncoding.DecodeString(string(lines[2]))
	for i := range l.leaves {
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(len(l.leaves)), l.leaves[i], path(i, l.leaves), root); err != nil {
			t.Fatalf("inclusion proof of %d doesn't verify", i)
		}
	}
}
