package tlog

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const vectorDir = "../testdata/rfc6962"

// readVectors decodes one RFC 6962 vector file of the repository's
// testdata (see testdata/README.md for sources and licences).
func readVectors(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func hexHash(t *testing.T, s string) Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		t.Fatalf("bad hex hash %q", s)
	}
	return Hash(b)
}

func hexHashes(t *testing.T, ss []string) []Hash {
	out := make([]Hash, len(ss))
	for i, s := range ss {
		out[i] = hexHash(t, s)
	}
	return out
}

type referenceTree struct {
	HasherVectors []struct {
		Op, Want string
		Input    string `json:"input_hex"`
		Left     string `json:"left_hex"`
		Right    string `json:"right_hex"`
	} `json:"hasher_vectors"`
	LeafInputs []string `json:"leaf_inputs_hex"`
	LeafHashes []string `json:"leaf_hashes"`
	Nodes      struct {
		Levels [][]string `json:"levels"`
	} `json:"node_hashes_by_level"`
	Roots struct {
		Roots []string `json:"roots"`
	} `json:"roots_by_size"`
}

func loadReferenceTree(t *testing.T) (leaves [][]byte, ref referenceTree) {
	readVectors(t, "reference_tree.json", &ref)
	for _, l := range ref.LeafInputs {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, b)
	}
	return leaves, ref
}

func TestReferenceTree(t *testing.T) {
	leaves, ref := loadReferenceTree(t)
	for _, v := range ref.HasherVectors {
		var got Hash
		switch v.Op {
		case "empty_root":
			got = EmptyRoot()
		case "leaf":
			in, _ := hex.DecodeString(v.Input)
			got = LeafHash(in)
		case "node":
			l, _ := hex.DecodeString(v.Left)
			r, _ := hex.DecodeString(v.Right)
			// The hasher vector uses short children ("N123"), so it checks
			// the library hasher NodeHash relies on with raw bytes.
			got = Hash(rfc6962.DefaultHasher.HashChildren(l, r))
		default:
			t.Fatalf("unknown op %q", v.Op)
		}
		if got.Hex() != v.Want {
			t.Errorf("%s: got %s want %s", v.Op, got.Hex(), v.Want)
		}
	}
	for i, l := range leaves {
		if got := LeafHash(l).Hex(); got != ref.LeafHashes[i] {
			t.Errorf("leaf %d: got %s want %s", i, got, ref.LeafHashes[i])
		}
	}
	lh := make([]Hash, len(leaves))
	for i, l := range leaves {
		lh[i] = LeafHash(l)
	}
	for level, row := range ref.Nodes.Levels {
		for i, want := range row {
			if got := subtreeHash(lh[i<<level : (i+1)<<level]).Hex(); got != want {
				t.Errorf("node (%d,%d): got %s want %s", level, i, got, want)
			}
		}
	}
	if got := NodeHash(lh[0], lh[1]).Hex(); got != ref.Nodes.Levels[1][0] {
		t.Errorf("NodeHash = %s", got)
	}
	tree := NewTree()
	if tree.Root().Hex() != ref.Roots.Roots[0] {
		t.Errorf("empty root")
	}
	for i, l := range leaves {
		tree.Append(LeafHash(l))
		if got := tree.Root().Hex(); got != ref.Roots.Roots[i+1] {
			t.Errorf("root of size %d: got %s want %s", i+1, got, ref.Roots.Roots[i+1])
		}
	}
}

func TestProofVectors(t *testing.T) {
	var pv struct {
		ExplicitInclusion, DerivedInclusion struct {
			Vectors []struct {
				LeafIndex uint64   `json:"leaf_index"`
				TreeSize  uint64   `json:"tree_size"`
				LeafHash  string   `json:"leaf_hash"`
				Root      string   `json:"root"`
				Proof     []string `json:"proof"`
			} `json:"vectors"`
		}
		ExplicitConsistency, DerivedConsistency struct {
			Vectors []struct {
				Size1 uint64   `json:"size1"`
				Size2 uint64   `json:"size2"`
				Root1 string   `json:"root1"`
				Root2 string   `json:"root2"`
				Proof []string `json:"proof"`
			} `json:"vectors"`
		}
	}
	var raw map[string]json.RawMessage
	readVectors(t, "proof_vectors.json", &raw)
	for k, dst := range map[string]any{
		"explicit_inclusion": &pv.ExplicitInclusion, "derived_all_inclusion": &pv.DerivedInclusion,
		"explicit_consistency": &pv.ExplicitConsistency, "derived_all_consistency": &pv.DerivedConsistency,
	} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	leaves, _ := loadReferenceTree(t)
	mem := newMemTiles(leaves)
	ctx := t.Context()
	incl := append(pv.ExplicitInclusion.Vectors, pv.DerivedInclusion.Vectors...)
	if len(incl) < 40 {
		t.Fatalf("only %d inclusion vectors", len(incl))
	}
	for _, v := range incl {
		p := hexHashes(t, v.Proof)
		if err := VerifyInclusion(v.LeafIndex, v.TreeSize, hexHash(t, v.LeafHash), p, hexHash(t, v.Root)); err != nil {
			t.Errorf("inclusion %d/%d: %v", v.LeafIndex, v.TreeSize, err)
		}
		got, err := InclusionProof(ctx, v.LeafIndex, v.TreeSize, mem.reader(v.TreeSize))
		if err != nil {
			t.Fatal(err)
		}
		if !equalHashes(got, p) {
			t.Errorf("built inclusion proof %d/%d differs", v.LeafIndex, v.TreeSize)
		}
		if root, err := TreeRoot(ctx, v.TreeSize, mem.reader(v.TreeSize)); err != nil || root.Hex() != v.Root {
			t.Errorf("TreeRoot(%d) = %s, %v", v.TreeSize, root.Hex(), err)
		}
	}
	cons := append(pv.ExplicitConsistency.Vectors, pv.DerivedConsistency.Vectors...)
	for _, v := range cons {
		p := hexHashes(t, v.Proof)
		if err := VerifyConsistency(v.Size1, v.Size2, p, hexHash(t, v.Root1), hexHash(t, v.Root2)); err != nil {
			t.Errorf("consistency %d→%d: %v", v.Size1, v.Size2, err)
		}
		got, err := ConsistencyProof(ctx, v.Size1, v.Size2, mem.reader(v.Size2))
		if err != nil {
			t.Fatal(err)
		}
		if !equalHashes(got, p) {
			t.Errorf("built consistency proof %d→%d differs", v.Size1, v.Size2)
		}
	}
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// b64Bytes decodes probe values; probes may hold values that aren't 32
// bytes ("don't care" roots), so they go through the byte-level verifiers
// that the typed API wraps.
func b64Bytes(t *testing.T, ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestInclusionProbes(t *testing.T) {
	var f struct {
		Probes []struct {
			LeafIdx, TreeSize uint64
			Root, LeafHash    string
			Proof             []string
			Desc              string
			WantErr           bool
		}
	}
	readVectors(t, "probes_inclusion.json", &f)
	if len(f.Probes) < 90 {
		t.Fatalf("only %d probes", len(f.Probes))
	}
	for _, p := range f.Probes {
		hs := b64Bytes(t, append([]string{p.Root, p.LeafHash}, p.Proof...))
		err := verifyInclusion(p.LeafIdx, p.TreeSize, hs[1], hs[2:], hs[0])
		if (err != nil) != p.WantErr {
			t.Errorf("%s (%d/%d): err = %v, wantErr %v", p.Desc, p.LeafIdx, p.TreeSize, err, p.WantErr)
		}
	}
}

func TestConsistencyProbes(t *testing.T) {
	var f struct {
		Probes []struct {
			Size1, Size2 uint64
			Root1, Root2 string
			Proof        []string
			Desc         string
			WantErr      bool
		}
	}
	readVectors(t, "probes_consistency.json", &f)
	if len(f.Probes) < 90 {
		t.Fatalf("only %d probes", len(f.Probes))
	}
	for _, p := range f.Probes {
		hs := b64Bytes(t, append([]string{p.Root1, p.Root2}, p.Proof...))
		err := verifyConsistency(p.Size1, p.Size2, hs[2:], hs[0], hs[1])
		if (err != nil) != p.WantErr {
			t.Errorf("%s (%d→%d): err = %v, wantErr %v", p.Desc, p.Size1, p.Size2, err, p.WantErr)
		}
	}
}

type noteVectors struct {
	Keys map[string]struct {
		Vkey, Skey string
	}
	ValidNotes []struct {
		Desc, Text, Note string
		VerifyWith       []string `json:"verify_with"`
		ExpectVerified   []string `json:"expect_verified"`
	} `json:"valid_notes"`
	InvalidNotes []struct {
		Desc, Note, NoteConstruction string
		VerifyWith                   []string `json:"verify_with"`
		ExpectError                  string   `json:"expect_error"`
	} `json:"invalid_notes"`
	CheckpointExamples []struct {
		Desc, Note, Text, Origin string
		TreeSize                 uint64 `json:"tree_size"`
		RootHashB64              string `json:"root_hash_b64"`
	} `json:"checkpoint_examples"`
}

func TestSignedNoteVectors(t *testing.T) {
	var nv noteVectors
	readVectors(t, "signed_note_vectors.json", &nv)
	verifiers := func(names []string) note.Verifiers {
		var vs []note.Verifier
		for _, n := range names {
			v, err := NewVerifier(nv.Keys[n].Vkey)
			if err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return note.VerifierList(vs...)
	}
	for _, v := range nv.ValidNotes {
		n, err := note.Open([]byte(v.Note), verifiers(v.VerifyWith))
		if err != nil {
			t.Errorf("%s: %v", v.Desc, err)
			continue
		}
		if len(n.Sigs) != len(v.ExpectVerified) {
			t.Errorf("%s: %d verified, want %d", v.Desc, len(n.Sigs), len(v.ExpectVerified))
		}
		if v.Text != "" && n.Text != v.Text {
			t.Errorf("%s: text %q", v.Desc, n.Text)
		}
		if sk := nv.Keys[v.VerifyWith[0]].Skey; sk != "" && v.Text != "" {
			s, err := note.NewSigner(sk)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := note.Sign(&note.Note{Text: v.Text}, s)
			if err != nil || string(msg) != v.Note {
				t.Errorf("%s: Sign = %q, %v", v.Desc, msg, err)
			}
		}
	}
	for _, v := range nv.InvalidNotes {
		if v.Note == "" {
			continue // constructed from a recipe; the 100-signature cap is x/mod's own test
		}
		if _, err := note.Open([]byte(v.Note), verifiers(v.VerifyWith)); err == nil {
			t.Errorf("%s: opened", v.Desc)
		}
	}
}

func TestCheckpointExamples(t *testing.T) {
	var nv noteVectors
	readVectors(t, "signed_note_vectors.json", &nv)
	for _, ex := range nv.CheckpointExamples {
		text := []byte(ex.Text)
		if ex.Note != "" {
			var err error
			if text, err = SplitNote([]byte(ex.Note)); err != nil {
				t.Fatalf("%s: %v", ex.Desc, err)
			}
		}
		c, err := ParseCheckpoint(text)
		if err != nil {
			t.Fatalf("%s: %v", ex.Desc, err)
		}
		if ex.Origin != "" && (c.Origin != ex.Origin || c.Size != ex.TreeSize || c.Hash.String() != ex.RootHashB64) {
			t.Errorf("%s: parsed %+v", ex.Desc, c)
		}
		if string(c.Marshal()) != string(text) {
			t.Errorf("%s: re-encoded %q", ex.Desc, c.Marshal())
		}
	}
}

func TestCheckpointSignOpen(t *testing.T) {
	skey, vkey, err := NewNodeKey(strings.NewReader(strings.Repeat("k", 64)), "parley.example/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Origin: "parley.example/log", Size: 7, Hash: LeafHash([]byte("x"))}
	signed, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(signed, v)
	if err != nil || got.Size != 7 || got.Hash != c.Hash || got.Origin != c.Origin {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	// Flip one byte of the size: the signature no longer verifies.
	bad := []byte(strings.Replace(string(signed), "\n7\n", "\n8\n", 1))
	if _, err := OpenCheckpoint(bad, v); err == nil {
		t.Fatal("tampered checkpoint verified")
	}
	// A key with another name can't sign for this origin.
	skey2, vkey2, _ := NewNodeKey(strings.NewReader(strings.Repeat("j", 64)), "other")
	s2, _ := note.NewSigner(skey2)
	if _, err := SignCheckpoint(c, s2); err == nil {
		t.Fatal("signed with a key named differently from the origin")
	}
	v2, _ := NewVerifier(vkey2)
	if _, err := OpenCheckpoint(signed, v2); err == nil {
		t.Fatal("opened with an unrelated key")
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	h := LeafHash(nil).String()
	for _, in := range []string{
		"", "o\n1\n" + h, "o\n1\n", "o\n01\n" + h + "\n", "o\n-1\n" + h + "\n", "\n1\n" + h + "\n",
		"o\n1\n" + h + "\n\n", "o\n1\nAAAA\n", "o\n1\n" + h + "\next\x01\n", "o\n18446744073709551616\n" + h + "\n",
		"o\n1\n" + strings.TrimSuffix(h, "=") + "\n",
	} {
		if _, err := ParseCheckpoint([]byte(in)); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", in)
		}
	}
	c, err := ParseCheckpoint([]byte("o\n1\n" + h + "\nextension line\n"))
	if err != nil || len(c.Extensions) != 1 {
		t.Fatalf("extension: %+v %v", c, err)
	}
	// C2SP signed-note forbids only the ASCII controls below U+0020 (bar
	// newline); DEL (0x7f) is an ordinary character of an opaque
	// extension line, and note.Open accepts it.
	c, err = ParseCheckpoint([]byte("o\n1\n" + h + "\next\x7fline\n"))
	if err != nil || len(c.Extensions) != 1 {
		t.Fatalf("extension with DEL: %+v %v", c, err)
	}
}
