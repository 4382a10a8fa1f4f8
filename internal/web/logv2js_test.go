package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parley-exchange/parley/tlog"
)

// TestLogV2JS runs the format rules of assets/logv2.js in Chromium
// against vectors made here in Go: RFC 8785 (the stix package's vectors),
// RFC 9162 inclusion proofs for every index of trees of 1 to 33 leaves,
// and the key-in-force rule over a member's register, member-signed
// rotation, revoke-key and revoke-member entries.
func TestLogV2JS(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), f.aurelia.Token),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
		chromedp.Navigate(base+"/ui/objects/"+f.indicator),
		waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
	); err != nil {
		t.Fatal(err)
	}
	js := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr[:min(len(expr), 120)], err)
		}
		return v
	}
	lit := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}

	for _, name := range []string{"sorting", "values"} {
		in, err := os.ReadFile(filepath.Join("..", "..", "stix", "testdata", "rfc8785", name+".input.json"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "stix", "testdata", "rfc8785", name+".output.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := js(`ParleyLog.jcs(JSON.parse(` + lit(string(in)) + `))`); got != strings.TrimRight(string(want), "\n") {
			t.Errorf("jcs %s:\n got %s\nwant %s", name, got, want)
		}
	}

	// Inclusion proofs: every index of every tree size up to 33.
	type proofCase struct {
		Index, Size int
		Leaf        string
		Proof       []string
		Root        string
	}
	var cases []proofCase
	for size := 1; size <= 33; size++ {
		leaves := make([][]byte, size)
		for i := range leaves {
			leaves[i] = leafHash([]byte(fmt.Sprintf("leaf %d of %d", i, size)))
		}
		root := base64.StdEncoding.EncodeToString(mth(leaves))
		for i := range leaves {
			cases = append(cases, proofCase{i, size, base64.StdEncoding.EncodeToString(leaves[i]), b64s(path(i, leaves)), root})
		}
	}
	got := js(`(async () => { const L = ParleyLog, bad = [];
		for (const c of ` + lit(cases) + `) {
			const r = await L.rootFromInclusion(c.Index, c.Size, L.b64decode(c.Leaf), c.Proof.map(L.b64decode));
			if (L.b64encode(r) !== c.Root) bad.push(c.Index + "/" + c.Size);
			if (c.Proof.length > 0) {
				const short = c.Proof.slice(1).map(L.b64decode);
				try { const r2 = await L.rootFromInclusion(c.Index, c.Size, L.b64decode(c.Leaf), short);
					if (L.b64encode(r2) === c.Root) bad.push("short " + c.Index + "/" + c.Size); } catch (e) {}
			}
		}
		return bad.join(","); })()`)
	if got != "" {
		t.Errorf("inclusion proofs that don't give the root, or shortened ones that do: %s", got)
	}

	// Consistency proofs: every pair of sizes up to 33, each also checked
	// by the node's own tlog.VerifyConsistency; the JS must accept each,
	// and refuse it with a hash flipped, a hash left out, or the first
	// root of another tree.
	type consCase struct {
		From, To     int
		Proof        []string
		Root1, Root2 string
		Other        string // the root of the tree of size From over other leaves
	}
	var cons []consCase
	for n := 1; n <= 33; n++ {
		leaves := make([][]byte, n)
		other := make([][]byte, n)
		for i := range leaves {
			leaves[i] = leafHash([]byte(fmt.Sprintf("leaf %d", i)))
			other[i] = leafHash([]byte(fmt.Sprintf("other %d", i)))
		}
		for m := 1; m <= n; m++ {
			p := consistency(m, leaves)
			var hs []tlog.Hash
			for _, h := range p {
				hs = append(hs, tlog.Hash(h))
			}
			if err := tlog.VerifyConsistency(uint64(m), uint64(n), hs, tlog.Hash(mth(leaves[:m])), tlog.Hash(mth(leaves))); err != nil {
				t.Fatalf("the test's consistency proof %d→%d: %v", m, n, err)
			}
			cons = append(cons, consCase{m, n, b64s(p), base64.StdEncoding.EncodeToString(mth(leaves[:m])),
				base64.StdEncoding.EncodeToString(mth(leaves)), base64.StdEncoding.EncodeToString(mth(other[:m]))})
		}
	}
	got = js(`(async () => { const L = ParleyLog, bad = [];
		const ok = async (c, proof, r1) => { try { await L.verifyConsistency(c.From, c.To, proof, L.b64decode(r1), L.b64decode(c.Root2)); return true; } catch (e) { return false; } };
		for (const c of ` + lit(cons) + `) {
			const p = c.Proof.map(L.b64decode);
			if (!(await ok(c, p, c.Root1))) bad.push("good " + c.From + "/" + c.To);
			if (c.From < c.To && await ok(c, p, c.Other)) bad.push("other " + c.From + "/" + c.To);
			for (let i = 0; i < p.length; i++) {
				const flipped = p.map((h) => h.slice()); flipped[i][7] ^= 1;
				if (await ok(c, flipped, c.Root1)) bad.push("flipped " + c.From + "/" + c.To + "#" + i);
				if (await ok(c, p.filter((_, j) => j !== i), c.Root1)) bad.push("short " + c.From + "/" + c.To + "#" + i);
			}
		}
		return bad.join(","); })()`)
	if got != "" {
		t.Errorf("consistency proofs judged wrong by verifyConsistency: %s", got)
	}

	// Key in force.
	const m = "identity--00000000-0000-4000-8000-00000000000a"
	pub := func() (ed25519.PublicKey, ed25519.PrivateKey) {
		p, k, _ := ed25519.GenerateKey(rand.Reader)
		return p, k
	}
	k1, s1 := pub()
	k2, _ := pub()
	k3, _ := pub()
	b := base64.StdEncoding.EncodeToString
	// The rotation statement as the node's tlog.RotationMessage makes it.
	stmt := func(signer ed25519.PrivateKey, newKey ed25519.PublicKey) string {
		old := signer.Public().(ed25519.PublicKey)
		return b(ed25519.Sign(signer, []byte("parley-key-rotation-v1\n"+b(old)+"\n"+b(newKey)+"\n")))
	}
	ev := func(i int, e map[string]string) map[string]any {
		e["kind"], e["member"], e["received"] = "member-key", m, "2026-09-14T08:00:00Z"
		return map[string]any{"index": i, "entry": e}
	}
	events := []map[string]any{
		ev(1, map[string]string{"event": "register", "authority": "operator", "key": b(k1)}),
		ev(5, map[string]string{"event": "rotate", "authority": "member", "key": b(k2), "statement": stmt(s1, k2)}),
		ev(8, map[string]string{"event": "revoke-key", "authority": "operator", "key": b(k2)}),
		ev(10, map[string]string{"event": "rotate", "authority": "operator", "key": b(k3)}),
		ev(12, map[string]string{"event": "revoke-member", "authority": "operator"}),
	}
	for _, tc := range []struct {
		index int
		want  string
	}{{1, ""}, {2, b(k1)}, {5, b(k1)}, {6, b(k2)}, {8, b(k2)}, {9, ""}, {11, b(k3)}, {12, b(k3)}, {13, ""}} {
		got := js(`ParleyLog.keyInForce(` + lit(events) + `, ` + lit(m) + `, ` + fmt.Sprint(tc.index) + `).then(k => k || "")`)
		if got != tc.want {
			t.Errorf("key in force at %d: %q, want %q", tc.index, got, tc.want)
		}
	}
	// Histories the node could not have written are refused.
	_, wrong := pub()
	bad := map[string][]map[string]any{
		"a rotation statement by another key": {events[0], ev(5, map[string]string{"event": "rotate", "authority": "member", "key": b(k2), "statement": stmt(wrong, k2)})},
		"a second register":                   {events[0], ev(3, map[string]string{"event": "register", "authority": "operator", "key": b(k2)})},
		"a revoke-key of a key not in force":  {events[0], ev(3, map[string]string{"event": "revoke-key", "authority": "operator", "key": b(k2)})},
		"an event after revoke-member":        {events[0], ev(3, map[string]string{"event": "revoke-member", "authority": "operator"}), ev(4, map[string]string{"event": "rotate", "authority": "operator", "key": b(k2)})},
		"a rotation to the key in force":      {events[0], ev(3, map[string]string{"event": "rotate", "authority": "operator", "key": b(k1)})},
		// A→B→A, then the A→B statement replayed: the first step back is refused.
		"a rotation back to an earlier key": {events[0], events[1], ev(6, map[string]string{"event": "rotate", "authority": "operator", "key": b(k1)})},
		"a revoked key rotated in again":    {events[0], events[1], events[2], ev(9, map[string]string{"event": "rotate", "authority": "operator", "key": b(k2)})},
	}
	for name, evs := range bad {
		got = js(`ParleyLog.keyInForce(` + lit(evs) + `, ` + lit(m) + `, 7).then(k => "accepted " + k, e => "refused: " + e.message)`)
		if !strings.HasPrefix(got, "refused: ") {
			t.Errorf("%s: %s", name, got)
		}
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2026-09-14T08:30:00Z", "2026-09-14T08:30:00.000Z", true},
		{"2026-09-14T08:30:00.1Z", "2026-09-14T08:30:00.100000Z", true},
		{"2026-09-14T08:30:00.1Z", "2026-09-14T08:30:00.01Z", false},
		{"2026-09-14T08:30:01Z", "2026-09-14T08:30:00Z", false},
	} {
		if got := js(`String(ParleyLog.sameInstant(` + lit(tc.a) + `, ` + lit(tc.b) + `))`); got != fmt.Sprint(tc.same) {
			t.Errorf("sameInstant(%s, %s) = %s", tc.a, tc.b, got)
		}
	}
}
