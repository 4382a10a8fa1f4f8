package node

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertificateFiles serves a TLS certificate and key from two PEM files
// and reloads them when either file changes, so that an operator (or an
// ACME client) can renew the certificate without restarting the node.
// Use its GetCertificate as [tls.Config.GetCertificate].
//
// Every handshake stats both files (two system calls, small beside the
// handshake itself); when the size, modification time or identity of
// either changed, the pair is loaded again. A pair that does not load
// (one file replaced and not yet the other, or a bad file) keeps the
// previous certificate in service, and the next handshake tries again.
// With a logger ([CertificateFiles.SetLogger]) each reload is logged: a
// new certificate at info level, a failure at error level (once until
// the failure changes or a reload succeeds), so that an operator learns
// that the node still serves the old certificate.
type CertificateFiles struct {
	certFile, keyFile string

	mu       sync.Mutex
	logger   *slog.Logger
	cert     *tls.Certificate
	certInfo os.FileInfo
	keyInfo  os.FileInfo
	// lastErr is the latest reload failure, nil after a success.
	lastErr error
}

// LoadCertificateFiles loads the certificate chain in certFile and its
// private key in keyFile (PEM, as for [tls.LoadX509KeyPair]); it fails
// when they do not load or do not match.
func LoadCertificateFiles(certFile, keyFile string) (*CertificateFiles, error) {
	f := &CertificateFiles{certFile: certFile, keyFile: keyFile}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// GetCertificate returns the current certificate, reloading the files
// first if they changed.
func (f *CertificateFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed() {
		// A failure keeps the previous certificate; lastErr says why.
		err := f.reloadLocked()
		switch {
		case f.logger == nil:
		case err != nil && (f.lastErr == nil || f.lastErr.Error() != err.Error()):
			f.logger.Error("couldn't reload the TLS certificate; still serving the previous one", "err", err)
		case err == nil:
			f.logger.Info("reloaded the TLS certificate", certAttrs(f.cert)...)
			f.warnValidityLocked()
		}
		f.lastErr = err
	}
	return f.cert, nil
}

// SetLogger makes f log each reload of its files on l (see
// [CertificateFiles]).
func (f *CertificateFiles) SetLogger(l *slog.Logger) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logger = l
	f.warnValidityLocked()
}

// warnValidityLocked logs a warning when the certificate served is out
// of its validity period, which every client refuses: the node serves it
// all the same (the operator may be about to replace it), but says so.
func (f *CertificateFiles) warnValidityLocked() {
	if f.logger == nil || f.cert == nil {
		return
	}
	leaf := leafOf(f.cert)
	if leaf == nil {
		return
	}
	switch now := time.Now(); {
	case now.After(leaf.NotAfter):
		f.logger.Warn("the TLS certificate has expired: clients will refuse it until it is replaced", certAttrs(f.cert)...)
	case now.Before(leaf.NotBefore):
		f.logger.Warn("the TLS certificate is not valid yet: clients will refuse it until then", append(certAttrs(f.cert), "not_before", leaf.NotBefore.UTC())...)
	}
}

// leafOf returns the parsed leaf certificate of c, or nil.
func leafOf(c *tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, _ := x509.ParseCertificate(c.Certificate[0])
	return leaf
}

// certAttrs describes the leaf of c for a log line: its serial number,
// subject and expiry.
func certAttrs(c *tls.Certificate) []any {
	leaf := leafOf(c)
	if leaf == nil {
		return nil
	}
	serial := fmt.Sprintf("%X", leaf.SerialNumber)
	if len(serial)%2 == 1 {
		serial = "0" + serial // whole bytes, as openssl prints it
	}
	return []any{"serial", serial, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC()}
}

// Err returns why the latest reload failed, or nil if it succeeded (the
// certificate served is then the one from the files as they are).
func (f *CertificateFiles) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

func (f *CertificateFiles) reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked()
}

// changed reports whether either file differs from when it was loaded.
func (f *CertificateFiles) changed() bool {
	return fileChanged(f.certFile, f.certInfo) || fileChanged(f.keyFile, f.keyInfo)
}

func fileChanged(name string, old os.FileInfo) bool {
	fi, err := os.Stat(name)
	if err != nil || old == nil {
		return err == nil // a missing file is no new certificate
	}
	return !os.SameFile(fi, old) || fi.Size() != old.Size() || !fi.ModTime().Equal(old.ModTime())
}

func (f *CertificateFiles) reloadLocked() error {
	// Stat before reading: a write between the two makes the next
	// handshake see a change and load again, never the reverse.
	ci, err1 := os.Stat(f.certFile)
	ki, err2 := os.Stat(f.keyFile)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("couldn't read the TLS certificate and key: %w", firstErr(err1, err2))
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("couldn't load the TLS certificate %s and key %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.certInfo, f.keyInfo = &cert, ci, ki
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TLSConfig returns the server TLS configuration for f: TLS 1.2 or later,
// HTTP/2 and HTTP/1.1, the certificate from f.
func (f *CertificateFiles) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: f.GetCertificate,
	}
}
