package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// parley witness init --data DIR --name NAME
// parley witness serve --data DIR [--listen ADDR] [--log VKEY]... [--pull URL=VKEY]... [--poll D] [--token-file F] [--max-connections N] [--max-connections-per-ip N]
//
// A C2SP tlog-witness (docs/witness.md). Exit codes: 0 stopped cleanly,
// 2 bad usage, 3 the witness couldn't run.
func init() {
	register(command{
		name:  "witness",
		usage: "witness init --data DIR --name NAME | witness serve --data DIR --log VKEY...   # a C2SP tlog-witness",
		help:  "A C2SP tlog-witness that any member or third party runs: it cosigns a log's checkpoints only if each is consistent with the last it saw, and keeps evidence when not (docs/witness.md).",
		subcommands: []subcommand{
			{name: "init", usage: "witness init --data DIR --name NAME", help: "Creates a witness: its Ed25519 key (0600) in DIR (0700); prints its verifier key (cosignature/v1) for logs and clients to pin."},
			{name: "serve", usage: "witness serve --data DIR [--listen ADDR] [--log VKEY]... [--pull URL=VKEY]... [--poll DURATION] [--token-file FILE] [--tls-cert F --tls-key F] [--max-connections N] [--max-connections-per-ip N]", help: "Serves POST /add-checkpoint and GET /<origin hash>/checkpoint for the logs named by --log (repeated, or --log K1 K2: arguments are more log keys), and pulls the logs named by --pull itself."},
		},
		run: runWitness,
	})
}

const witnessUsage = "usage: parley witness init --data DIR --name NAME | parley witness serve --data DIR [--listen ADDR] [--log VKEY]... [--pull URL=VKEY]... [--poll DURATION] [--token-file FILE] [--tls-cert F --tls-key F] [--max-connections N] [--max-connections-per-ip N]"

// Files in a witness's data directory.
const (
	witnessKeyFile  = "witness.key"  // the signer key, 0600
	witnessVKeyFile = "witness.vkey" // the verifier key, for reference
)

// defaultWitnessListen is where a witness listens without --listen.
const defaultWitnessListen = "127.0.0.1:7380"

// How long witness serve waits for a request's headers, and for the whole
// request (headers and body; an idle keep-alive connection too): anyone
// may connect, and a client that sends a byte now and then (slow loris)
// would otherwise hold its connection, and the body read so far, for
// ever. Variables for tests.
var (
	witnessReadHeaderTimeout = 10 * time.Second
	witnessReadTimeout       = time.Minute
)

// witnessMaxHeaderBytes bounds a request's headers (the server allows
// 4 KiB more): a witness's requests carry a few short headers, and the
// server's default of 1 MiB let each of --max-connections connections
// hold a megabyte of headers, sent slowly within the header timeout.
const witnessMaxHeaderBytes = 16 << 10

func runWitness(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf(witnessUsage, "witness needs a subcommand: init or serve")
	}
	switch args[0] {
	case "init":
		return runWitnessInit(c, args[1:])
	case "serve":
		return runWitnessServe(ctx, c, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(c.stderr, witnessUsage)
		return flag.ErrHelp
	}
	return usageErrorf(witnessUsage, "unknown witness subcommand %q", args[0])
}

func runWitnessInit(c *cli, args []string) error {
	fs := c.newFlagSet("witness init")
	dir := fs.String("data", "", "the witness's data `DIR`ectory (created 0700 if missing)")
	name := fs.String("name", "", "the witness's key `NAME`, a schema-less URL such as witness.example/w1")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *name == "" || fs.NArg() > 0 {
		return usageErrorf("parley witness init --data ./witness --name witness.example/w1", "witness init needs --data and --name")
	}
	skey, vkey, err := tlog.NewCosignerKey(rand.Reader, *name)
	if err != nil {
		return usageErrorf("a key name has no spaces and no '+'", "%v", err)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't create the witness directory: %w", err))
	}
	if err := os.Chmod(*dir, 0o700); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't restrict the witness directory: %w", err))
	}
	keyPath := filepath.Join(*dir, witnessKeyFile)
	// O_EXCL: never overwrite a witness's key, which would make it a new
	// witness that forgot what it cosigned.
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return usageErrorf("use another directory, or run parley witness serve --data "+*dir, "%s already holds a witness key", *dir)
	}
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't write the witness key: %w", err))
	}
	_, err = io.WriteString(f, skey+"\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(keyPath)
		return withExit(3, "", fmt.Errorf("couldn't write the witness key: %w", err))
	}
	if err := writeWitnessVKey(filepath.Join(*dir, witnessVKeyFile), []byte(vkey+"\n"), 0o644); err != nil {
		// Left behind, the key would make the next init refuse the
		// directory, with no verifier key printed or kept (a full disk
		// leaves an empty witness.vkey): nobody has this key yet.
		os.Remove(filepath.Join(*dir, witnessVKeyFile))
		os.Remove(keyPath)
		return withExit(3, "", fmt.Errorf("couldn't write the witness verifier key: %w", err))
	}
	fmt.Fprintf(c.stderr, "parley: initialized witness %s in %s; its cosignature/v1 verifier key (give it to logs and clients):\n", *name, *dir)
	fmt.Fprintln(c.stdout, vkey)
	return nil
}

// writeWitnessVKey writes witness.vkey; tests replace it to make the write
// fail as on a full disk.
var writeWitnessVKey = os.WriteFile

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// pullTarget is one --pull URL=VKEY.
type pullTarget struct {
	url, vkey string
}

// parsePull splits URL=VKEY at the first '=' after which a valid note
// verifier key follows (a URL may contain '=' in its query; a verifier key
// may contain '=' in its name).
func parsePull(s string) (pullTarget, error) {
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		u, k := s[:i], s[i+1:]
		if _, err := tlog.NewVerifier(k); err != nil {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return pullTarget{}, fmt.Errorf("--pull %.80q: %q isn't an http(s) URL", s, u)
		}
		return pullTarget{url: u, vkey: k}, nil
	}
	return pullTarget{}, fmt.Errorf("--pull %.80q isn't URL=VKEY with a log verifier key", s)
}

// pullTokenFiles reads each --pull-token-file ORIGIN=FILE into the token
// of the --pull logs of that origin, by verifier key. It splits at the
// first '=' before which a --pull log's origin stands (a file name may
// hold '='). A witness that pulls several nodes holds a member token of
// each: with --token alone it could pull only the nodes that accept one
// token.
func pullTokenFiles(warn io.Writer, specs []string, targets []pullTarget) (map[string]string, error) {
	tokens := map[string]string{}
	for _, spec := range specs {
		found := false
		for i := 0; i < len(spec) && !found; i++ {
			if spec[i] != '=' {
				continue
			}
			origin, file := spec[:i], spec[i+1:]
			for _, t := range targets {
				if name, _, _ := strings.Cut(t.vkey, "+"); name != origin {
					continue
				}
				found = true
				var tok string
				if err := readToken(warn, &tok, file); err != nil {
					return nil, err
				}
				if tok == "" {
					return nil, usageErrorf("", "--pull-token-file %.80q: the file holds no token", spec)
				}
				tokens[t.vkey] = tok
			}
		}
		if !found {
			return nil, usageErrorf("--pull-token-file ORIGIN=FILE, where ORIGIN is the name of a --pull log's key", "--pull-token-file %.80q names no --pull log", spec)
		}
	}
	return tokens, nil
}

func runWitnessServe(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("witness serve")
	dir := fs.String("data", "", "the witness's data `DIR`ectory (made by parley witness init)")
	listen := fs.String("listen", defaultWitnessListen, "listen on `ADDR`")
	var logs, pulls multiFlag
	fs.Var(&logs, "log", "witness the log with this note verifier `VKEY` (repeatable)")
	fs.Var(&pulls, "pull", "also pull the log at `URL=VKEY` itself: URL is the node's base URL, which serves /log/checkpoint and /log/tile/ (repeatable)")
	poll := fs.Duration("poll", 30*time.Second, "how often to pull each --pull log (a `DURATION` such as 30s or 500ms)")
	token := fs.String("token", "", "a member's API `TOKEN` for --pull logs that need one (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the --pull token from `FILE` (the token, or member add --json output)")
	var pullTokens multiFlag
	fs.Var(&pullTokens, "pull-token-file", "read the token for the --pull log whose origin (its key's name) is ORIGIN from `ORIGIN=FILE`, instead of --token's (repeatable: one per node)")
	urlFile := fs.String("url-file", "", "once listening, write the witness's URL to `FILE` (useful with --listen 127.0.0.1:0)")
	fs.String("ca", "", "trust only the PEM CA certificates in `FILE` for https:// --pull URLs, instead of the system's roots (a private CA)")
	certFile := fs.String("tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (reloaded when it changes, as parley serve does)")
	keyFile := fs.String("tls-key", "", "the PEM private key `FILE` of --tls-cert")
	maxConns := fs.Int("max-connections", defaultWitnessMaxConns, "keep at most `N` connections open at once: past N, the one that waited longest on its client (sending its request slowly, or idle) is closed to make room")
	maxPerIP := fs.Int("max-connections-per-ip", 0, "keep at most `N` connections open from one source IP address (IPv6: one /64): past N, that source's own connection that waited longest is closed (default: an eighth of --max-connections, at least 4)")
	noFsync := fs.Bool("no-fsync", false, "return a cosignature once the state is written to the OS, without flushing it to disk: it survives the witness being killed, not a power loss (default: fsync first)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	// Arguments are more logs to witness: issue #12 writes the command
	// `witness serve --data DIR --listen ADDR --log VKEY...`, so
	// `--log K1 K2` names two logs, as `--log K1 --log K2` does. Flags may
	// follow them again, and count as they do before them ([cli.parseFlags]
	// reads every flag before --ca and --token-file are applied: a --ca
	// after the keys used to be dropped, the pulls trusting the system's
	// roots instead).
	logs = append(logs, fs.Args()...)
	// As parley serve does: no URL of an earlier run while this one starts.
	if err := clearURLFile(*urlFile); err != nil {
		return withExit(3, "", err)
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *dir == "" {
		return usageErrorf(witnessUsage, "witness serve needs --data")
	}
	if len(logs) == 0 && len(pulls) == 0 {
		return usageErrorf("give each log's verifier key with --log VKEY (or --pull URL=VKEY)", "witness serve needs at least one log")
	}
	if *poll <= 0 {
		return usageErrorf("", "--poll must be positive")
	}
	if *maxConns <= 0 {
		return usageErrorf("", "--max-connections must be positive")
	}
	if *maxPerIP < 0 {
		return usageErrorf("", "--max-connections-per-ip must be positive")
	}
	if *maxPerIP == 0 {
		*maxPerIP = defaultWitnessMaxConnsPerIP(*maxConns)
	}
	var targets []pullTarget
	keys := append([]string(nil), logs...)
	for _, p := range pulls {
		t, err := parsePull(p)
		if err != nil {
			return usageErrorf("--pull https://node.example=<the node's log verifier key>", "%v", err)
		}
		targets = append(targets, t)
		if !contains(keys, t.vkey) {
			keys = append(keys, t.vkey)
		}
	}
	tokens, err := pullTokenFiles(c.stderr, pullTokens, targets)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := tlog.NewVerifier(k); err != nil {
			return usageErrorf("a log verifier key looks like name+1234abcd+AbC...", "--log %.80q: %v", k, err)
		}
	}
	if (*certFile == "") != (*keyFile == "") {
		return usageErrorf("give both --tls-cert and --tls-key", "a TLS certificate needs its key, and a key its certificate")
	}
	var tlsFiles *node.CertificateFiles
	if *certFile != "" {
		warnReadable(c.stderr, *keyFile, "the TLS private key")
		f, err := node.LoadCertificateFiles(*certFile, *keyFile)
		if err != nil {
			return usageErrorf("--tls-cert is the PEM certificate chain (server first), --tls-key its PEM private key", "%v", err)
		}
		tlsFiles = f
	}
	warnReadable(c.stderr, filepath.Join(*dir, witnessKeyFile), "the witness key")
	warnWitnessDirWritable(c.stderr, *dir)
	skey, err := untrusted.ReadFile(filepath.Join(*dir, witnessKeyFile), maxSecretFile)
	if errors.Is(err, os.ErrNotExist) {
		return usageErrorf("run parley witness init --data "+*dir+" --name NAME first", "%s holds no witness key", *dir)
	}
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't read the witness key: %w", err))
	}
	cos, err := tlog.ParseCosignerKey(string(skey), nil)
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't read the witness key: %w", err))
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	if !*noFsync {
		// Keep every CPU cosigning while the journal waits for the disk.
		witness.UseFlushProcs()
	}
	w, err := witness.Open(witness.Config{Dir: *dir, Cosigner: cos, Logs: keys, Logger: logger, NoSync: *noFsync})
	if err != nil {
		return withExit(3, "", err)
	}
	defer w.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usageErrorf("choose another address with --listen (port 0 picks a free one, and --url-file FILE writes the URL)", "couldn't listen on %s: %v", *listen, err)
	}
	scheme := "http"
	if tlsFiles != nil {
		scheme = "https"
		tlsFiles.SetLogger(logger)
		ln = tls.NewListener(ln, tlsFiles.TLSConfig())
	}
	if *urlFile != "" {
		if err := writeURLFile(*urlFile, scheme+"://"+ln.Addr().String()); err != nil {
			ln.Close()
			return withExit(3, "", err)
		}
	}
	// At most --max-connections open, and witnessMaxStreams requests on
	// each (HTTP/2), so that a flood of connections holds a bounded
	// share of the witness and can't keep a log's add-checkpoint out
	// (connLimiter).
	lim := newConnLimiter(ln, *maxConns, *maxPerIP, witnessReadHeaderTimeout)
	ln = lim
	srv := &http.Server{Handler: lim.handler(w.Handler()), ReadHeaderTimeout: witnessReadHeaderTimeout, ReadTimeout: witnessReadTimeout,
		MaxHeaderBytes: witnessMaxHeaderBytes,
		ConnState:      lim.connState, ConnContext: lim.connContext,
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: witnessMaxStreams},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The client every command uses (its --ca, else the system's roots),
	// with a bound on each request: a node that stalls must not stall
	// the witness's pulling.
	pullClient := new(http.Client)
	*pullClient = *c.httpClient()
	pullClient.Timeout = time.Minute
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func(t pullTarget) {
			defer wg.Done()
			tok := *token
			if pt, ok := tokens[t.vkey]; ok {
				tok = pt
			}
			w.Pull(ctx, t.vkey, &tlog.Client{URL: t.url, Token: tok, HTTP: pullClient}, *poll)
		}(t)
	}
	go func() {
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(c.stderr, "parley: witness %s serving %d log(s) on %s://%s; Ctrl-C stops\n", cos.Name(), len(keys), scheme, ln.Addr())
	err = srv.Serve(ln)
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return withExit(3, "", err)
	}
	fmt.Fprintln(c.stderr, "parley: stopped")
	return nil
}

// warnWitnessDirWritable warns on w when other users may write in the
// witness's data directory, or in its state/ or evidence/: whoever can
// remove or replace the journal in state/ makes the witness forget what
// it cosigned, after which it may cosign a fork, and whoever can add files
// to evidence/ can fill a log's bound (witness.MaxEvidencePerLog) so that
// no evidence of its fork is kept. witness init makes the directory 0700;
// one made otherwise (mkdir with a umask of 0) only warns, as a readable
// key does. Nothing where modes don't say who may write (Windows).
func warnWitnessDirWritable(w io.Writer, dir string) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return
	}
	for _, d := range []string{dir, filepath.Join(dir, "state"), filepath.Join(dir, "evidence")} {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 == 0 {
			continue
		}
		fmt.Fprintf(w, "parley: warning: the witness directory %s can be written by other users (mode %04o): whoever can replace the witness's state makes it forget what it cosigned; restrict it with chmod 700 %s\n", d, fi.Mode().Perm(), d)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// policyFlags are the client-side witness policy flags for commands that
// check checkpoints (audit, proof, verify, pull, concurrence):
// --witness-policy FILE (C2SP tlog-policy), or the shorthand --witness VKEY
// (repeatable) with --witness-quorum K (default: all of them).
type policyFlags struct {
	file   string
	keys   multiFlag
	quorum quorumFlag
}

// quorumFlag is --witness-quorum K: -1 (its default) stands for all the
// --witness keys. Its String is empty then (and for 0, the flag package's
// zero value), so that --help says "default all" and no "(default -1)".
type quorumFlag int

func (q *quorumFlag) String() string {
	if q == nil || *q <= 0 {
		return ""
	}
	return strconv.Itoa(int(*q))
}

func (q *quorumFlag) Set(v string) error {
	k, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not a whole number")
	}
	*q = quorumFlag(k)
	return nil
}

// addPolicyFlags registers the witness policy flags on fs.
func addPolicyFlags(fs *flag.FlagSet) *policyFlags {
	p := &policyFlags{quorum: -1}
	fs.StringVar(&p.file, "witness-policy", "", "refuse checkpoints that don't meet the witness policy in `FILE` (C2SP tlog-policy)")
	fs.Var(&p.keys, "witness", "a witness's cosignature verifier `VKEY` (repeatable; shorthand for a policy)")
	fs.Var(&p.quorum, "witness-quorum", "how many of the --witness keys must cosign (`K`; default all)")
	return p
}

// policy returns the policy the flags give, or nil when none was given.
// Bad flags or a bad policy file are usage errors (exit 2).
func (p *policyFlags) policy() (*tlog.Policy, error) {
	switch {
	case p.file != "" && len(p.keys) > 0:
		return nil, usageErrorf("put the witnesses in the policy file", "give --witness-policy or --witness, not both")
	case p.file != "":
		f, err := os.Open(p.file)
		if err != nil {
			return nil, usageErrorf("", "couldn't read the witness policy: %v", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, tlog.MaxPolicySize+1))
		if err != nil {
			return nil, usageErrorf("", "couldn't read the witness policy: %v", err)
		}
		pol, err := tlog.ParsePolicy(b)
		if err != nil {
			return nil, usageErrorf("see docs/witness.md for the format", "%s: %v", p.file, err)
		}
		return pol, nil
	case len(p.keys) > 0:
		k := int(p.quorum)
		if k < 0 {
			k = len(p.keys)
		}
		if k < 1 || k > len(p.keys) {
			return nil, usageErrorf("--witness-quorum is between 1 and the number of --witness keys",
				"--witness-quorum %d with %d --witness key(s)", k, len(p.keys))
		}
		pol, err := tlog.NewWitnessPolicy(p.keys, k)
		if err != nil {
			return nil, usageErrorf("each --witness is a witness's verifier key as parley witness init prints it (name+1234abcd+B...)", "%v", err)
		}
		return pol, nil
	case p.quorum >= 0:
		return nil, usageErrorf("give the witnesses with --witness VKEY", "--witness-quorum without --witness")
	}
	return nil, nil
}

// checkQuorum checks a signed checkpoint against the policy (nil: no
// policy, nothing to check) and returns the valid cosignatures; a
// checkpoint that doesn't meet it is a failed verification (exit 1).
func checkQuorum(pol *tlog.Policy, signed []byte) ([]tlog.Cosignature, error) {
	if pol == nil {
		return nil, nil
	}
	cos, err := tlog.CheckQuorum(pol, signed)
	if err != nil {
		return cos, withExit(1, "the checkpoint lacks the cosignatures the witness policy requires; ask the node's operator which witnesses it uses", err)
	}
	return cos, nil
}
