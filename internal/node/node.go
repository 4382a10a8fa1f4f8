package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// Node is a running Parley node over one data directory. Its methods are
// safe for concurrent use.
type Node struct {
	dir      string
	cfg      Config
	store    store.Store
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	// validator checks STIX objects; its Patterns map is filled by
	// [Options.Patterns].
	validator stix.Validator
	now       func() time.Time
	rand      io.Reader
	// testPeerBundleKeys, when set by a test, replaces MaxPeerBundleKeys.
	testPeerBundleKeys int64
	// roundOwner names this node in the leases of its feeds' and peers'
	// rounds (store.RoundLease): unique to the node value, so that two
	// front ends, even in one process, never share it.
	roundOwner string

	// private is the private-set state (see private.go): its providers
	// and configuration live as long as the node.
	private *privateAPI
	// tiles is the node's one cache of hash tiles for building proofs
	// (receipts, bundles, consistency proofs).
	tiles *tlog.TileCache
	// memory is the budget of responses that carry objects
	// (Config.ResponseMemory).
	memory *memoryBudget
	// envelopes is the budget of envelopes being received
	// (Config.EnvelopeMemory).
	envelopes *memoryBudget
	// checks are the CPUs checking received objects (Submit): taken a
	// chunk at a time in the submitting member's name, so that the member
	// keeping fewest busy goes first.
	checks *memoryBudget
	// metrics are the node's Prometheus metrics (metrics.go).
	metrics *nodeMetrics
	// ext are the routes and workers of [Node.Extend].
	ext Extension
	// peerWitness is the witness of the peers' logs while it runs (see
	// peers.go); nil when the node witnesses none.
	peerWitness *atomic.Pointer[witness.Witness]
}

// Options are what a caller injects into [Open]; the zero value is the
// production setting.
type Options struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of tokens, salts and ids; nil means crypto/rand.
	Rand io.Reader
	// Patterns are the indicator pattern validators by pattern_type (see
	// stix.Validator.Patterns); nil means [DefaultPatterns].
	Patterns map[string]func(string) error
	// Logger receives the lines Open logs (the schema migrations an
	// upgrade applied); nil means slog.Default().
	Logger *slog.Logger
}

// InitResult is what [Init] reports.
type InitResult struct {
	// VerifierKey is the log's note verifier key, to publish and pin.
	VerifierKey string
	Origin      string
}

// Init creates a node in dir (created if missing): a fresh note key for
// the log (node.key 0600, node.pub), config.json with cfg (Origin is set
// if empty) and an empty store. It fails with [ErrExists] if dir already
// holds a node, and with an error wrapping [tlog.ErrMalformedKey] if the
// origin can't name a note key (a space or a '+' in it); then it changes
// nothing.
func Init(ctx context.Context, dir string, cfg Config, r io.Reader) (InitResult, error) {
	if r == nil {
		r = rand.Reader
	}
	if cfg.Origin == "" {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return InitResult{}, fmt.Errorf("couldn't initialize: %w", err)
		}
		host, _ := os.Hostname()
		host = strings.Map(func(c rune) rune {
			if c <= ' ' || c == '+' || c == '/' || c > '~' {
				return -1
			}
			return c
		}, host)
		if host == "" {
			host = "localhost"
		}
		cfg.Origin = "parley." + host + "/" + hex.EncodeToString(b[:])
	}
	// The key first: a bad origin is refused before anything is written.
	skey, vkey, err := tlog.NewNodeKey(r, cfg.Origin)
	if err != nil {
		return InitResult{}, err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return InitResult{}, fmt.Errorf("couldn't create %s: %w", dir, err)
	}
	// A directory that existed before (made by hand, 0755) is tightened
	// too: the store files are 0600, but their names and sizes, and files
	// added later, are nobody else's business either.
	if err := os.Chmod(dir, dirMode); err != nil {
		return InitResult{}, fmt.Errorf("couldn't restrict %s to mode %o: %w", dir, dirMode, err)
	}
	for _, f := range []string{ConfigFile, KeyFile, PubKeyFile, StoreFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return InitResult{}, fmt.Errorf("couldn't initialize %s: %s exists: %w", dir, f, ErrExists)
		}
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return InitResult{}, fmt.Errorf("couldn't write the configuration: %w", err)
	}
	// On failure, remove what this call created, so that a failed Init
	// leaves nothing that a second Init would mistake for a node.
	var created []string
	fail := func(err error) (InitResult, error) {
		for _, f := range created {
			os.Remove(f)
		}
		return InitResult{}, err
	}
	dbPath := filepath.Join(dir, StoreFile)
	created = append(created, dbPath, dbPath+"-wal", dbPath+"-shm")
	s, err := openStore(ctx, dir, cfg, storeOptions{})
	if err != nil {
		return fail(err)
	}
	if err := s.Close(); err != nil {
		return fail(err)
	}
	for _, f := range []struct {
		name, what string
		data       []byte
		mode       os.FileMode
	}{
		{KeyFile, "the node key", []byte(skey + "\n"), secretMode},
		// The verifier key and the configuration hold no secret, but
		// every file of the data directory is the operator's alone:
		// one rule is easier to check than a list of exceptions.
		{PubKeyFile, "the node verifier key", []byte(vkey + "\n"), secretMode},
		// config.json last: its presence marks a complete node.
		{ConfigFile, "the configuration", append(cj, '\n'), secretMode},
	} {
		path := filepath.Join(dir, f.name)
		if err := writeFileSync(path, f.data, f.mode); err != nil {
			return fail(fmt.Errorf("couldn't write %s: %w", f.what, err))
		}
		created = append(created, path)
	}
	return InitResult{VerifierKey: vkey, Origin: cfg.Origin}, nil
}

// chmodNodeFile is os.Chmod; tests replace it to stand for a file system
// that refuses the change.
var chmodNodeFile = os.Chmod

// restrictNodeFiles takes the group's and others' permissions off the
// node's own files (config.json, node.key, node.pub) where they have any:
// the version of 24 November 2026 wrote config.json and node.pub 0644,
// and a key copied in may be 0644 too. A mode tighter than 0600 (0400)
// is kept. config.json and node.pub hold nothing secret, so one the node
// may not change (a read-only mount, such as a Kubernetes ConfigMap, or
// another owner's file) is left as it is, as versions before 4 December
// 2026 left it; a node.key others may read that the node can't tighten
// stops it, saying how to mount it.
func restrictNodeFiles(dir string) error {
	for _, f := range []string{ConfigFile, KeyFile, PubKeyFile} {
		path := filepath.Join(dir, f)
		fi, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // reported where the file is read
		}
		if err != nil {
			return fmt.Errorf("couldn't check the mode of %s: %w", path, err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			err := chmodNodeFile(path, perm&^0o077)
			refused := errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
			switch {
			case err == nil:
			case refused && f != KeyFile:
			case refused:
				return fmt.Errorf("the node's signing key %s has mode %o (others may read it) and the node can't restrict it to %o (%v): give it mode 600 or 400 where it is stored (a Kubernetes secret: defaultMode 0400)", path, perm, perm&^0o077, err)
			default:
				return fmt.Errorf("couldn't restrict %s to mode %o: %w", path, perm&^0o077, err)
			}
		}
	}
	return nil
}

// Open opens the node in dir (made by [Init]). It tightens the modes of
// dir (0700), of the node's files (config.json, node.key, node.pub: no
// permission for the group or others) and of the store files (0600) if
// they are looser, so that a data directory made by an older version or
// copied in is protected once the node runs.
func Open(ctx context.Context, dir string, opts Options) (*Node, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if err := checkWitnessCAs(dir, cfg.Witnesses); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm() != dirMode {
		if err := os.Chmod(dir, dirMode); err != nil {
			return nil, fmt.Errorf("couldn't restrict %s to mode %o: %w", dir, dirMode, err)
		}
	}
	if err := restrictNodeFiles(dir); err != nil {
		return nil, err
	}
	skey, err := untrusted.ReadFile(filepath.Join(dir, KeyFile), maxKeySz)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the node key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		// The error of note.NewSigner never contains the key.
		return nil, fmt.Errorf("couldn't parse the node key in %s: %w", filepath.Join(dir, KeyFile), err)
	}
	if signer.Name() != cfg.Origin {
		return nil, fmt.Errorf("couldn't open the node: the key in %s is for %q, not the origin %q", KeyFile, signer.Name(), cfg.Origin)
	}
	pub, err := untrusted.ReadFile(filepath.Join(dir, PubKeyFile), maxKeySz)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the node verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(pub))
	verifier, err := tlog.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Patterns == nil {
		opts.Patterns = DefaultPatterns()
	}
	cfg = cfg.withDefaults()
	st, err := openStore(ctx, dir, cfg, storeOptions{Now: opts.Now, Limits: cfg.storeLimits()})
	if err != nil {
		return nil, err
	}
	logSchemaUpgrade(opts.Logger, st)
	n := &Node{
		dir: dir, cfg: cfg, store: st,
		signer: signer, verifier: verifier, vkey: vkey,
		validator: stix.Validator{Patterns: opts.Patterns},
		now:       opts.Now, rand: opts.Rand,
		roundOwner:  store.NewRoundOwner(),
		tiles:       tlog.NewTileCache(TileCacheSize),
		memory:      newMemoryBudget(cfg.ResponseMemory),
		envelopes:   newMemoryBudget(cfg.EnvelopeMemory),
		checks:      newWorkerGate(runtime.GOMAXPROCS(0)),
		peerWitness: new(atomic.Pointer[witness.Witness]),
	}
	if err := checkLogFormat(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	if err := checkStoreIsThisLog(ctx, dir, cfg, st, verifier); err != nil {
		st.Close()
		return nil, err
	}
	if err := redactSourceURLs(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	n.private = newPrivateAPI(n)
	n.metrics = newNodeMetrics(n)
	return n, nil
}

// ErrOldLogFormat means the data directory holds a log in entry format v1,
// which this version refuses: v1 entries showed every member the
// collection, object id, sharer and version of entries they may not read.
var ErrOldLogFormat = store.ErrOldLogFormat

// checkLogFormat refuses a store whose first entry is not format v2.
func checkLogFormat(ctx context.Context, st store.Store) error {
	es, err := st.Entries(ctx, 0, 1)
	if err != nil || len(es) == 0 {
		return err
	}
	if _, err := tlog.ParseEntry(es[0].Leaf); errors.Is(err, tlog.ErrOldFormat) {
		return ErrOldLogFormat
	}
	return nil
}

// ErrWrongStore means config.json names a store that doesn't hold this
// node's log: another node's, or an empty database while the data
// directory's SQLite store holds the log. Serving it would sign a log
// that members' audits would find forked or shrunk.
var ErrWrongStore = errors.New("the store named in config.json doesn't hold this node's log")

// checkStoreIsThisLog refuses a store whose newest checkpoint isn't signed
// by the node's key (another node's database), and an empty PostgreSQL
// store while DIR/parley.db holds a log (config.json edited to a
// PostgreSQL URL without parley migrate): the node would start its log
// again from size 0 under the same key, a fork.
func checkStoreIsThisLog(ctx context.Context, dir string, cfg Config, st store.Store, verifier note.Verifier) error {
	_, cp, err := st.LatestCheckpoint(ctx)
	switch {
	case err == nil:
		if _, err := note.Open(cp, note.VerifierList(verifier)); err != nil {
			origin, _, _ := strings.Cut(string(cp), "\n")
			return fmt.Errorf("%w: its newest checkpoint is of the log %q, not signed by this node's key (%s): is config.json's \"store\" the database of another node?", ErrWrongStore, origin, PubKeyFile)
		}
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if kind, _ := storeKindOf(cfg.Store); kind != storePostgres {
		return nil
	}
	size, err := st.LogSize(ctx)
	if err != nil || size > 0 {
		return err
	}
	path := filepath.Join(dir, StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	// Read-only: Open would migrate a database an older Parley wrote,
	// which may be the operator's only copy of the log, before this
	// refuses to start.
	n, err := sqlite.PeekLogSize(ctx, path)
	if err != nil {
		return fmt.Errorf("couldn't check %s against the empty PostgreSQL store (move it away if it holds no log of this node's): %w", path, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: config.json names an empty PostgreSQL database, but %s holds this node's log of %d entries, which the node would start again from 0 (a fork members' audits report); put \"store\": \"sqlite\" back and run parley migrate --data %s --to URL", ErrWrongStore, path, n, dir)
	}
	return nil
}

// Close closes the store.
func (n *Node) Close() error { return n.store.Close() }

// Config returns the node's configuration with defaults applied.
func (n *Node) Config() Config { return n.cfg }

// Dir returns the data directory.
func (n *Node) Dir() string { return n.dir }

// Store returns the node's store.
func (n *Node) Store() store.Store { return n.store }

// Signer returns the log's note signer (the checkpoint key).
func (n *Node) Signer() note.Signer { return n.signer }

// VerifierKey returns the log's note verifier key text.
func (n *Node) VerifierKey() string { return n.vkey }

// Now returns the node's current time.
func (n *Node) Now() time.Time { return n.now() }

// Rand returns the node's randomness source.
func (n *Node) Rand() io.Reader { return n.rand }

// tokenPrefix marks Parley API tokens so that secret scanners can find
// leaked ones.
const tokenPrefix = taxii.TokenPrefix

// NewToken issues a fresh API token for a member: 32 random bytes, shown
// to the caller once and stored only as their SHA-256.
func (n *Node) NewToken(ctx context.Context, memberID string) (string, error) {
	tok, hash, err := n.freshToken()
	if err != nil {
		return "", err
	}
	if err := n.store.AddToken(ctx, store.Token{Hash: hash, Member: memberID, Created: n.now()}); err != nil {
		return "", err
	}
	return tok, nil
}

// NewMember is a member as [Node.AddMember] made it.
type NewMember struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// AddMember registers a member named name, with an optional Ed25519 public
// key, creates its STIX identity object (identity--UUID, identity_class
// "organization") so that its objects can name it in created_by_ref, and
// issues its first API token. The registration and the token are two
// transactions: when the token fails, the member stays registered and the
// error says so, with the member's id.
//
// Names beginning with "feed:" or "peer:" (in any case) are the node's
// own: those of its feeds' and peers' members, which [Node.AddFeed] and
// [Node.AddPeer] create without a token. AddMember refuses them
// (store.ErrInvalid): a member named feed:NAME made first, its token
// given out, would otherwise be taken by `feed add --name NAME` as the
// feed's member, and the token's holder would write into the feed's
// relay collection as the feed.
func (n *Node) AddMember(ctx context.Context, name string, publicKey ed25519.PublicKey) (NewMember, error) {
	name = strings.TrimSpace(name)
	if p := reservedPrefix(name); p != "" {
		return NewMember{}, fmt.Errorf("couldn't add member %q: names beginning with %q are the node's own, for its feeds' and peers' members (parley feed add, parley peer add): %w", name, p, store.ErrInvalid)
	}
	return n.addMember(ctx, name, publicKey, true)
}

// reservedMemberPrefixes begin the names of the node's own members, which
// [Node.AddMember] refuses: a feed's ([feed.MemberName]) and a peer's
// ([peer.MemberName]).
var reservedMemberPrefixes = []string{"feed:", peer.MemberPrefix}

// ErrSystemMember is wrapped by the error of every grant of read or write
// to a peer's or a feed's member (peer:NAME, feed:NAME; see
// [Node.systemMembers]): [Node.GrantAccess], the readers and writers of
// [Node.CreateCollection], and the readers of [Node.AddPeer] and
// [Node.AddFeed]. Nobody logs in as such a member (it has no token), so
// the grant would give nobody anything, and a member on a collection's
// lists counts as one who reads it where access is reported. It wraps
// store.ErrInvalid.
var ErrSystemMember = fmt.Errorf("a peer's or a feed's member is the node's own, and is given no access: %w", store.ErrInvalid)

// refuseSystemMember returns an error wrapping [ErrSystemMember] when m
// is a peer's or a feed's member, given what (e.g. "read on collection
// C") in the message.
func (n *Node) refuseSystemMember(ctx context.Context, m store.Member, what string) error {
	sys, err := n.systemMembers(ctx)
	if err != nil {
		return err
	}
	if !sys[m.ID] {
		return nil
	}
	return fmt.Errorf("couldn't give %s %s: %s is the member of a peer or a feed, as which only the node writes and nobody reads (grant the members who read it instead): %w", untrusted.Text(m.Name, 200), what, untrusted.Text(m.Name, 200), ErrSystemMember)
}

// reservedPrefix returns the reserved prefix name begins with, in any
// case, or "".
func reservedPrefix(name string) string {
	for _, p := range reservedMemberPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return p
		}
	}
	return ""
}

// addSystemMember registers the member of a feed or a peer, named name:
// as [Node.AddMember], with no key and no token (nobody logs in as it:
// the node writes as it).
func (n *Node) addSystemMember(ctx context.Context, name string) (NewMember, error) {
	return n.addMember(ctx, name, nil, false)
}

// addMember is [Node.AddMember] without its check of the name, issuing a
// token only with withToken.
func (n *Node) addMember(ctx context.Context, name string, publicKey ed25519.PublicKey, withToken bool) (NewMember, error) {
	if name == "" {
		return NewMember{}, fmt.Errorf("couldn't add a member: the name is empty: %w", store.ErrInvalid)
	}
	if publicKey != nil && len(publicKey) != ed25519.PublicKeySize {
		return NewMember{}, fmt.Errorf("couldn't add member %q: the public key has %d bytes, want 32: %w", name, len(publicKey), store.ErrInvalid)
	}
	u, err := uuid.NewRandomFromReader(n.rand)
	if err != nil {
		return NewMember{}, fmt.Errorf("couldn't add member %q: %w", name, err)
	}
	id := "identity--" + u.String()
	now := stix.FormatTimestamp(n.now().Truncate(time.Millisecond))
	identity, err := json.Marshal(map[string]any{
		"type": "identity", "spec_version": "2.1", "id": id,
		"created": now, "modified": now,
		"name": name, "identity_class": "organization",
	})
	if err != nil {
		return NewMember{}, err
	}
	if identity, err = stix.Canonicalize(identity); err != nil {
		return NewMember{}, err
	}
	var key []byte
	if publicKey != nil {
		key = []byte(publicKey)
	}
	if err := n.store.AddMember(ctx, store.Member{ID: id, Name: name, PublicKey: key, Identity: identity, Created: n.now()}); err != nil {
		return NewMember{}, err
	}
	if !withToken {
		return NewMember{ID: id}, nil
	}
	tok, err := n.NewToken(ctx, id)
	if err != nil {
		// The registration is in the log for good, and the name taken:
		// adding the member again would fail, rotating its token won't.
		return NewMember{}, fmt.Errorf("registered member %q (%s), but couldn't issue its token: %w; issue one with parley member token --member %s --rotate", name, id, err, id)
	}
	return NewMember{ID: id, Token: tok}, nil
}

// RotateKey replaces a member's key with newKey, as a log entry in clear.
// With a statement (the previous key's signature of
// [tlog.RotationMessage], which `parley keygen --rotate` writes) the
// rotation is recorded as the member's own; without, as operator-asserted,
// which every client shows. It fails with store.ErrInvalid when the
// statement doesn't verify with the key in force, and changes nothing.
func (n *Node) RotateKey(ctx context.Context, member string, newKey ed25519.PublicKey, statement []byte) error {
	if len(newKey) != ed25519.PublicKeySize {
		return fmt.Errorf("couldn't rotate the key of %s: the new key has %d bytes, want 32: %w", member, len(newKey), store.ErrInvalid)
	}
	ev := store.KeyEvent{Member: member, Event: tlog.EventRotate, Key: newKey, Authority: tlog.AuthorityOperator}
	if statement != nil {
		ev.Authority, ev.Statement = tlog.AuthorityMember, statement
	}
	return n.store.ChangeKey(ctx, ev)
}

// RevokeMember ends a member: its key is no longer in force for anything
// logged later, its tokens stop working, and the revocation is a log entry
// in clear. Objects it shared before stay, signed and verifiable.
//
// A peer whose member (peer:NAME) it is stops at once ([Node.RemoveMember]
// too): parley peer status shows it "stopped" from then on.
func (n *Node) RevokeMember(ctx context.Context, member string) error {
	if err := n.store.ChangeKey(ctx, store.KeyEvent{Member: member, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}); err != nil {
		return err
	}
	return n.stopFollowersOf(ctx, member)
}

// RevokeKey ends a member's key without a replacement (a compromised key):
// the member can share only unsigned objects (where collections allow
// them) until its next rotation.
func (n *Node) RevokeKey(ctx context.Context, member string) error {
	m, err := n.store.Member(ctx, member)
	if err != nil {
		return err
	}
	if m.PublicKey == nil {
		return fmt.Errorf("couldn't revoke the key of %s: it has none in force: %w", member, store.ErrInvalid)
	}
	return n.store.ChangeKey(ctx, store.KeyEvent{Member: member, Event: tlog.EventRevokeKey, Key: m.PublicKey, Authority: tlog.AuthorityOperator})
}

// ResolveMember finds a member by identity id or by name.
func (n *Node) ResolveMember(ctx context.Context, ref string) (store.Member, error) {
	if strings.HasPrefix(ref, "identity--") {
		if m, err := n.store.Member(ctx, ref); err == nil || !errors.Is(err, store.ErrNotFound) {
			return m, err
		}
	}
	m, err := n.store.MemberByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return m, fmt.Errorf("couldn't find a member named or with id %q: %w", ref, store.ErrNotFound)
	}
	return m, err
}

// AddCollection creates a collection readable by readers and writable by
// writers (member names or identity ids) with the given signature policy
// ("" means required) and returns its id.
func (n *Node) AddCollection(ctx context.Context, title, description string, readers, writers []string, policy store.SignaturePolicy) (string, error) {
	return n.CreateCollection(ctx, CollectionSpec{Title: title, Description: description, Readers: readers, Writers: writers, Signatures: policy})
}

// CollectionSpec is what [Node.CreateCollection] makes.
type CollectionSpec struct {
	Title, Description string
	// Readers and Writers are member names or identity ids.
	Readers, Writers []string
	// Signatures is the signature policy ("" means required).
	Signatures store.SignaturePolicy
	// Relay makes a relay collection (see [store.Collection.Relay]).
	Relay bool
	// ownWriter is the id of the feed's member that writes the feed's
	// new collection ([Node.AddFeed]), the one peer's or feed's member
	// a collection is made with.
	ownWriter string
}

// CreateCollection creates the collection spec describes and returns its
// id. An unknown reader or writer is an error wrapping store.ErrNotFound,
// a peer's or a feed's member one wrapping [ErrSystemMember],
// a title another collection has one wrapping store.ErrConflict (titles
// name collections on the command line; two operators adding the same
// title at the same instant may still both succeed).
func (n *Node) CreateCollection(ctx context.Context, spec CollectionSpec) (string, error) {
	title, description, readers, writers, policy := spec.Title, spec.Description, spec.Readers, spec.Writers, spec.Signatures
	if strings.TrimSpace(title) == "" {
		return "", fmt.Errorf("couldn't add a collection: the title is empty: %w", store.ErrInvalid)
	}
	resolve := func(refs []string, what string) ([]string, error) {
		var ids []string
		for _, r := range refs {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			m, err := n.ResolveMember(ctx, r)
			if err != nil {
				return nil, err
			}
			if m.ID != spec.ownWriter {
				if err := n.refuseSystemMember(ctx, m, what+" on the new collection "+untrusted.Text(title, 200)); err != nil {
					return nil, err
				}
			}
			ids = append(ids, m.ID)
		}
		return ids, nil
	}
	rd, err := resolve(readers, "read")
	if err != nil {
		return "", err
	}
	wr, err := resolve(writers, "write")
	if err != nil {
		return "", err
	}
	// Commands name collections by title too, and a collection is never
	// removed: a second one with the same title would make it ambiguous
	// for good.
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.Title == title {
			return "", fmt.Errorf("couldn't add a collection: a collection titled %q exists (%s): %w", title, c.ID, store.ErrConflict)
		}
	}
	u, err := uuid.NewRandomFromReader(n.rand)
	if err != nil {
		return "", err
	}
	c := store.Collection{ID: u.String(), Title: title, Description: description, Readers: rd, Writers: wr, Signatures: policy, Relay: spec.Relay, Created: n.now()}
	if err := n.store.AddCollection(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Authenticate returns the member a bearer token belongs to, or an error
// wrapping [store.ErrNotFound]. The token is hashed before lookup and the
// hash compared in constant time by the store; the token never appears in
// an error.
//
// A request that the web UI handler of this node makes in process as a
// session's member ([Node.AsMember]) is that member's, whatever token it
// carries; one made with [Node.AsSession] only while the session's token
// still names the member (looked up again at each call).
func (n *Node) Authenticate(ctx context.Context, token string) (store.Member, error) {
	if a, ok := ctx.Value(asMemberKey{}).(asMember); ok && a.n == n {
		return a.member(ctx)
	}
	if token == "" {
		return store.Member{}, fmt.Errorf("couldn't authenticate: no token: %w", store.ErrNotFound)
	}
	m, err := n.store.TokenMember(ctx, sha256.Sum256([]byte(token)))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return m, fmt.Errorf("couldn't authenticate: unknown token: %w", store.ErrNotFound)
		}
		return m, fmt.Errorf("couldn't authenticate: %w", err)
	}
	return m, nil
}

// asMemberKey is the context key of [Node.AsMember]. It is unexported,
// so only this package can set it: a request from the network never has
// it (a client sends headers and a body, never a context value).
type asMemberKey struct{}

type asMember struct {
	n *Node
	m store.Member
	// token is the SHA-256 of the API token the session logged in with
	// ([Node.AsSession]); hasToken is false for [Node.AsMember].
	token    [32]byte
	hasToken bool
}

// member returns a's member: for a session's request ([Node.AsSession]),
// only while the session's token still names it (looked up again at
// each call, so that a request held open ends with the token), and
// otherwise an error wrapping [store.ErrNotFound].
func (a asMember) member(ctx context.Context) (store.Member, error) {
	if !a.hasToken {
		return a.m, nil
	}
	m, err := a.n.store.TokenMember(ctx, a.token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.ID != a.m.ID) {
		return store.Member{}, fmt.Errorf("couldn't authenticate: the session's token no longer authenticates its member: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Member{}, fmt.Errorf("couldn't authenticate: %w", err)
	}
	return m, nil
}

// AsMember returns ctx as the context of a request that this node's
// handlers serve as member m, authenticated already ([Node.Authenticate]
// returns m for it, whatever token the request carries). It is for the
// node's web UI handler, which calls the node's endpoints as a session's
// member without keeping the member's API token (the session checked, in
// the same request, that the hash of the token it logged in with still
// names m); nothing a client sends reaches it. Another node's context
// is not honoured.
func (n *Node) AsMember(ctx context.Context, m store.Member) context.Context {
	return context.WithValue(ctx, asMemberKey{}, asMember{n: n, m: m})
}

// AsSession is [Node.AsMember] for a web UI session of m that logged in
// with the API token whose SHA-256 is token: the request is m's only
// while that token authenticates m. [Node.Authenticate] looks the hash up
// again at each call, and a request held open (a wait for a checkpoint
// or for the response budget) checks it again as a token's request does,
// so that revoking or rotating the token ends the session's requests in
// flight too, not only its next one.
func (n *Node) AsSession(ctx context.Context, m store.Member, token [32]byte) context.Context {
	return context.WithValue(ctx, asMemberKey{}, asMember{n: n, m: m, token: token, hasToken: true})
}

// CheckStoreWritable fails when the node's store opened but can't be
// written: an embedded store whose files this process may only read
// (SQLite then serves reads and fails every write). A store that can't
// tell (PostgreSQL: privileges are checked per statement) passes.
func (n *Node) CheckStoreWritable(ctx context.Context) error {
	if w, ok := n.store.(interface{ CheckWritable(context.Context) error }); ok {
		return w.CheckWritable(ctx)
	}
	return nil
}

// logSchemaUpgrade logs the schema migrations that opening st applied to a
// store an older version had migrated: one line for each, so that the
// first start after an upgrade says what it changed (and the next says
// nothing).
func logSchemaUpgrade(logger *slog.Logger, st store.Store) {
	u, ok := st.(store.SchemaUpgrader)
	if !ok {
		return
	}
	if logger == nil {
		logger = slog.Default()
	}
	for _, m := range u.SchemaUpgrade() {
		logger.Info("store upgraded: applied schema migration", "version", m.Version, "name", m.Name)
	}
}
