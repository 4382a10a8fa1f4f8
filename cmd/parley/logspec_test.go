package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestLogAgainstSpecs checks a running node's log the way an independent
// verifier would, from RFC 9162 and the C2SP specs only (tlog-checkpoint,
// signed-note, tlog-tiles), without package tlog: it drives the CLI
// (init, member add, collection add, serve, push), then fetches
// /log/key and /log/checkpoint, verifies the signed note, reads every
// level-0 tile and entry bundle by their C2SP paths, recomputes the root
// (RFC 9162 §2.1.1), checks the level-1 tile, verifies receipts' inclusion
// proofs (§2.1.3.2) and the salted commitment over the object as served,
// and consistency proofs (§2.1.4.2) from every earlier size.
func TestLogAgainstSpecs(t *testing.T) {
	const n = 300 // one full level-0 tile, one partial, a level-1 tile of width 1
	if testing.Short() {
		t.Skip("starts a node and pushes 300 objects")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("parley", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("parley %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return string(out)
	}
	run("init", "--data", "node")
	run("keygen", "--out", "a.key")
	var member struct{ ID, Token string }
	if err := json.Unmarshal([]byte(run("member", "add", "--data", "node", "--name", "a", "--pubkey", "a.key.pub", "--json")), &member); err != nil {
		t.Fatal(err)
	}
	run("collection", "add", "--data", "node", "--title", "intel", "--read", "a", "--write", "a")

	ctx, cancel := context.WithCancel(context.Background())
	serve := exec.CommandContext(ctx, "parley", "serve", "--data", "node", "--listen", "127.0.0.1:0", "--url-file", "url")
	serve.Dir = dir
	serve.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); serve.Wait() })
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		b, _ := os.ReadFile(filepath.Join(dir, "url"))
		base = strings.TrimSpace(string(b))
		if base == "" && time.Now().After(deadline) {
			t.Fatal("the node did not start within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	var objs []string
	for i := range n {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":%q,"name":"spec check %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, member.ID, i, i%256))
	}
	bundle := `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[` + strings.Join(objs, ",") + "]}"
	if err := os.WriteFile(filepath.Join(dir, "bundle.json"), []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	run("push", "--url", base, "--token", member.Token, "--key", "a.key", "--collection", "intel", "bundle.json")

	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+member.Token)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		return b
	}

	verifier, err := note.NewVerifier(strings.TrimSpace(string(get("/log/key"))))
	if err != nil {
		t.Fatalf("/log/key is not a signed-note verifier key: %v", err)
	}
	// A receipt waits for the checkpoint that covers the last object.
	last := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n-1)
	get("/log/receipt?object=" + last + "&version=2026-01-01T00:00:00.000Z")
	size, root := specCheckpoint(t, get("/log/checkpoint"), verifier)
	if size != n+1 { // the member's registration, then n objects
		t.Fatalf("checkpoint size %d, want %d", size, n+1)
	}

	// Level-0 tiles and entry bundles (C2SP tlog-tiles).
	var leaves [][32]byte
	for i := int64(0); i*256 < size; i++ {
		w := min(size-i*256, 256)
		p := specTilePath(i, w)
		tile, entries := get("/log/tile/0/"+p), get("/log/tile/entries/"+p)
		if int64(len(tile)) != 32*w {
			t.Fatalf("tile 0/%s: %d bytes, want %d", p, len(tile), 32*w)
		}
		for j := range w {
			if len(entries) < 2 || len(entries) < 2+int(binary.BigEndian.Uint16(entries)) {
				t.Fatalf("entry bundle %s is truncated at entry %d", p, j)
			}
			l := int(binary.BigEndian.Uint16(entries))
			e := entries[2 : 2+l]
			entries = entries[2+l:]
			var h [32]byte
			copy(h[:], tile[32*j:])
			if specLeafHash(e) != h {
				t.Fatalf("entry %d: the leaf hash of its entry bundle item isn't its tile hash", i*256+j)
			}
			leaves = append(leaves, h)
		}
		if len(entries) != 0 {
			t.Fatalf("entry bundle %s: %d bytes after its %d entries", p, len(entries), w)
		}
	}
	// The log needs a token, so no shared cache may keep its tiles (RFC 9111 §3.5).
	req, _ := http.NewRequest("GET", base+"/log/tile/0/000", nil)
	req.Header.Set("Authorization", "Bearer "+member.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Cache-Control"), "public") {
		t.Errorf("full tile: %s, Cache-Control %q lets shared caches serve an authenticated resource to anyone", resp.Status, resp.Header.Get("Cache-Control"))
	}
	// Entry 0 is the member's registration, in clear (docs/log.md).
	var reg map[string]string
	entry0, _ := base64.StdEncoding.DecodeString(func() string {
		var kr struct {
			Events []struct{ Entry string } `json:"events"`
		}
		json.Unmarshal(get("/log/keys"), &kr)
		if len(kr.Events) != 1 {
			t.Fatalf("/log/keys lists %d events, want the one registration", len(kr.Events))
		}
		return kr.Events[0].Entry
	}())
	pub, _ := os.ReadFile(filepath.Join(dir, "a.key.pub"))
	if err := json.Unmarshal(entry0, &reg); err != nil || reg["kind"] != "member-key" || reg["event"] != "register" ||
		reg["member"] != member.ID || reg["key"] != strings.TrimSpace(string(pub)) || specLeafHash(entry0) != leaves[0] {
		t.Fatalf("entry 0 %s isn't the member's registration with its key", entry0)
	}
	if specMTH(leaves) != root {
		t.Fatal("the root recomputed from the tiles isn't the checkpoint's root")
	}
	if tile1 := get("/log/tile/1/" + specTilePath(0, size/256)); !bytes.Equal(tile1, func() []byte { r := specMTH(leaves[:256]); return r[:] }()) {
		t.Fatal("level-1 tile 000.p/1 isn't the root of the first 256 leaves")
	}

	// Receipts: inclusion and commitment, for the first, a middle and the last entry.
	coll := specCollection(t, get)
	for _, i := range []int{0, 255, 256, n - 1} {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		var r struct {
			LogIndex       int64    `json:"log_index"`
			TreeSize       int64    `json:"tree_size"`
			Entry          string   `json:"entry"`
			Salt           string   `json:"salt"`
			Collection     string   `json:"collection"`
			ObjectID       string   `json:"object_id"`
			Version        string   `json:"version"`
			Member         string   `json:"member"`
			InclusionProof []string `json:"inclusion_proof"`
			Checkpoint     string   `json:"checkpoint"`
		}
		b := get("/log/receipt?object=" + url.QueryEscape(id) + "&version=2026-01-01T00:00:00.000Z")
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		rsize, rroot := specCheckpoint(t, []byte(r.Checkpoint), verifier)
		entry, _ := base64.StdEncoding.DecodeString(r.Entry)
		if rsize != r.TreeSize || r.LogIndex < 0 || r.LogIndex >= int64(len(leaves)) || specLeafHash(entry) != leaves[r.LogIndex] {
			t.Fatalf("receipt of %s: index %d, size %d (checkpoint %d) or its entry doesn't match the tiles", id, r.LogIndex, r.TreeSize, rsize)
		}
		if err := specVerifyInclusion(r.LogIndex, r.TreeSize, specLeafHash(entry), specHashes(t, r.InclusionProof), rroot); err != nil {
			t.Fatalf("receipt of %s: inclusion proof: %v", id, err)
		}
		// docs/log.md, format v2: an object entry shows only its kind, its
		// received time and the commitment; the receipt opens it.
		var e map[string]string
		if err := json.Unmarshal(entry, &e); err != nil || len(e) != 3 || e["kind"] != "object" || e["received"] == "" ||
			r.ObjectID != id || r.Version != "2026-01-01T00:00:00.000Z" || r.Member != member.ID || r.Collection != coll {
			t.Fatalf("receipt of %s: entry %s or opening %+v isn't this object version's (%v)", id, entry, r, err)
		}
		for _, hidden := range []string{id, member.ID, r.Collection} {
			if bytes.Contains(entry, []byte(hidden)) {
				t.Fatalf("entry %s shows %s in clear", entry, hidden)
			}
		}
		var env struct{ Objects []map[string]any }
		json.Unmarshal(get("/api/collections/"+coll+"/objects/"+id+"/"), &env)
		if len(env.Objects) != 1 {
			t.Fatalf("GET object %s: %d objects", id, len(env.Objects))
		}
		var canon bytes.Buffer // RFC 8785 for these objects: ASCII strings, sorted keys, no floats
		enc := json.NewEncoder(&canon)
		enc.SetEscapeHTML(false)
		enc.Encode(env.Objects[0])
		s, _ := base64.StdEncoding.DecodeString(r.Salt)
		h := sha256.New()
		h.Write([]byte("parley-object-commitment-v2\n"))
		h.Write(s)
		for _, f := range []string{r.Collection, r.ObjectID, r.Version, r.Member} {
			binary.Write(h, binary.BigEndian, uint32(len(f)))
			h.Write([]byte(f))
		}
		h.Write(bytes.TrimSuffix(canon.Bytes(), []byte("\n")))
		if len(s) != 32 || hex.EncodeToString(h.Sum(nil)) != e["commitment"] {
			t.Fatalf("receipt of %s: commitment %s isn't docs/log.md's SHA-256 over salt, opening and canonical object", id, e["commitment"])
		}
	}

	// Consistency from every earlier size, against roots recomputed from tiles.
	for m := int64(1); m <= size; m++ {
		var pr struct{ Proof []string }
		if err := json.Unmarshal(get(fmt.Sprintf("/log/proof/consistency?from=%d&to=%d", m, size)), &pr); err != nil {
			t.Fatal(err)
		}
		if err := specVerifyConsistency(m, size, specMTH(leaves[:m]), root, specHashes(t, pr.Proof)); err != nil {
			t.Fatalf("consistency %d -> %d: %v", m, size, err)
		}
	}
}

// specCollection returns the id of the node's one collection.
func specCollection(t *testing.T, get func(string) []byte) string {
	var cs struct{ Collections []struct{ ID string } }
	json.Unmarshal(get("/api/collections/"), &cs)
	if len(cs.Collections) != 1 {
		t.Fatalf("%d collections, want 1", len(cs.Collections))
	}
	return cs.Collections[0].ID
}

// specCheckpoint opens a C2SP tlog-checkpoint signed note.
func specCheckpoint(t *testing.T, text []byte, v note.Verifier) (int64, [32]byte) {
	t.Helper()
	n, err := note.Open(text, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint doesn't verify with /log/key: %v\n%s", err, text)
	}
	lines := strings.Split(n.Text, "\n")
	var root [32]byte
	if len(lines) < 4 || lines[0] != v.Name() || lines[len(lines)-1] != "" {
		t.Fatalf("checkpoint body isn't origin (the key name %q), size, root: %q", v.Name(), n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	r, err2 := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || err2 != nil || len(r) != 32 || strconv.FormatInt(size, 10) != lines[1] {
		t.Fatalf("checkpoint size or root line malformed: %q", n.Text)
	}
	copy(root[:], r)
	return size, root
}

// specTilePath is a C2SP tlog-tiles tile index path, with .p/W for a partial tile.
func specTilePath(n, w int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	if w < 256 {
		s += ".p/" + strconv.FormatInt(w, 10)
	}
	return s
}

func specHashes(t *testing.T, in []string) [][32]byte {
	t.Helper()
	var out [][32]byte
	for _, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 32 {
			t.Fatalf("proof hash %q isn't base64 of 32 bytes", s)
		}
		out = append(out, [32]byte(b))
	}
	return out
}

func specLeafHash(e []byte) [32]byte { return sha256.Sum256(append([]byte{0}, e...)) }

func specNodeHash(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// specMTH is RFC 9162 §2.1.1 over leaf hashes.
func specMTH(h [][32]byte) [32]byte {
	if len(h) == 0 {
		return sha256.Sum256(nil)
	}
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	return specNodeHash(specMTH(h[:k]), specMTH(h[k:]))
}

// specVerifyInclusion is RFC 9162 §2.1.3.2.
func specVerifyInclusion(index, size int64, leaf [32]byte, proof [][32]byte, root [32]byte) error {
	if index >= size {
		return fmt.Errorf("leaf index %d >= tree size %d", index, size)
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("proof too long")
		}
		if fn&1 == 1 || fn == sn {
			r = specNodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = specNodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || r != root {
		return fmt.Errorf("proof doesn't lead to the checkpoint's root")
	}
	return nil
}

// specVerifyConsistency is RFC 9162 §2.1.4.2.
func specVerifyConsistency(first, second int64, r1, r2 [32]byte, proof [][32]byte) error {
	if first == second {
		if len(proof) != 0 || r1 != r2 {
			return fmt.Errorf("equal sizes need an empty proof and equal roots")
		}
		return nil
	}
	if first&(first-1) == 0 {
		proof = append([][32]byte{r1}, proof...)
	}
	if len(proof) == 0 {
		return fmt.Errorf("empty proof")
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return fmt.Errorf("proof too long")
		}
		if fn&1 == 1 || fn == sn {
			fr, sr = specNodeHash(c, fr), specNodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = specNodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || fr != r1 || sr != r2 {
		return fmt.Errorf("proof doesn't lead to both roots")
	}
	return nil
}
