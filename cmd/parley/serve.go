package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "serve",
		usage: "serve --data DIR [--listen ADDR] [--tls-cert F --tls-key F | --insecure-http] [--metrics-listen ADDR]   run the node (TAXII 2.1, log, private sets)",
		help: `Serves HTTPS with --tls-cert and --tls-key (or tls_cert and tls_key in
DIR/config.json), reloading the two files when they change. Without them
the node serves plain HTTP, which it does only on a loopback address
(127.0.0.1, ::1) unless --insecure-http is given: behind a reverse proxy
that terminates TLS, listen on 127.0.0.1 and set public_url.

GET /healthz (the process serves) and GET /readyz (the store answers and
the log integrator is less than ready_max_lag behind) need no token.
With --metrics-listen (or metrics_listen in config.json) Prometheus
metrics are served at /metrics on that address, apart from the API and
without authentication: keep it on the operator's network (serve warns
when the address is not loopback). Every request
is written to stderr as one access log line (request id, member, route,
status, duration, bytes; never a token).`,
		run: runServe,
	})
}

func runServe(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("serve")
	dir := fs.String("data", "", "the node's data `DIR`ectory (made by parley init)")
	listen := fs.String("listen", "", "listen on `ADDR` (default from config.json, else "+node.DefaultListen+")")
	urlFile := fs.String("url-file", "", "once listening, write the node's base URL to `FILE` (useful with --listen 127.0.0.1:0)")
	certFile := fs.String("tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (default: tls_cert in config.json)")
	keyFile := fs.String("tls-key", "", "the PEM private key `FILE` of --tls-cert (default: tls_key in config.json)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on an address that is not loopback (tokens and objects cross the network in clear)")
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus metrics at /metrics on `ADDR`, apart from the API (default: metrics_listen in config.json, else none)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley serve --data DIR [--listen ADDR]", "serve takes no arguments")
	}
	// A --url-file left by an earlier run goes first: a script waiting
	// for it must not read that run's URL (nothing there now, or another
	// server) when this one fails to start or waits for its store.
	if err := clearURLFile(*urlFile); err != nil {
		return withExit(3, "", err)
	}
	n, err := openNodeWaiting(ctx, c, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.CheckStoreWritable(ctx); err != nil {
		return withExit(3, "the node's files must be writable by the user running parley serve (not another owner's, not on a read-only mount)", err)
	}
	cfg := n.Config()
	addr := *listen
	if addr == "" {
		addr = cfg.Listen
	}
	tlsFiles, err := serveTLS(c.stderr, *dir, *certFile, *keyFile, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErrorf("choose another address with --listen (port 0 picks a free one, and --url-file FILE writes the URL)", "couldn't listen on %s: %v", addr, err)
	}
	if tlsFiles == nil && !*insecure && !isLoopback(ln.Addr()) {
		ln.Close()
		return refusePlainHTTP(addr, serveHTTPSHint)
	}
	scheme := "http"
	if tlsFiles != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsFiles.TLSConfig())
	}
	if *urlFile != "" {
		if err := writeURLFile(*urlFile, scheme+"://"+ln.Addr().String()); err != nil {
			ln.Close()
			return err
		}
	}
	maddr := *metricsListen
	if maddr == "" {
		maddr = cfg.MetricsListen
	}
	var mln net.Listener
	if maddr != "" {
		if mln, err = net.Listen("tcp", maddr); err != nil {
			ln.Close()
			clearURLFile(*urlFile)
			return usageErrorf("choose another address with --metrics-listen", "couldn't listen on %s for metrics: %v", maddr, err)
		}
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	if tlsFiles != nil {
		tlsFiles.SetLogger(logger)
	}
	fmt.Fprintf(c.stderr, "parley: serving %s on %s://%s (TAXII discovery at /taxii2/); Ctrl-C stops\n", *dir, scheme, ln.Addr())
	mdone := make(chan error, 1)
	mctx, stopMetrics := context.WithCancel(ctx)
	defer stopMetrics()
	if mln != nil {
		fmt.Fprintf(c.stderr, "parley: metrics at http://%s/metrics\n", mln.Addr())
		if w := metricsWarning(mln.Addr()); w != "" {
			fmt.Fprintf(c.stderr, "parley: warning: %s\n", w)
		}
		go func() { mdone <- n.ServeMetrics(mctx, mln, logger) }()
	} else {
		mdone <- nil
	}
	err = n.Serve(ctx, ln, logger)
	stopMetrics() // also when Serve failed on its own
	if merr := <-mdone; err == nil && merr != nil {
		err = fmt.Errorf("couldn't serve metrics: %w", merr)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintln(c.stderr, "parley: stopped")
	return nil
}

// serveTLS loads the certificate files of --tls-cert and --tls-key, else
// of config.json's tls_cert and tls_key (relative to the data directory);
// nil when neither names any. A key file every user may read is warned
// about on warn.
func serveTLS(warn io.Writer, dir, certFile, keyFile string, cfg node.Config) (*node.CertificateFiles, error) {
	hint := "--tls-cert is the PEM certificate chain (server first), --tls-key its PEM private key"
	if certFile == "" && keyFile == "" {
		// The files config.json names: the hint says so, and that a
		// restored backup holds neither (docs/backup.md).
		hint = "tls_cert in config.json is the PEM certificate chain (server first), tls_key its PEM private key, relative to the data directory; a backup holds neither: copy them in after a restore"
		certFile, keyFile = cfg.TLSCert, cfg.TLSKey
		if certFile != "" && !filepath.IsAbs(certFile) {
			certFile = filepath.Join(dir, certFile)
		}
		if keyFile != "" && !filepath.IsAbs(keyFile) {
			keyFile = filepath.Join(dir, keyFile)
		}
	}
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, usageErrorf("give both --tls-cert and --tls-key (or tls_cert and tls_key in config.json)", "a TLS certificate needs its key, and a key its certificate")
	}
	warnReadable(warn, keyFile, "the TLS private key")
	f, err := node.LoadCertificateFiles(certFile, keyFile)
	if err != nil {
		return nil, usageErrorf(hint, "%v", err)
	}
	return f, nil
}

// metricsWarning is the warning serve prints for a metrics listener
// that is not on a loopback address ("" for one that is): the metrics
// need no token, so whoever reaches the address reads them (the node's
// traffic by route, the private-set evaluations, the witnesses' names).
func metricsWarning(a net.Addr) string {
	if isLoopback(a) {
		return ""
	}
	return fmt.Sprintf("the metrics on %s need no token: anyone who can reach that address reads them; keep it on the operator's network (a firewall, or --metrics-listen 127.0.0.1:PORT behind the scraper's tunnel)", a)
}

// isLoopback reports whether a listener's address is a loopback address,
// where plain HTTP never leaves the machine.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// serveHTTPSHint is the hint of parley serve's refusal of plain HTTP on a
// non-loopback address.
const serveHTTPSHint = "serve HTTPS with --tls-cert F --tls-key F, or listen on 127.0.0.1 behind a TLS proxy (set public_url), or accept the risk with --insecure-http"

// refusePlainHTTP is the error for plain HTTP on a non-loopback address,
// with hint saying what the command offers instead.
func refusePlainHTTP(addr, hint string) error {
	return usageErrorf(hint,
		"refusing to serve plain HTTP on %s, which is not a loopback address: API tokens and objects would cross the network in clear", addr)
}

// writeURLFile writes url to path atomically (a temporary file renamed into
// place), so that a script or supervisor polling for the file never reads
// half of it. A new file is 0644 less the umask, as os.Create gives: the
// URL is no secret, and a client run as another user may read it.
// clearURLFile removes the --url-file path (none is fine), so that it
// names a server only once that server listens: writeURLFile replaces it
// atomically after the listen, and a start that fails leaves no file.
func clearURLFile(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("couldn't remove the URL file of an earlier run: %w", err)
	}
	return nil
}

func writeURLFile(path, url string) error {
	if err := replaceFilePerm(path, []byte(url+"\n"), 0o644); err != nil {
		return fmt.Errorf("couldn't write the URL file: %w", err)
	}
	return nil
}

// Waits of serve for a store that can't be reached: the first, and the
// longest (each doubles the one before). Variables for the tests.
var (
	storeWaitFirst = time.Second
	storeWaitMax   = 30 * time.Second
)

// openNodeWaiting is openNode for serve: while the store can't be reached
// (a PostgreSQL server that is down or still starting, as after a power
// cut that brought the node up first), it tries again until ctx ends,
// saying so on stderr, instead of exiting. Any other error (a wrong
// password, a missing database, a bad config.json) ends it at once.
func openNodeWaiting(ctx context.Context, c *cli, dir string) (*node.Node, error) {
	wait := storeWaitFirst
	// The lines opening logs (an upgrade's schema migrations) in the
	// form of serve's log.
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	for {
		n, err := openNodeLogging(ctx, dir, logger)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return n, err
		}
		fmt.Fprintf(c.stderr, "parley: serve: waiting for the store: %v; trying again in %v\n", err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, storeWaitMax)
	}
}
