// Command parley is the Parley node and its command-line tools.
//
// Each subcommand lives in its own file and registers itself with
// [register] from an init function, so that adding a command never means
// editing a shared table. Errors are printed as
//
//	parley: error: <one sentence>
//	parley: hint: <what to try>
//
// and the exit status comes from [exitCode], the one place that maps
// errors to exit codes:
//
//	0  success (or "match" for pattern match)
//	1  a negative answer or a failed verification (no match, audit failed)
//	2  bad usage or invalid input (unknown flag, invalid pattern, bad file)
//	3  an evaluation or runtime error after the input was accepted
//	4  a remote node refused or failed the request
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// command is one `parley` subcommand.
type command struct {
	// name is the first argument that selects the command ("push", "pattern").
	name string
	// usage is the one-line synopsis shown by `parley help`.
	usage string
	// help is the longer text that `parley help NAME` and `parley NAME
	// --help` print after the synopsis: what the arguments are, what is
	// printed, the exit codes. Optional.
	help string
	// subcommands, for a command such as member or pattern, in the order
	// help lists them. `parley NAME --help` (and -h, help) then prints the
	// command's help and every subcommand's synopsis, so the command's run
	// function never sees those arguments.
	subcommands []subcommand
	// run executes the command with the arguments after its name.
	run func(ctx context.Context, cli *cli, args []string) error
}

// subcommand is one subcommand of a [command], such as "member add".
type subcommand struct {
	// name is the argument after the command's name ("add").
	name string
	// usage is the synopsis after "parley ", such as "member add --data DIR ...".
	usage string
	// help is the longer text `parley NAME SUB --help` prints. Optional.
	help string
}

var commands = map[string]command{}

// register adds a subcommand; it is called from init functions only, and
// panics on a duplicate name because that is a programming error.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("parley: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// cli carries the process's standard streams and environment so that
// commands can be run in tests without touching the real process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv reads environment variables (os.Getenv outside tests).
	getenv func(string) string

	// caFile is the --ca flag that [cli.parseFlags] adds to every command
	// with a --url flag, and client the HTTP client built from it; see
	// [cli.httpClient].
	caFile string
	client *http.Client

	// hashMemory bounds the memory of the images parley hash decodes at
	// once (0: defaultHashMemory); tests lower it.
	hashMemory int64

	// tokenFrom is how the API token was given, for hints: the flag or
	// PARLEY_* variable [cli.parseFlags] saw ("" for none); see [tokenFlag].
	tokenFrom string

	// evidenceNotWritten counts the evidence an audit found but didn't
	// write, maxSeenEvidence files of the log being kept beside the seen
	// file already (see [writeEvidence]).
	evidenceNotWritten int
}

// tokenFlag stands in a hint for the flag that gives the API token:
// [cli.printError] writes the one the user gave the token with
// (--token-file, PARLEY_TOKEN_FILE, --token or PARLEY_TOKEN; --token when
// none was), so that "check --url and --token" doesn't send a user of
// --token-file after a flag they never gave.
const tokenFlag = "<token flag>"

// tokenGiven returns what [tokenFlag] stands for in this command's hints.
func (c *cli) tokenGiven() string {
	if c.tokenFrom == "" {
		return "--token"
	}
	return c.tokenFrom
}

// exitError is an error that carries its exit status and an optional hint.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad usage or invalid input (exit 2).
func usageErrorf(hint, format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...), hint: hint}
}

// required is one input a command needs, for [missing].
type required struct {
	name string // as the usage error names it: "--collection", "an object id"
	have bool
}

// missing names the inputs a command lacks, to end its usage error with
// ("; missing: --url, --collection"), so that a user who gave most of
// them (some from the environment) sees which one is not there. It is ""
// when all are given (the error is then about the arguments' number).
func missing(reqs ...required) string {
	var out []string
	for _, r := range reqs {
		if !r.have {
			out = append(out, r.name)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; missing: " + strings.Join(out, ", ")
}

// withExit attaches an exit status and hint to err; nil stays nil.
func withExit(code int, hint string, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err, hint: hint}
}

// exitCode maps an error returned by a command to the process exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(c.main(ctx, os.Args[1:]))
}

// main runs one command line and returns the exit status. Help that was
// asked for (`parley help`, `--help`, `-h`) goes to stdout with exit 0;
// usage printed because of an error goes to stderr with exit 2.
func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.printUsage(c.stderr)
		return 2
	}
	if isHelpArg(args[0]) {
		if args[0] == "help" && len(args) > 1 {
			return c.helpFor(ctx, args[1:])
		}
		c.printUsage(c.stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		c.printError(usageErrorf("run 'parley help' for the list of commands", "unknown command %q", args[0]))
		return 2
	}
	if len(cmd.subcommands) > 0 && len(args) > 1 && isHelpArg(args[1]) {
		c.printCommandHelp(c.stdout, cmd)
		return 0
	}
	err := cmd.run(ctx, c, args[1:])
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errSilent) {
		c.printError(err)
	}
	return exitCode(err)
}

// isHelpArg reports whether arg asks for help.
func isHelpArg(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// helpFor runs `parley help CMD [SUB]`: the command's help, or its
// subcommand's (whose flags only the subcommand's own --help knows, so it
// is run with --help; every command parses its flags before doing
// anything).
func (c *cli) helpFor(ctx context.Context, args []string) int {
	if isHelpArg(args[0]) {
		c.printUsage(c.stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		c.printError(usageErrorf("run 'parley help' for the list of commands", "unknown command %q", args[0]))
		return 2
	}
	if len(cmd.subcommands) > 0 && len(args) == 1 {
		c.printCommandHelp(c.stdout, cmd)
		return 0
	}
	return c.main(ctx, append(args[:len(args):len(args)], "--help"))
}

// printCommandHelp prints the help of a command with subcommands.
func (c *cli) printCommandHelp(w io.Writer, cmd command) {
	for i, s := range cmd.subcommands {
		lead := "       "
		if i == 0 {
			lead = "usage: "
		}
		fmt.Fprintf(w, "%sparley %s\n", lead, s.usage)
	}
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(cmd.help, "\n"))
	}
	fmt.Fprintf(w, "\nparley %s SUBCOMMAND --help lists a subcommand's flags.\n", cmd.name)
}

// errSilent marks an error whose message the command already printed; it
// only sets the exit status (wrap it with [withExit]).
var errSilent = errors.New("already reported")

func (c *cli) printError(err error) {
	fmt.Fprintf(c.stderr, "parley: error: %s\n", oneLine(err.Error()))
	// A certificate that doesn't verify has its own hint, which replaces
	// the command's ("check --url and --token" would send the user after
	// the token when --ca is what is missing).
	if hint := tlsHint(err); hint != "" {
		fmt.Fprintf(c.stderr, "parley: hint: %s\n", hint)
		return
	}
	// So has a node that is up but can't serve now (its store is down or
	// busy): the command's hint would send the user after flags that are
	// right.
	if hint := unavailableHint(err); hint != "" {
		fmt.Fprintf(c.stderr, "parley: hint: %s\n", hint)
		return
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.hint != "" {
		fmt.Fprintf(c.stderr, "parley: hint: %s\n", strings.ReplaceAll(ee.hint, tokenFlag, c.tokenGiven()))
	}
}

// maxErrorLine bounds the error line printed: a message may quote what a
// server sent (Go's client quotes a malformed status line whole, up to
// the 10 MiB it reads of a response's header).
const maxErrorLine = 8 << 10

// oneLine returns an error message on one line: a library's message may
// span several (pgx puts each host it tried on a line of its own, "\n\t"),
// which would break the "parley: error: <one sentence>" contract and
// leave lines without the "parley: " prefix. Each line break, with the
// white space around it, becomes "; " (" " after a colon). A line longer
// than maxErrorLine is cut there (on a character's boundary) and says so.
// Control characters (terminal escapes among them), bidi controls and
// invalid UTF-8 left become '?' (as [untrusted.Text] makes them): a
// message may quote a file's or a server's text that its maker didn't
// pass through untrusted.Text, and must not drive the terminal.
func oneLine(msg string) string {
	s := joinLines(msg)
	s = untrusted.Text(s, len(s))
	if len(s) <= maxErrorLine {
		return s
	}
	cut := maxErrorLine
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s … (cut: the message has %d bytes)", s[:cut], len(s))
}

func joinLines(msg string) string {
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	var b strings.Builder
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if s := b.String(); s != "" && !strings.HasSuffix(s, ":") {
			b.WriteString(";")
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(l)
	}
	return b.String()
}

// printUsage prints the top-level usage: every command's synopsis and the
// flags that all remote commands share.
func (c *cli) printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: parley <command> [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// A usage is "SYNOPSIS   what it does": the description goes on
		// its own line, so that long synopses stay readable.
		synopsis, desc := splitUsage(commands[n].usage)
		fmt.Fprintf(w, "  %s\n", synopsis)
		if desc != "" {
			fmt.Fprintf(w, "      %s\n", desc)
		}
	}
	fmt.Fprint(w, `
Commands that talk to a node take
  --url URL         the node's base URL, such as https://parley.example:8443
                    (not its /taxii2/ or /api/ path)
  --token-file FILE a file holding your API token (its first line), or the
                    output of member add --json; keeps the token out of your
                    shell history. --token T and PARLEY_TOKEN work too.
  --ca FILE         the PEM CA certificates to trust for an https:// node
                    instead of the system's roots (a private CA)
Every flag may also be set with a PARLEY_<FLAG> environment variable
(PARLEY_URL, PARLEY_TOKEN_FILE, PARLEY_CA, PARLEY_DATA, ...), except the
--url, --ca and secret files of feed add and peer add: another server's.

parley help COMMAND (or parley COMMAND --help) describes a command and its
flags; parley version prints the version.
`)
}

// usageGap separates a command's synopsis from its description.
var usageGap = regexp.MustCompile(`\s{3,}(#\s*)?`)

// splitUsage splits a registered usage into its synopsis and description.
func splitUsage(usage string) (synopsis, desc string) {
	loc := usageGap.FindStringIndex(usage)
	if loc == nil {
		return usage, ""
	}
	return usage[:loc[0]], usage[loc[1]:]
}

// newFlagSet returns a flag set for a subcommand (name is "pull" or
// "member add") that reports errors through the returned error rather than
// exiting. Its --help output goes to stdout; a bad flag is an error of
// its own ([flagError]), printed as every other error is.
func (c *cli) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	out := &flagOutput{}
	fs.SetOutput(out)
	fs.Usage = func() {
		// The flag package writes an error message before calling Usage
		// when parsing failed (the error Parse returns says it again),
		// and nothing when -h or --help was given.
		if !out.wrote {
			c.printFlagHelp(c.stdout, name, fs)
		}
		out.wrote = false
	}
	return fs
}

// flagOutput is a flag set's output: it drops the flag package's error
// message (Parse returns it) and remembers that it came, so that Usage
// can tell help from an error.
type flagOutput struct {
	wrote bool
}

// Write implements io.Writer.
func (o *flagOutput) Write(p []byte) (int, error) {
	o.wrote = true
	return len(p), nil
}

// flagError is the usage error (exit 2) of a flag set's Parse: one
// "parley: error:" line, and a hint naming the command's help, instead of
// the flag package's bare message followed by the whole usage.
func flagError(fs *flag.FlagSet, err error) error {
	return &exitError{code: 2, err: err, hint: fmt.Sprintf("'parley help %s' lists its flags", strings.TrimPrefix(fs.Name(), "parley "))}
}

// printFlagHelp prints a command's (or subcommand's) synopsis, its help
// text and its flags to w.
func (c *cli) printFlagHelp(w io.Writer, name string, fs *flag.FlagSet) {
	usage, help := synopsis(name)
	fmt.Fprintf(w, "usage: parley %s\n", usage)
	if help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(help, "\n"))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	if notEnv := notFromEnv[name]; len(notEnv) > 0 {
		fmt.Fprintf(w, "\nflags (also PARLEY_<FLAG> from the environment, except --%s: they name another server and its secret):\n", strings.Join(notEnv, ", --"))
	} else {
		fmt.Fprintln(w, "\nflags (also PARLEY_<FLAG> from the environment):")
	}
	prev := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(prev)
}

// synopsis returns the registered usage and help of a command or
// subcommand by its flag set name ("pull", "member add").
func synopsis(name string) (usage, help string) {
	root, sub, _ := strings.Cut(name, " ")
	cmd, ok := commands[root]
	if !ok {
		return name + " [flags]", ""
	}
	for _, s := range cmd.subcommands {
		if s.name == sub {
			return s.usage, s.help
		}
	}
	return cmd.usage, cmd.help
}

// notFromEnv names, per command, the flags that PARLEY_<FLAG> does not
// set: feed add and peer add record another server's URL, CA and the
// files of the secret the node sends it at each poll, and PARLEY_URL,
// PARLEY_CA and PARLEY_TOKEN_FILE are a member's session with its own
// node (the README's walkthrough exports them), whose token must not go
// to a feed's server or a peer.
var notFromEnv = map[string][]string{
	"feed add": {"url", "ca", "token-file", "user", "password-file"},
	"peer add": {"url", "ca", "token-file"},
}

// parseFlags parses args into fs, then fills every flag that was not given
// on the command line from PARLEY_<NAME> (upper case, '-' as '_'), so that
// `--url` falls back to PARLEY_URL, and no flag comes from the
// environment when the command line makes the same choice another way
// ([envAlternatives], [sourceAlternatives]). A bad flag is a usage error (exit 2).
//
// Flags may come before, between or after the positional arguments, in
// every command (`parley sign FILE --key K`, `parley opinion ID agree
// --explanation …`); after "--" everything is positional, so that a file
// named -x is given as `-- -x` (a "--" that is a flag's value, as in
// `--explanation --`, ends nothing). A word read as a flag that is also
// the name of a file in the current directory came from a glob, and is
// refused before anything is done ([refuseFlagFiles]). A flag that
// decides what parley trusts or which secret it uses ([flagClass.warned])
// given after a positional is warned of on stderr, for the names the file
// check can't see (ids from a list, a file removed after the glob). The
// positionals are left, in order, in fs.Args().
//
// A flag set with a --url flag also gets --ca (see [cli.addRemoteFlags]),
// and its URL is checked to be a node's base URL.
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) error {
	c.addRemoteFlags(fs)
	var pos []string
	var late []lateFlag
	for rest := args; len(rest) > 0; {
		// Read before fs.Parse sets anything (the words it will parse:
		// flagsIn stops where it stops), so that a flag that is also a
		// file here, which came from a glob, not from the user, is
		// refused first.
		given, ended := flagsIn(fs, rest)
		if err := refuseFlagFiles(fs, given); err != nil {
			return err
		}
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return flagError(fs, err)
		}
		left := fs.Args()
		if len(pos) > 0 {
			for _, f := range given {
				if class := lateFlagClasses[f.name]; class.warned() {
					late = append(late, lateFlag{f, class})
				}
			}
		}
		if ended {
			pos = append(pos, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	for _, f := range late {
		fmt.Fprintf(c.stderr, "parley: warning: --%s=%s came after an argument and was read as a flag, which changes %s; give flags you typed before the arguments, and arguments you didn't write (ids from a list) after --\n", f.name, untrusted.Text(f.value, 80), f.class)
	}
	// Parsing "--" and the positionals sets no flag and leaves them in
	// fs.Args(); every flag set before stays set.
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return flagError(fs, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cmdName := strings.TrimPrefix(fs.Name(), "parley ")
	notEnv := notFromEnv[cmdName]
	fromEnv := map[string]string{}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil || slices.Contains(notEnv, f.Name) {
			return
		}
		if otherWayGiven(f.Name, set) || otherSourceGiven(cmdName, f.Name, set) {
			return
		}
		key := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := c.getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usageErrorf("", "invalid value in %s: %v", key, err)
			}
			fromEnv[f.Name] = key
		}
	})
	if envErr != nil {
		return envErr
	}
	// The token comes from --token-file when it names a file, else from
	// --token ([readToken]); hints name the one given, as it was given.
	for _, name := range []string{"token-file", "token"} {
		if f := fs.Lookup(name); f != nil && f.Value.String() != "" {
			c.tokenFrom = "--" + name
			if key, ok := fromEnv[name]; ok {
				c.tokenFrom = key
			}
			break
		}
	}
	return c.checkRemoteFlags(fs)
}

// envAlternatives are the flags that make one choice in different ways:
// the token (--token, or --token-file, which [readToken] prefers) and the
// witness policy (--witness-policy, or --witness with --witness-quorum).
// A way the command line gives is the choice: [cli.parseFlags] then takes
// no flag of another way from the environment, so that
// PARLEY_TOKEN_FILE doesn't replace a --token given, nor
// PARLEY_WITNESS_POLICY make a --witness given an error.
var envAlternatives = [][][]string{
	{{"token"}, {"token-file"}},
	{{"witness-policy"}, {"witness", "witness-quorum"}},
}

// sourceAlternatives are, per command, flags that choose where the
// command reads from, one way or the other: export reads its objects from
// --indicators FILE or from a node (--url). A source given on the command
// line is the choice, so that PARLEY_URL, which the walkthrough exports
// for a member's session, doesn't make `export --indicators FILE` an
// error. (match takes --url with --indicators too, to push sightings to,
// so it is not listed.)
var sourceAlternatives = map[string][][]string{
	"export": {{"indicators"}, {"url"}},
}

// otherSourceGiven reports whether set, the flags the command line gave,
// holds a flag of another source ([sourceAlternatives]) of cmd than name.
func otherSourceGiven(cmd, name string, set map[string]bool) bool {
	return otherWayIn(sourceAlternatives[cmd], name, set)
}

// otherWayGiven reports whether set, the flags the command line gave,
// holds a flag of another way ([envAlternatives]) of name's choice.
func otherWayGiven(name string, set map[string]bool) bool {
	return slices.ContainsFunc(envAlternatives, func(ways [][]string) bool { return otherWayIn(ways, name, set) })
}

// otherWayIn reports whether set holds a flag of one of ways (each a
// list of flags that together make one choice) other than those that
// name is in.
func otherWayIn(ways [][]string, name string, set map[string]bool) bool {
	for i, way := range ways {
		if !slices.Contains(way, name) {
			continue
		}
		for j, other := range ways {
			if j != i && slices.ContainsFunc(other, func(n string) bool { return set[n] }) {
				return true
			}
		}
	}
	return false
}

// flagClass says what a flag decides, for the warning of [cli.parseFlags]
// when it comes after a positional argument, where an id or name from
// elsewhere named like it (an id in a received list given as
// `$(cat ids)`) would be read as it. A rival's file named "--token-file=…"
// in a directory a script runs `parley … *` in is refused outright
// ([refuseFlagFiles]); the defence for names from other sources is "--"
// before arguments one didn't write, as for every tool that reads flags
// after arguments, and the warning makes the change visible when that was
// forgotten. Its value is the warning's words for what the flag changes.
type flagClass string

const (
	// harmless flags change what is printed, how often or how much, but
	// not whom parley trusts, which secret it uses, nor where it writes.
	harmless flagClass = ""
	// trusting flags decide what a command trusts: the keys and witnesses
	// it checks against, the checks it may skip, the CA, the URL it sends
	// the token to, the members a node lets in.
	trusting flagClass = "what parley trusts"
	// secret flags decide which secret parley reads and then sends or
	// signs with: a token or the file it is read from (sent to --url's
	// operator), a private key, a password, the values a private set
	// publishes, restricted events an import sends.
	secret flagClass = "which secret parley sends or signs with"
	// destination flags decide where parley writes or sends what it
	// makes: an output file (overwritten), a token written out, a data
	// directory, the collection objects are pushed to, the address a
	// server listens on.
	destination flagClass = "where parley writes, sends or serves"
)

// warned reports whether a flag of class c given after a positional is
// warned of: a trusting or secret one. A destination flag is not: they
// are the flags people most type after their files (`parley push FILE
// --collection C`, `parley import iocs FILE --out F`, `parley witness
// serve --log K1 K2 --listen A --url-file F`), so a warning there would
// come with nearly every command typed and teach users to read past
// warnings; a glob's file named like one is refused ([refuseFlagFiles]),
// and of the commands that take ids, which may come from a list (proof,
// concurrence, opinion, verify --receipt), only opinion has one
// (--collection, where the opinion is posted), and it takes a single id
// and a stance, not a list.
func (c flagClass) warned() bool {
	return c == trusting || c == secret
}

// lateFlagClasses classifies every flag of every command
// (TestEveryFlagClassified fails on a flag missing here), so that a new
// flag is warned of after an argument when it should be ([flagClass.warned]). A name that
// means different things in different commands (--collection is read
// by pull, written by push; --rotate is a bool of member token and a
// private key FILE of keygen) takes the class of its strongest meaning.
var lateFlagClasses = map[string]flagClass{
	// trusting
	"log-key": trusting, "witness": trusting, "witness-policy": trusting, "witness-quorum": trusting,
	"clock-skew": trusting, "seen": trusting, "me": trusting, "ca": trusting, "url": trusting,
	"allow-unsigned": trusting, "allow-no-key-index": trusting, "require-key-index": trusting,
	"insecure-http": trusting, "source-ca": trusting, "log": trusting, "pull": trusting,
	"pubkey": trusting, "signatures": trusting, "relay": trusting, "read": trusting,
	"write": trusting, "reader": trusting, "member": trusting, "from": trusting,
	"indicators": trusting,
	// secret
	"token": secret, "token-file": secret, "key": secret, "password-file": secret,
	"user": secret, "pull-token-file": secret, "source-key-file": secret, "tls-key": secret,
	"tls-cert": secret, "rotate": secret, "values": secret, "include-restricted": secret,
	// destination
	"out": destination, "dead-letter": destination, "token-out": destination,
	"receipts": destination, "state": destination, "url-file": destination,
	"data": destination, "to": destination, "force": destination, "collection": destination,
	"into": destination, "push": destination, "listen": destination, "metrics-listen": destination,
	// harmless
	"ack-wait": harmless, "added-after": harmless, "all-versions": harmless, "as": harmless,
	"batch": harmless, "bundle": harmless, "columns": harmless, "confidence": harmless,
	"consumer": harmless, "created": harmless, "description": harmless, "dihedral": harmless,
	"every": harmless, "explanation": harmless, "file": harmless, "flush": harmless,
	"follow": harmless, "format": harmless, "full": harmless, "images": harmless,
	"json": harmless, "key-only": harmless, "max-connections": harmless, "max-connections-per-ip": harmless, "max-pending": harmless, "max-pixels": harmless,
	"name": harmless, "nats": harmless, "no-fsync": harmless, "no-serve": harmless,
	"observed-data": harmless, "on-conflict": harmless, "origin": harmless,
	"overlap": harmless, "peer-collection": harmless, "poll": harmless, "proofs": harmless,
	"radius": harmless, "receipt": harmless, "reread": harmless, "revoke": harmless,
	"set": harmless, "sid": harmless, "statement": harmless, "stix-version": harmless,
	"stream": harmless, "subject": harmless, "tags": harmless, "title": harmless,
	"window": harmless, "without-key": harmless,
}

// givenFlag is a flag as a command line gives it: its name, its value,
// and the word that names it ("--log-key=KEY", or "--log-key" when the
// value is the next word).
type givenFlag struct {
	name, value, word string
}

// lateFlag is a flag given after a positional argument, and its class.
type lateFlag struct {
	givenFlag
	class flagClass
}

// flagsIn returns the flags that args give to fs ("--log-key=KEY", or
// "--log-key KEY" taking the next word; "true" for a bool flag without
// "="), and whether args end with the "--" that ends flags: a "--" that
// is a flag's value ("--explanation --") ends nothing. args are words
// fs.Parse parses (up to the first positional, or "--"); what it would
// refuse (an unknown flag, a value missing) is left to it.
func flagsIn(fs *flag.FlagSet, args []string) (given []givenFlag, ended bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return given, true
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			if (name == "h" || name == "help") && !hasValue {
				// No flag set defines them, yet fs.Parse reads them
				// as a request for the usage (exit 0).
				given = append(given, givenFlag{name, "true", a})
			}
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && (!ok || !b.IsBoolFlag()) && i+1 < len(args) {
			i++
			value = args[i]
		} else if !hasValue {
			value = "true"
		}
		given = append(given, givenFlag{name, value, a})
	}
	return given, false
}

// refuseFlagFiles is the usage error (exit 2) of a flag of given (as
// [flagsIn] reads the words of fs: not a flag's value, not after "--")
// whose word is also the name of a file, directory or symlink (dangling
// or not) in the current directory: "--token-file=id_ed25519", or
// "--token-file" whose value is the next word. A glob gives parley a name
// that starts with "-" only for a file of the current directory (`parley
// push *`; "dir/*" gives "dir/--x", which is no flag), so such a word is
// a file that someone, perhaps a rival who can write there, named like a
// flag, and reading it as one would let them choose the token parley
// sends, the key it trusts or the file it overwrites. A flag the user
// typed names no file, unless one was made by mistake, and then the
// error says what to do. Only a file that exists here when parley looks
// is caught: not a name from a list (`ls dir | xargs parley verify`,
// `$(cat ids)`), nor a file removed between the glob and parley's start
// (see the warning of [cli.parseFlags]). -h and --help count: a glob's
// file named so would have parley print its usage, do nothing, and exit
// 0, which a script takes for success.
func refuseFlagFiles(fs *flag.FlagSet, given []givenFlag) error {
	for _, f := range given {
		if _, err := os.Lstat(f.word); err == nil {
			word := untrusted.Text(f.word, 80)
			return usageErrorf(
				fmt.Sprintf("a glob such as * gives parley the names of the files in this directory: write -- before it (parley %s [flags] -- *), or ./* instead of *; if you typed the flag, rename the file", strings.TrimPrefix(fs.Name(), "parley ")),
				"%s is both a flag and a file in this directory: put -- before names of files; nothing was done", word)
		}
	}
	return nil
}

// parseInterspersed is [cli.parseFlags] returning the positionals.
func parseInterspersed(c *cli, fs *flag.FlagSet, args []string) ([]string, error) {
	if err := c.parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
