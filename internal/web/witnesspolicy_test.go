package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// uiWitness is a C2SP witness served in-process on a loopback port.
type uiWitness struct {
	Name, VKey, URL string
}

// startWitness serves a witness of the log with logKey whose clock is now
// (nil: the real one).
func startWitness(t *testing.T, name, logKey string, now func() time.Time) uiWitness {
	t.Helper()
	skey, vkey, err := tlog.NewCosignerKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, now)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.Open(witness.Config{Dir: t.TempDir(), Cosigner: cs, Logs: []string{logKey}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() { srv.Close(); w.Close() })
	return uiWitness{Name: name, VKey: vkey, URL: srv.URL}
}

// openWitnessedNode initializes a node whose config.json lists the
// witnesses that witnesses makes for its log key, and opens it.
func openWitnessedNode(t *testing.T, witnesses func(logKey string) []uiWitness) (*node.Node, []uiWitness) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	res, err := node.Init(ctx, dir, node.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws := witnesses(res.VerifierKey)
	path := filepath.Join(dir, node.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	var list []node.WitnessConfig
	for _, w := range ws {
		list = append(list, node.WitnessConfig{URL: w.URL, Key: w.VKey})
	}
	cfg["witnesses"] = list
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n, ws
}

// cosignedBy waits until the node's checkpoint covers its whole log and
// carries want cosignature lines.
func cosignedBy(t *testing.T, f *fixture, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, f.URL+"/log/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+f.aurelia.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		_, sigs, _ := strings.Cut(b.String(), "\n\n")
		if resp.StatusCode == 200 && strings.Count(sigs, "\n") == want+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint wasn't cosigned by %d witnesses: %d %q", want, resp.StatusCode, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserWitnessPolicy: with a witness policy saved in the browser,
// the object page refuses a checkpoint its quorum didn't cosign (the
// node's cosignatures stripped, forged, or by other witnesses), a policy
// naming another log, and an entry received later than a policy
// witness's cosignature covering it; without one it says what isn't
// caught.
func TestBrowserWitnessPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	var absent uiWitness
	n, ws := openWitnessedNode(t, func(logKey string) []uiWitness {
		// absent witnesses the log but the node doesn't ask it; late's
		// clock is an hour behind, so each of its cosignatures says the
		// log's entries were there an hour before they were received.
		absent = startWitness(t, "absent.example/w", logKey, nil)
		return []uiWitness{
			startWitness(t, "honest.example/w1", logKey, nil),
			startWitness(t, "honest.example/w2", logKey, nil),
			startWitness(t, "late.example/w", logKey, func() time.Time { return time.Now().Add(-time.Hour) }),
		}
	})
	honest1, honest2, late := ws[0], ws[1], ws[2]
	f := newFixtureOn(t, n)
	cosignedBy(t, f, 3)

	var (
		mu     sync.Mutex
		mutate func(path string, body []byte) []byte
	)
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			m := mutate
			mu.Unlock()
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if m != nil && rec.Code == http.StatusOK {
				body = m(r.URL.Path, bytes.Clone(body))
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
	base := uiServerWrapped(t, f, nil, wrap)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)

	setPolicy := func(p string) {
		t.Helper()
		expr := `localStorage.removeItem("parley.witness-policy"), true`
		if p != "" {
			expr = `localStorage.setItem("parley.witness-policy", ` + jsonLit(p) + `), true`
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err != nil {
			t.Fatal(err)
		}
	}
	// receiptEdit changes the checkpoint notes of the receipts the
	// browser gets (the receipt's own and its witnessed one).
	receiptEdit := func(edit func(string) string) func(string, []byte) []byte {
		return func(path string, body []byte) []byte {
			if path != "/log/receipt" {
				return body
			}
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("receipt: %v", err)
				return body
			}
			v["checkpoint"] = edit(v["checkpoint"].(string))
			if w, ok := v["witnessed"].(map[string]any); ok {
				w["checkpoint"] = edit(w["checkpoint"].(string))
			}
			out, _ := json.Marshal(v)
			return out
		}
	}
	logKey := n.VerifierKey()
	logName, _, _ := strings.Cut(logKey, "+")
	// Only the log's own signature line: every cosignature stripped.
	strip := func(cp string) string {
		text, sigs, _ := strings.Cut(cp, "\n\n")
		for _, l := range strings.SplitAfter(sigs, "\n") {
			if strings.HasPrefix(l, "— "+logName+" ") {
				return text + "\n\n" + l
			}
		}
		return cp
	}
	// honest1's cosignature with one bit of its signature flipped.
	forge := func(cp string) string {
		text, sigs, _ := strings.Cut(cp, "\n\n")
		var out []string
		for _, l := range strings.SplitAfter(sigs, "\n") {
			if strings.HasPrefix(l, "— "+honest1.Name+" ") {
				f := strings.Fields(l)
				sig, err := base64.StdEncoding.DecodeString(f[2])
				if err != nil {
					t.Fatal(err)
				}
				sig[len(sig)-1] ^= 1
				l = f[0] + " " + f[1] + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
			}
			out = append(out, l)
		}
		return text + "\n\n" + strings.Join(out, "")
	}
	_, otherVKey, err := note.GenerateKey(rand.Reader, "other.example/log")
	if err != nil {
		t.Fatal(err)
	}

	w := func(u uiWitness, name string) string { return "witness " + name + " " + u.VKey + "\n" }
	cases := []struct {
		name, policy string
		mutate       func(string, []byte) []byte
		state        string
		want         []string
	}{
		{"no policy", "", nil, "verified", []string{"no witness policy is set in this browser"}},
		{"quorum met", w(honest1, "h1") + w(honest2, "h2") + "group both all h1 h2\nquorum both\n", nil, "verified",
			[]string{"cosigned as your witness policy requires (quorum both: h1, h2)", "witnessed by h"}},
		{"quorum met, the policy names this log", "log " + logKey + "\n" + w(honest1, "h1") + "quorum h1\n", nil, "verified",
			[]string{"quorum h1: h1"}},
		{"quorum none", "quorum none\n", nil, "verified", []string{"requires no witness (quorum none)"}},
		{"a witness the node doesn't ask", w(absent, "a") + w(honest1, "h1") + "group g all a h1\nquorum g\n", nil, "failed",
			[]string{"lacks the cosignatures your witness policy requires (quorum g): only h1 cosigned it"}},
		{"cosignatures stripped", w(honest1, "h1") + "quorum h1\n", receiptEdit(strip), "failed",
			[]string{"no witness of your policy cosigned it"}},
		{"a cosignature forged", w(honest1, "h1") + "quorum h1\n", receiptEdit(forge), "failed",
			[]string{"witness h1's cosignature does not verify"}},
		{"a forged cosignature of a witness the policy doesn't name", w(honest2, "h2") + "quorum h2\n", receiptEdit(forge), "verified",
			[]string{"quorum h2: h2"}},
		{"an entry received after a witness saw it", w(late, "late") + "quorum late\n", nil, "failed",
			[]string{"but witness late cosigned a checkpoint that includes it at", "the received time is false"}},
		{"a policy of another log", "log " + otherVKey + "\n" + w(honest1, "h1") + "quorum h1\n", nil, "failed",
			[]string{"your witness policy names its logs, and this node's pinned log key is not one of them"}},
		{"a policy that doesn't parse", "witness h1\nquorum h1\n", nil, "failed",
			[]string{"the witness policy saved in this browser doesn't parse (line 1: want: witness <name> <vkey> [<url>])"}},
	}
	for _, c := range cases {
		mu.Lock()
		mutate = c.mutate
		mu.Unlock()
		setPolicy(c.policy)
		st, text := checkObjectPage(t, ctx, base, f.indicator, "")
		if st != c.state {
			t.Errorf("%s: %s, want %s: %s", c.name, st, c.state, text)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no %q in: %s", c.name, w, text)
			}
		}
	}
	mu.Lock()
	mutate = nil
	mu.Unlock()

	// The form: a policy that doesn't parse isn't saved; one that does is,
	// and the check runs again with it.
	setPolicy("")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/objects/"+f.indicator),
		waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
		chromedp.Click(chromedp.CSS(`#witness-policy summary`)),
		chromedp.SetValue(chromedp.CSS(`#witness-policy-text`), "witness h1 "+honest1.VKey+"\ngroup g 2 h1\nquorum g\n"),
		chromedp.Click(chromedp.CSS(`#witness-policy-save`)),
		poll(`document.querySelector(".policy-msg").textContent.includes("Not saved")`),
		shot(t, "witness-policy-form"),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`.policy-msg`)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `line 2: threshold "2" isn't all, any or a decimal from 1 to 1`; !strings.Contains(msg, want) {
		t.Errorf("the form says %q, want %q", msg, want)
	}
	if saved, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`localStorage.getItem("parley.witness-policy") === null`)); !saved {
		t.Error("a policy that doesn't parse was saved")
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__before = true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#witness-policy-text`), "witness h1 "+honest1.VKey+"\nquorum h1\n"),
		chromedp.Click(chromedp.CSS(`#witness-policy-save`)),
		poll(`window.__before === undefined && ["verified", "failed"].includes(document.querySelector("[data-verification]").dataset.verification)`),
		shot(t, "witness-policy"),
	); err != nil {
		t.Fatal(err)
	}
	all, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`section.verify`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all, "quorum h1: h1") || !strings.Contains(all, "Witness policy of this browser: set") {
		t.Errorf("after saving the policy with the form: %s", all)
	}
}

// TestWitnessPolicyJS checks the browser's C2SP tlog-policy rules
// (logv2.js parsePolicy and checkQuorum) against the CLI's
// (tlog.ParsePolicy and tlog.CheckQuorum): the same policies are
// refused, and the same cosigned notes meet the quorum or not, with the
// same witnesses' cosignatures counted, or are refused.
func TestWitnessPolicyJS(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/objects/"+f.indicator),
		waitAttr(`[data-verification]`, "data-verification", "verified", "failed"),
	); err != nil {
		t.Fatal(err)
	}
	js := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%.120s: %v", expr, err)
		}
		return v
	}

	logSigner, logVKey := newNoteKey(t, "log.example/a")
	type cosigner struct {
		name, vkey string
		signer     note.Signer
		seed       []byte
	}
	newCosigner := func(name string) cosigner {
		skey, vkey, err := tlog.NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := tlog.ParseCosignerKey(skey, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.SplitN(skey, "+", 5)[4])
		if err != nil || len(raw) != 1+ed25519.SeedSize {
			t.Fatalf("the signer key %q: %v", skey, err)
		}
		return cosigner{name, vkey, cs, raw[1:]}
	}
	w1, w2, w3 := newCosigner("w1.example"), newCosigner("w2.example"), newCosigner("w3.example")
	// zero's cosignatures have the timestamp 0, which parley's cosigner
	// refuses to write and its verifier to accept for an Ed25519
	// cosignature/v1: signed by hand, as C2SP tlog-cosignature defines them.
	zero := newCosigner("zero.example")
	unknown := newCosigner("unknown.example")
	plainKey := func() string {
		_, v, err := note.GenerateKey(rand.Reader, "plain.example")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}()
	badHash := func() string {
		i := strings.Index(w1.vkey, "+")
		b := []byte(w1.vkey)
		if b[i+1] == '0' {
			b[i+1] = '1'
		} else {
			b[i+1] = '0'
		}
		return string(b)
	}()

	W := func(name string, c cosigner) string { return "witness " + name + " " + c.vkey + "\n" }
	three := W("a", w1) + W("b", w2) + W("c", w3)
	policies := []string{
		W("a", w1) + "quorum a\n",
		W("a", w1) + W("b", w2) + "group g any a b\nquorum g\n",
		three + "group g all a b c\nquorum g\n",
		three + "group g 2 a b c\nquorum g\n",
		three + "group ab all a b\ngroup top any ab c\nquorum top\n",
		"# a comment\n\n\t" + W("a", w1) + "log " + logVKey + " https://log.example\nquorum a\n",
		"witness a " + w1.vkey + " https://w1.example/prefix\nquorum a\n",
		"quorum none\n",
		W("a", w1) + W("z", zero) + "group g any a z\nquorum g\n",
		W("z", zero) + "quorum z\n",
		// Refused.
		"",
		W("a", w1),
		W("a", w1) + "quorum a\nquorum a\n",
		W("a", w1) + "quorum b\n",
		W("a", w1) + "quorum a\nfrobnicate x\n",
		W("a", w1) + W("a", w2) + "quorum a\n",
		W("none", w1) + "quorum none\n",
		W("a", w1) + W("b", w1) + "quorum a\n",
		W("a", w1) + "group g any a a\nquorum g\n",
		W("a", w1) + W("b", w2) + "group g any a b\ngroup h any a\nquorum h\n",
		W("a", w1) + "group g 0 a\nquorum g\n",
		W("a", w1) + "group g 01 a\nquorum g\n",
		W("a", w1) + "group g 2 a\nquorum g\n",
		W("a", w1) + "group g two a\nquorum g\n",
		W("a", w1) + "group g any\nquorum g\n",
		W("a", w1) + "group g any none\nquorum g\n",
		"witness a " + plainKey + "\nquorum a\n",
		"witness a " + badHash + "\nquorum a\n",
		"witness a " + w1.vkey + " url extra\nquorum a\n",
		"witness a\nquorum a\n",
		"log " + logVKey + "\nlog " + logVKey + "\nquorum none\n",
		"log " + w1.vkey + "\nquorum none\n",
		"log\nquorum none\n",
		W("a", w1) + "quorum a\x01\n",
		W("a", w1) + "quorum a b\n",
	}
	var got []string
	if err := json.Unmarshal([]byte(js(`(async () => { const out = [];
		for (const p of `+jsonLit(policies)+`) {
			try { await ParleyLog.parsePolicy(p); out.push("ok"); } catch (e) { out.push("refused: " + e.message); }
		}
		return JSON.stringify(out); })()`)), &got); err != nil {
		t.Fatal(err)
	}
	for i, p := range policies {
		_, err := tlog.ParsePolicy([]byte(p))
		if (err == nil) != (got[i] == "ok") {
			t.Errorf("policy %d %q: Go: %v; browser: %s", i, p, err, got[i])
		}
	}

	// Notes: the log's checkpoint with cosignatures of subsets of the
	// witnesses, one forged, one of a key no policy names, one with a zero
	// timestamp.
	text := fmt.Sprintf("log.example/a\n42\n%s\n", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	sign := func(cs ...cosigner) string {
		signers := []note.Signer{logSigner}
		zeroed := false
		for _, c := range cs {
			if c.name == zero.name {
				zeroed = true
				continue
			}
			signers = append(signers, c.signer)
		}
		b, err := note.Sign(&note.Note{Text: text}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		if zeroed {
			msg := "cosignature/v1\ntime 0\n" + text
			sig := ed25519.Sign(ed25519.NewKeyFromSeed(zero.seed), []byte(msg))
			var id [4]byte
			binary.BigEndian.PutUint32(id[:], zero.signer.KeyHash())
			line := append(append(id[:], make([]byte, 8)...), sig...)
			b = append(b, "— "+zero.name+" "+base64.StdEncoding.EncodeToString(line)+"\n"...)
		}
		return string(b)
	}
	flip := func(n string, c cosigner) string {
		re := regexp.MustCompile(`(?m)^— ` + regexp.QuoteMeta(c.name) + ` (\S+)$`)
		return re.ReplaceAllStringFunc(n, func(l string) string {
			f := strings.Fields(l)
			sig, _ := base64.StdEncoding.DecodeString(f[2])
			sig[len(sig)-1] ^= 0x80
			return f[0] + " " + f[1] + " " + base64.StdEncoding.EncodeToString(sig)
		})
	}
	notes := []string{
		sign(),
		sign(w1),
		sign(w1, w2),
		sign(w1, w2, w3),
		sign(w2, w3),
		sign(w3),
		sign(zero),
		sign(w1, zero),
		sign(unknown),
		sign(w1, unknown),
		flip(sign(w1, w2), w2),
		flip(sign(w1, unknown), unknown),
		sign(w1) + "— " + w1.name + " " + strings.Fields(sign(w1)[strings.LastIndex(sign(w1), "— "+w1.name):])[2] + "\n",
	}
	// The valid policies above. (A policy naming other logs refuses the
	// note in Go; the browser checks the pinned log key against its log
	// lines apart, in verify.js, which TestBrowserWitnessPolicy covers.)
	notePolicies := policies[:10]
	type verdict struct {
		Result string   `json:"result"` // met, unmet or refused
		Cosigs []string `json:"cosigs"`
	}
	var jsv [][]verdict
	if err := json.Unmarshal([]byte(js(`(async () => { const out = [];
		for (const p of `+jsonLit(notePolicies)+`) {
			const pol = await ParleyLog.parsePolicy(p), row = [];
			for (const n of `+jsonLit(notes)+`) {
				try {
					const q = await ParleyLog.checkQuorum(pol, n);
					row.push({ result: q.met ? "met" : "unmet", cosigs: q.cosigs.map((c) => c.witness + "@" + c.time) });
				} catch (e) { row.push({ result: "refused: " + e.message, cosigs: [] }); }
			}
			out.push(row);
		}
		return JSON.stringify(out); })()`)), &jsv); err != nil {
		t.Fatal(err)
	}
	for i, p := range notePolicies {
		pol, err := tlog.ParsePolicy([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		for j, n := range notes {
			cos, err := tlog.CheckQuorum(pol, []byte(n))
			want := verdict{Result: "met", Cosigs: []string{}}
			switch {
			case err == nil:
			case errors.Is(err, tlog.ErrQuorum) && strings.Contains(err.Error(), "not enough for quorum"):
				want.Result = "unmet"
			default:
				want.Result, cos = "refused", nil
			}
			for _, c := range cos {
				want.Cosigs = append(want.Cosigs, fmt.Sprintf("%s@%d", c.Witness, c.Time.Unix()))
			}
			g := jsv[i][j]
			if strings.HasPrefix(g.Result, "refused") {
				g.Result = "refused"
			}
			if g.Result != want.Result || strings.Join(g.Cosigs, ",") != strings.Join(want.Cosigs, ",") {
				t.Errorf("policy %d, note %d: Go %v (%v); browser %+v\n%s\n%s", i, j, want, err, jsv[i][j], p, n)
			}
		}
	}

	// Time bounds: what a quorum states (quorumTime, as tlog.TimeBounds;
	// the same scenario as tlog's TestTimeBoundsQuorum, in seconds). b's
	// clock is an hour off; a policy that needs two doesn't follow it.
	abc := W("a", w1) + W("b", w2) + W("c", w3)
	var bounds []string
	if err := json.Unmarshal([]byte(js(`(async () => { const out = [];
		const without = [{ witness: "a", time: 0 }, { witness: "b", time: 3600 }, { witness: "c", time: 60 }, { witness: "c", time: 30 }];
		const with_ = [{ witness: "b", time: -3420 }, { witness: "a", time: 180 }, { witness: "c", time: 240 }, { witness: "a", time: 200 }];
		for (const p of `+jsonLit([]string{abc + "group two 2 a b c\nquorum two\n", abc + "group one 1 a b c\nquorum one\n", abc + "quorum none\n", abc + "group all 3 a b c\nquorum all\n"})+`) {
			const pol = await ParleyLog.parsePolicy(p);
			const str = (c) => c ? c.witness + "@" + c.time : "none";
			out.push(str(ParleyLog.quorumTime(pol, without, true)) + " " + str(ParleyLog.quorumTime(pol, with_, false)));
		}
		return JSON.stringify(out); })()`)), &bounds); err != nil {
		t.Fatal(err)
	}
	if want := []string{"c@60 a@180", "b@3600 b@-3420", "b@3600 b@-3420", "a@0 c@240"}; strings.Join(bounds, ",") != strings.Join(want, ",") {
		t.Errorf("the browser's quorum time bounds: %q, want %q", bounds, want)
	}
}

// newNoteKey makes a signed-note Ed25519 key named name.
func newNoteKey(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// jsonLit is v as a JSON (and JavaScript) literal.
func jsonLit(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBrowserWitnessPolicyBackDated: with a witness policy, the browser
// keeps the largest checkpoint a policy witness cosigned, and an entry
// appended after it whose received time is earlier than that cosignature
// (less the clock skew) fails as back-dated; an entry an honest node
// appends later verifies. The node chooses which checkpoints a receipt
// shows, so without the kept one nothing bounds a later entry from below.
// The witness whose clock runs an hour ahead stands for a node that
// back-dates its entries by an hour.
func TestBrowserWitnessPolicyBackDated(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	for _, c := range []struct {
		name  string
		clock func() time.Time
		state string
		want  string
	}{
		{"honest", nil, "verified", "cosigned as your witness policy requires (quorum w: w)"},
		{"back-dated", func() time.Time { return time.Now().Add(time.Hour) }, "failed",
			"that this browser checked before and that doesn't include it: the entry was inserted later and back-dated"},
	} {
		n, ws := openWitnessedNode(t, func(logKey string) []uiWitness {
			return []uiWitness{startWitness(t, "w.example/"+c.name, logKey, c.clock)}
		})
		f := newFixtureOn(t, n)
		cosignedBy(t, f, 1)
		base := uiServer(t, f, nil)
		logIn(t, ctx, base, f.aurelia.Token)
		policy := "witness w " + ws[0].VKey + "\nquorum w\n"
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`localStorage.setItem("parley.witness-policy", `+jsonLit(policy)+`), true`)); err != nil {
			t.Fatal(err)
		}
		// The first check keeps the cosigned checkpoint; it includes the
		// entry, so it bounds it only from above.
		if st, text := checkObjectPage(t, ctx, base, f.indicator, ""); st != "verified" {
			t.Fatalf("%s: the first object: %s: %s", c.name, st, text)
		}
		later := "indicator--12121212-1212-4212-8212-121212121212"
		f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": later, "name": "appended later",
			"pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix", "valid_from": "2026-09-14T08:00:00Z"})
		st, text := checkObjectPage(t, ctx, base, later, "")
		if st != c.state || !strings.Contains(text, c.want) {
			t.Errorf("%s: the object appended later: %s, want %s with %q: %s", c.name, st, c.state, c.want, text)
		}
	}
}
