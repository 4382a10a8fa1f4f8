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
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one `parley` subcommand.
type command struct {
	// name is the first argument that selects the command ("push", "pattern").
	name string
	// usage is the one-line synopsis shown by `parley help`.
	usage string
	// run executes the command with the arguments after its name.
	run func(ctx context.Context, cli *cli, args []string) error
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

// main runs one command line and returns the exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		c.printUsage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		c.printError(usageErrorf("run 'parley help' for the list of commands", "unknown command %q", args[0]))
		return 2
	}
	err := cmd.run(ctx, c, args[1:])
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errSilent) {
		c.printError(err)
	}
	return exitCode(err)
}

// errSilent marks an error whose message the command already printed; it
// only sets the exit status (wrap it with [withExit]).
var errSilent = errors.New("already reported")

func (c *cli) printError(err error) {
	fmt.Fprintf(c.stderr, "parley: error: %s\n", strings.TrimSuffix(err.Error(), "\n"))
	var ee *exitError
	if errors.As(err, &ee) && ee.hint != "" {
		fmt.Fprintf(c.stderr, "parley: hint: %s\n", ee.hint)
	}
}

func (c *cli) printUsage() {
	fmt.Fprintln(c.stderr, "usage: parley <command> [flags] [args]")
	fmt.Fprintln(c.stderr)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(c.stderr, "  %s\n", commands[n].usage)
	}
	fmt.Fprintln(c.stderr)
	fmt.Fprintln(c.stderr, "Flags may also be set with PARLEY_<FLAG> environment variables (PARLEY_URL, PARLEY_TOKEN, ...).")
}

// newFlagSet returns a flag set for a subcommand that reports errors
// through the returned error rather than exiting.
func (c *cli) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// parseFlags parses args into fs, then fills every flag that was not given
// on the command line from PARLEY_<NAME> (upper case, '-' as '_'), so that
// `--url` falls back to PARLEY_URL. A bad flag is a usage error (exit 2).
func (c *cli) parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: 2, err: errSilent}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		key := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := c.getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usageErrorf("", "invalid value in %s: %v", key, err)
			}
		}
	})
	return envErr
}
