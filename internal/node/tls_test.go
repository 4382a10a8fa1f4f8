package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a private certificate authority made in the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Parley test CA"},
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
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 with the given serial
// and its key as PEM files.
func (ca testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	ca.issueValid(t, serial, certFile, keyFile, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// issueValid is issue with the certificate valid from notBefore to
// notAfter.
func (ca testCA) issueValid(t *testing.T, serial int64, certFile, keyFile string, notBefore, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter,
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
	// Written beside and renamed into place, as a careful operator or
	// an ACME client replaces them.
	for name, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(name+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial makes a new TLS connection to addr that trusts only ca and
// returns the serial number of the certificate the server presented.
// With outOfDate it accepts any certificate (one out of its validity
// period would not verify) and only reads the serial.
func servedSerial(t *testing.T, addr string, ca testCA, outOfDate ...bool) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1", InsecureSkipVerify: len(outOfDate) > 0 && outOfDate[0]})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestCertificateFilesReload serves TLS from certificate files, replaces
// them and checks that the next handshake presents the new certificate,
// and that a half-replaced pair keeps the last good one in service.
func TestCertificateFilesReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTestCA(t)
	ca.issue(t, 100, certFile, keyFile)
	files, err := LoadCertificateFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	files.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", files.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	addr := ln.Addr().String()
	if got := servedSerial(t, addr, ca); got != 100 {
		t.Fatalf("served serial %d; want 100", got)
	}

	ca.issue(t, 101, certFile, keyFile)
	if got := servedSerial(t, addr, ca); got != 101 {
		t.Fatalf("after replacing the files, served serial %d; want 101", got)
	}
	if err := files.Err(); err != nil {
		t.Fatalf("reload failed: %v", err)
	}

	// A new certificate whose key is not there yet: the last good pair
	// stays in service, and the reason is kept.
	key101, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca.issue(t, 102, certFile, keyFile)
	if err := os.WriteFile(keyFile, key101, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, addr, ca); got != 101 {
		t.Fatalf("with a mismatched pair, served serial %d; want the last good 101", got)
	}
	if files.Err() == nil {
		t.Error("a mismatched pair reported no error")
	}
	// The operator is told, once however many handshakes follow.
	servedSerial(t, addr, ca)
	if got := strings.Count(logs.String(), "couldn't reload the TLS certificate"); got != 1 {
		t.Errorf("a mismatched pair logged %d reload errors; want 1:\n%s", got, logs.String())
	}
	ca.issue(t, 103, certFile, keyFile)
	if got := servedSerial(t, addr, ca); got != 103 {
		t.Fatalf("after completing the replacement, served serial %d; want 103", got)
	}
	if !strings.Contains(logs.String(), `"reloaded the TLS certificate" serial=67 `) {
		t.Errorf("the reload of serial 103 (0x67) isn't logged:\n%s", logs.String())
	}

	// A renewal with a certificate that has expired (or isn't valid yet)
	// is served, since it loads, but the log says clients will refuse it.
	ca.issueValid(t, 104, certFile, keyFile, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	if got := servedSerial(t, addr, ca, true); got != 104 {
		t.Fatalf("an expired certificate: served serial %d; want 104", got)
	}
	if !strings.Contains(logs.String(), "the TLS certificate has expired") {
		t.Errorf("an expired certificate isn't warned about:\n%s", logs.String())
	}
	ca.issueValid(t, 105, certFile, keyFile, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	servedSerial(t, addr, ca, true)
	if !strings.Contains(logs.String(), "the TLS certificate is not valid yet") {
		t.Errorf("a certificate not valid yet isn't warned about:\n%s", logs.String())
	}
	// Loaded expired at start: said when the logger is set.
	var start logBuffer
	expired, err := LoadCertificateFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	expired.SetLogger(slog.New(slog.NewTextHandler(&start, nil)))
	if !strings.Contains(start.String(), "not valid yet") {
		t.Errorf("a certificate out of its validity at start isn't warned about: %q", start.String())
	}

	if _, err := LoadCertificateFiles(filepath.Join(dir, "missing.pem"), keyFile); err == nil {
		t.Error("a missing certificate file loaded")
	}
	if _, err := LoadCertificateFiles(keyFile, certFile); err == nil {
		t.Error("swapped certificate and key files loaded")
	}
}
