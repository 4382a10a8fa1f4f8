package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/witness"
)

// testCA is a private certificate authority made in the test; ca.pem is
// its certificate, for --ca.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemFile string
}

func newTestCA(t *testing.T, dir, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := testCA{cert: cert, key: key, pemFile: filepath.Join(dir, name+".pem")}
	if err := os.WriteFile(ca.pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue writes a server certificate for 127.0.0.1 and its key, replacing
// the files by rename as an operator renewing them would.
func (ca testCA) issue(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(name+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
}

// serveInProcess runs `parley serve ARGS... --url-file F` until the test
// ends and returns the URL it serves, or fails the test with serve's
// error output if it stops first.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	return runInProcess(t, []string{"serve"}, args...)
}

// runInProcess runs the command cmd (such as serve, or witness serve) with
// args and --url-file in this process until t ends, and returns the URL it
// wrote once listening.
func runInProcess(t *testing.T, cmd []string, args ...string) string {
	t.Helper()
	url, _ := runInProcessLogs(t, cmd, args...)
	return url
}

// runInProcessLogs is runInProcess that also returns the command's
// stderr, which it goes on writing while the test runs.
func runInProcessLogs(t *testing.T, cmd []string, args ...string) (string, *syncWriter) {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: new(bytes.Buffer), stderr: &syncWriter{w: &errb}, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- c.main(ctx, append(append(slices.Clone(cmd), args...), "--url-file", urlFile)) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("%s stopped with exit %d: %s", strings.Join(cmd, " "), code, c.stderr.(*syncWriter).String())
		case <-time.After(10 * time.Millisecond):
		}
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), c.stderr.(*syncWriter)
		}
	}
	t.Fatalf("%s did not start within 30 s", strings.Join(cmd, " "))
	return "", nil
}

// TestServeTLS serves HTTPS with a certificate from a private CA made in
// the test: a client without --ca refuses the node (with a hint naming
// --ca), one with --ca accepts it; replacing the certificate files makes
// the running node serve the new certificate; config.json's tls_cert and
// tls_key work as the flags do.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	for _, args := range [][]string{
		{"init", "--data", data},
		{"collection", "add", "--data", data, "--title", "intel", "--read", "alice", "--write", "alice"},
	} {
		if args[0] == "collection" {
			code, out, stderr := runCLI(t, "member", "add", "--data", data, "--name", "alice", "--json")
			if code != 0 {
				t.Fatalf("member add: %s", stderr)
			}
			if err := os.WriteFile(filepath.Join(dir, "alice.json"), []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	caA, caB := newTestCA(t, dir, "ca-a"), newTestCA(t, dir, "ca-b")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	caA.issue(t, certFile, keyFile)
	url, logs := runInProcessLogs(t, []string{"serve"}, "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("serve wrote URL %q; want https://127.0.0.1:…", url)
	}
	token := filepath.Join(dir, "alice.json")
	pull := func(ca string) (int, string, string) {
		args := []string{"pull", "--url", url, "--token-file", token, "--collection", "intel"}
		if ca != "" {
			args = append(args, "--ca", ca)
		}
		return runCLI(t, args...)
	}

	// Without --ca the system roots don't know the private CA.
	if code, _, stderr := pull(""); code != 4 || !strings.Contains(stderr, "certificate signed by unknown authority") || !strings.Contains(stderr, "hint: the node's certificate is not signed by a CA you trust: give its CA certificate with --ca FILE") {
		t.Fatalf("pull without --ca: exit %d, stderr:\n%s\nwant exit 4, the x509 error and the --ca hint", code, stderr)
	} else if strings.Contains(stderr, "check --url and --token") {
		t.Errorf("pull without --ca also hints at the token:\n%s", stderr)
	}
	// Another CA is no better.
	if code, _, stderr := pull(caB.pemFile); code != 4 || !strings.Contains(stderr, "unknown authority") {
		t.Fatalf("pull with the wrong --ca: exit %d: %s", code, stderr)
	}
	code, out, stderr := pull(caA.pemFile)
	if code != 0 || !strings.Contains(out, `"type": "bundle"`) && !strings.Contains(out, `"type":"bundle"`) {
		t.Fatalf("pull with --ca: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	// An unknown collection: the hint lists the visible ones, no
	// copy-paste command that would answer 401.
	if code, _, stderr := runCLI(t, "pull", "--url", url, "--token-file", token, "--collection", "nope", "--ca", caA.pemFile); code != 4 || !strings.Contains(stderr, `parley: hint: the collections you may see: "intel" (`) {
		t.Errorf("pull of an unknown collection: exit %d: %s", code, stderr)
	}
	// Every remote command goes through the same client: audit too. The
	// node answers 404 for its checkpoint until its integrator has signed
	// the first one (slow on a loaded machine), so the audit is retried
	// while that is all that is wrong.
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, _, stderr := runCLI(t, "audit", "--url", url, "--token-file", token, "--ca", caA.pemFile, "--seen", filepath.Join(dir, "seen.json"))
		if code == 0 {
			break
		}
		if !strings.Contains(stderr, "GET /log/checkpoint: 404") || time.Now().After(deadline) {
			t.Fatalf("audit with --ca: exit %d: %s", code, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Plain http:// to an HTTPS node fails (the node answers 400).
	if code, _, _ := runCLI(t, "pull", "--url", "http"+strings.TrimPrefix(url, "https"), "--token-file", token, "--collection", "intel"); code == 0 {
		t.Error("pull over plain HTTP from an HTTPS node succeeded")
	}

	// The operator renews the certificate from another CA: the running
	// node serves it on the next connection.
	caB.issue(t, certFile, keyFile)
	if code, _, stderr := pull(caA.pemFile); code != 4 || !strings.Contains(stderr, "unknown authority") {
		t.Fatalf("after the renewal, the old CA still verifies the node (exit %d: %s): the files were not reloaded", code, stderr)
	}
	if code, _, stderr := pull(caB.pemFile); code != 0 {
		t.Fatalf("after the renewal, pull with the new CA: exit %d: %s", code, stderr)
	}
	if !strings.Contains(logs.String(), `msg="reloaded the TLS certificate" serial=`) {
		t.Errorf("the renewal isn't logged:\n%s", logs.String())
	}
	// A key that doesn't match: the node keeps the renewed pair and says
	// why in its log, once.
	caA.issue(t, certFile, keyFile+".other")
	if err := os.Rename(certFile+".new", certFile); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for range 2 {
		if code, _, stderr := pull(caB.pemFile); code != 0 {
			t.Fatalf("with a certificate whose key isn't there, the node doesn't serve the previous pair: exit %d: %s", code, stderr)
		}
	}
	if got := strings.Count(logs.String(), "couldn't reload the TLS certificate; still serving the previous one"); got != 1 {
		t.Errorf("a mismatched pair is logged %d times; want once:\n%s", got, logs.String())
	}
}

// TestServeTLSFromConfig serves HTTPS with tls_cert and tls_key from
// config.json, relative to the data directory.
func TestServeTLSFromConfig(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	ca := newTestCA(t, dir, "ca")
	ca.issue(t, filepath.Join(data, "tls.crt"), filepath.Join(data, "tls.key"))
	if err := editConfig(data, func(cfg map[string]any) { cfg["tls_cert"], cfg["tls_key"] = "tls.crt", "tls.key" }); err != nil {
		t.Fatal(err)
	}
	url := serveInProcess(t, "--data", data, "--listen", "127.0.0.1:0")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve wrote URL %q; want https://", url)
	}
	// /log/key needs no token: verify the node with the CA.
	hc, err := clientWithCA(ca.pemFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(url + "/log/key")
	if err != nil {
		t.Fatalf("GET /log/key over HTTPS with the CA: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("the node answered over %s; want HTTP/2 over TLS", resp.Proto)
	}
}

// TestServeRefusesPlainHTTP checks that the node serves plain HTTP on a
// non-loopback address only with --insecure-http, and that half a TLS
// configuration is a usage error.
func TestServeRefusesPlainHTTP(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	code, _, stderr := runCLI(t, "serve", "--data", data, "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "parley: error: refusing to serve plain HTTP on 0.0.0.0:0, which is not a loopback address") || !strings.Contains(stderr, "--insecure-http") {
		t.Fatalf("serve on 0.0.0.0 without TLS: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", "cert.pem")
	if code != 2 || !strings.Contains(stderr, "needs its key") {
		t.Fatalf("serve with --tls-cert alone: exit %d: %s", code, stderr)
	}
	url := serveInProcess(t, "--data", data, "--listen", "0.0.0.0:0", "--insecure-http")
	if !strings.HasPrefix(url, "http://") {
		t.Fatalf("serve --insecure-http wrote URL %q", url)
	}
}

// syncWriter is a buffer that a serving command and the test may use at
// the same time.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// TestWitnessPullsOverHTTPS: a witness pulls a node that serves HTTPS with
// a certificate of a private CA, trusting that CA through --ca as every
// other client does, and cosigns its checkpoint.
func TestWitnessPullsOverHTTPS(t *testing.T) {
	witnessPullsOverHTTPS(t, func(nodeURL, logKey, tokenFile, caFile string) []string {
		return []string{"--pull", nodeURL + "=" + logKey, "--token-file", tokenFile, "--ca", caFile, "--poll", "50ms"}
	})
}

// TestWitnessFlagsAfterLogKeys: --ca and --token-file given after the log
// keys that follow --log (`--log K1 K2 --ca FILE`, which issue #12's form
// invites) count as before them. The witness used to parse them there and
// drop them: it pulled with the system's roots and no token, and every
// pull failed with "certificate signed by unknown authority".
func TestWitnessFlagsAfterLogKeys(t *testing.T) {
	witnessPullsOverHTTPS(t, func(nodeURL, logKey, tokenFile, caFile string) []string {
		return []string{"--pull", nodeURL + "=" + logKey, "--poll", "50ms", "--log", logKey, "witness.example/other+24a4302f+AZLvtH0NL+bSHWoMLkToT+lxI0Hd0v0NQ8eV2icnR+HX", "--token-file", tokenFile, "--ca", caFile}
	})
}

// witnessPullsOverHTTPS serves a node over HTTPS with a certificate of a
// private CA whose log only its members read, runs a witness with the
// arguments args returns, and waits for its cosignature of the node's log.
func witnessPullsOverHTTPS(t *testing.T, args func(nodeURL, logKey, tokenFile, caFile string) []string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	tokenFile := filepath.Join(dir, "alice.json")
	if code, _, stderr := runCLI(t, "member", "add", "--data", data, "--name", "alice", "--token-out", tokenFile); code != 0 {
		t.Fatalf("member add: %s", stderr)
	}
	logKey := nodeLogKey(t, data)
	ca := newTestCA(t, dir, "ca")
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, cert, key)
	nodeURL := serveInProcess(t, "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(nodeURL, "https://") {
		t.Fatalf("node URL %q", nodeURL)
	}
	wdir := filepath.Join(dir, "witness")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", wdir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	wURL := runInProcess(t, []string{"witness", "serve"}, append([]string{"--data", wdir, "--listen", "127.0.0.1:0"},
		args(nodeURL, logKey, tokenFile, ca.pemFile)...)...)
	origin, _, _ := strings.Cut(logKey, "+")
	wc := &witness.Client{URL: wURL}
	for deadline := time.Now().Add(30 * time.Second); ; {
		cp, err := wc.Checkpoint(context.Background(), origin)
		if err == nil && strings.Contains(string(cp), "\n— witness.example/w1 ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the witness has no cosigned checkpoint of the HTTPS node after 30 s: %q %v", cp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWitnessServesHTTPS: `witness serve --tls-cert --tls-key` serves the
// witness API over HTTPS (its --url-file says https), verified by a
// client trusting the private CA, and by no other; half a pair is a
// usage error.
func TestWitnessServesHTTPS(t *testing.T) {
	dir := t.TempDir()
	wdir := filepath.Join(dir, "witness")
	if code, _, stderr := runCLI(t, "witness", "init", "--data", wdir, "--name", "witness.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	logKey := nodeLogKey(t, data)
	ca := newTestCA(t, dir, "ca")
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, cert, key)
	if code, _, stderr := runCLI(t, "witness", "serve", "--data", wdir, "--log", logKey, "--tls-cert", cert); code != 2 || !strings.Contains(stderr, "--tls-key") {
		t.Fatalf("witness serve with --tls-cert alone: exit %d: %s", code, stderr)
	}
	wURL := runInProcess(t, []string{"witness", "serve"}, "--data", wdir, "--listen", "127.0.0.1:0", "--log", logKey, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(wURL, "https://127.0.0.1:") {
		t.Fatalf("witness serve wrote URL %q; want https://127.0.0.1:…", wURL)
	}
	origin, _, _ := strings.Cut(logKey, "+")
	hc, err := clientWithCA(ca.pemFile)
	if err != nil {
		t.Fatal(err)
	}
	// The witness has cosigned nothing yet: ErrNotFound, over a verified
	// connection.
	if _, err := (&witness.Client{URL: wURL, HTTP: hc}).Checkpoint(context.Background(), origin); err == nil || strings.Contains(err.Error(), "certificate") {
		t.Fatalf("monitor retrieval over HTTPS with the CA: %v; want no checkpoint yet", err)
	}
	other := newTestCA(t, dir, "other")
	hc, err = clientWithCA(other.pemFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&witness.Client{URL: wURL, HTTP: hc}).Checkpoint(context.Background(), origin); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("monitor retrieval trusting another CA: %v; want a certificate error", err)
	}
}

// TestFeedWithPrivateCA: a feed of a TAXII server whose certificate comes
// from a private CA polls it with feed add's --ca (recorded with the feed,
// read at each poll), and fails without it. Before, feed add took --ca
// (as every command with --url does) and dropped it: the node polled with
// the system's roots only.
func TestFeedWithPrivateCA(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, d := range []string{src, dst} {
		if code, _, stderr := runCLI(t, "init", "--data", d); code != 0 {
			t.Fatalf("init: %s", stderr)
		}
	}
	code, out, stderr := runCLI(t, "member", "add", "--data", src, "--name", "alice", "--json")
	if code != 0 {
		t.Fatalf("member add: %s", stderr)
	}
	token := filepath.Join(dir, "alice.json")
	if err := os.WriteFile(token, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "collection", "add", "--data", src, "--title", "intel", "--read", "alice", "--write", "alice", "--json")
	if code != 0 {
		t.Fatalf("collection add: %s", stderr)
	}
	var coll struct{ ID string }
	if err := json.Unmarshal([]byte(out), &coll); err != nil || coll.ID == "" {
		t.Fatalf("collection add --json: %q %v", out, err)
	}
	ca := newTestCA(t, dir, "ca")
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, cert, key)
	url := serveInProcess(t, "--data", src, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)

	add := func(name string, extra ...string) {
		t.Helper()
		args := append([]string{"feed", "add", "--data", dst, "--url", url, "--collection", coll.ID, "--into", name, "--name", name, "--token-file", token}, extra...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("feed add %s: exit %d: %s", name, code, stderr)
		}
	}
	add("with-ca", "--ca", ca.pemFile)
	add("without-ca")
	if code, _, stderr := runCLI(t, "feed", "poll", "--data", dst, "--name", "with-ca"); code != 0 {
		t.Fatalf("feed poll with the CA: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "feed", "poll", "--data", dst, "--name", "without-ca"); code == 0 || !strings.Contains(stderr, "hint") {
		t.Fatalf("feed poll without the CA: exit %d: %s", code, stderr)
	}
	code, out, _ = runCLI(t, "feed", "status", "--data", dst)
	if code != 0 || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Fatalf("feed status: exit %d: %s; want the certificate error of without-ca", code, out)
	}
	// A file that is no CA is refused when the feed is added.
	if code, _, stderr := runCLI(t, "feed", "add", "--data", dst, "--url", url, "--collection", coll.ID, "--into", "bad", "--token-file", token, "--ca", key); code != 2 || !strings.Contains(stderr, "holds no PEM certificate") {
		t.Fatalf("feed add --ca KEYFILE: exit %d: %s", code, stderr)
	}
}

// TestDemoRefusesPlainHTTPHint checks that parley demo, which serves only
// plain HTTP, refuses a non-loopback address with a hint that names only
// what demo accepts: it has no --tls-cert, --tls-key or public_url, which
// serve's hint offers.
func TestDemoRefusesPlainHTTPHint(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo")
	code, _, stderr := runCLI(t, "demo", "--data", data, "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "parley: error: refusing to serve plain HTTP on 0.0.0.0:0, which is not a loopback address") || !strings.Contains(stderr, "--insecure-http") {
		t.Fatalf("demo on 0.0.0.0: exit %d: %s", code, stderr)
	}
	for _, flag := range []string{"--tls-cert", "--tls-key", "public_url"} {
		if strings.Contains(stderr, flag) {
			t.Errorf("demo's refusal suggests %s, which demo does not take:\n%s", flag, stderr)
		}
	}
}

// TestServeMissingTLSFilesHintNamesTheirSource: the hint for TLS files
// that can't be read names where they were given: config.json's tls_cert
// and tls_key (a restored backup holds neither), or the flags.
func TestServeMissingTLSFilesHintNamesTheirSource(t *testing.T) {
	data := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	cfgPath := filepath.Join(data, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["tls_cert"], cfg["tls_key"] = "tls/fullchain.pem", "tls/privkey.pem"
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "serve", "--data", data, "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "hint: tls_cert in config.json is the PEM certificate chain") || !strings.Contains(stderr, "copy them in after a restore") {
		t.Errorf("serve with config.json's TLS files missing: exit %d: %s", code, stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	code, _, stderr = runCLI(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", missing, "--tls-key", missing)
	if code != 2 || !strings.Contains(stderr, "hint: --tls-cert is the PEM certificate chain") {
		t.Errorf("serve with --tls-cert files missing: exit %d: %s", code, stderr)
	}
}

// TestListenTakenHintsPortZero: serve and witness serve on a taken
// address hint at port 0 and --url-file, as demo does.
func TestListenTakenHintsPortZero(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	data, wdata := filepath.Join(dir, "node"), filepath.Join(dir, "witness")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "witness", "init", "--data", wdata, "--name", "w.example/w1"); code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	vkey, err := os.ReadFile(filepath.Join(data, "node.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--data", data, "--listen", ln.Addr().String()},
		{"witness", "serve", "--data", wdata, "--listen", ln.Addr().String(), "--log", strings.TrimSpace(string(vkey))},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "port 0 picks a free one, and --url-file FILE writes the URL") {
			t.Errorf("%s on a taken address: exit %d: %s", strings.Join(args[:2], " "), code, stderr)
		}
	}
}

// TestRestoreNamesTLSFilesItLacks: a backup holds no TLS or CA files, so
// a node restored from one whose config.json names them failed at its
// first parley serve; restore says which to copy in, and says nothing
// of a file that is there (an absolute path).
func TestRestoreNamesTLSFilesItLacks(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	code, wkey, stderr := runCLI(t, "witness", "init", "--data", filepath.Join(dir, "witness"), "--name", "w.example/w1")
	if code != 0 {
		t.Fatalf("witness init: %s", stderr)
	}
	kept := filepath.Join(dir, "kept-ca.pem")
	if err := os.WriteFile(kept, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(data, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["tls_cert"], cfg["tls_key"] = "tls/fullchain.pem", "tls/privkey.pem"
	cfg["witnesses"] = []any{map[string]any{"url": "https://w.example", "key": strings.TrimSpace(wkey), "ca": kept}}
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "node.backup")
	if code, _, stderr := runCLI(t, "backup", "--data", data, "--out", archive); code != 0 {
		t.Fatalf("backup: %s", stderr)
	}
	code, _, stderr = runCLI(t, "restore", "--data", filepath.Join(dir, "restored"), "--from", archive)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"config.json names tls/fullchain.pem (tls_cert)", "config.json names tls/privkey.pem (tls_key)", "copy it in before parley serve"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("restore of a node with TLS files in config.json doesn't say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "kept-ca.pem") {
		t.Errorf("restore named a file that is there:\n%s", stderr)
	}
}
