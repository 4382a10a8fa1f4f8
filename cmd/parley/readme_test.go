package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestREADME runs the README's walkthrough ("## Walkthrough: your own
// node") and the log section's commands ("## The verifiable log") with
// bash, as a new user pasting them would, so that the README cannot drift
// from the CLI and the HTTP API. The only rewrites: `go build` is skipped
// (the test binary is `parley` on $PATH, see TestMain), `./parley` is
// `parley`, the README's 127.0.0.1:8080 is a free port, and the
// foreground `parley serve` runs in the background until the node listens.
func TestREADME(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed; the README's shell blocks need it")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the README's walkthrough uses it")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	walk := readmeShellBlocks(readmeSection(string(readme), "## Walkthrough"))
	logs := readmeShellBlocks(readmeSection(string(readme), "## The verifiable log"))
	if len(walk) < 3 || len(logs) < 1 {
		t.Fatalf("README: found %d walkthrough and %d log shell blocks; want at least 3 and 1", len(walk), len(logs))
	}
	script := readmeScript(append(walk, logs...), readmeFreePort(t))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "PARLEY_URL=", "PARLEY_TOKEN=")
	home := privateHome(t)
	cmd.Env = append(cmd.Env, home...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		serve, _ := os.ReadFile(filepath.Join(cmd.Dir, "qa-serve.log"))
		t.Fatalf("the README's commands failed: %v\n%s\nnode's log:\n%s", err, out, serve)
	}
	for _, want := range []string{
		`"api_roots":["http://127.0.0.1:`,                                      // discovery
		`"title":"Joint election security"`,                                    // collections
		"pushed 1 objects: 1 succeeded, 0 failed",                              // push
		`"pattern":"[domain-name:value = 'aurelia-elections-portal.example']"`, // objects?match[type]=indicator
		`"media_type":"application/stix+json;version=2.1"`,                     // manifest
		"verified: 3 entries",                                                  // audit: two registrations, one object
		"bundle verified: 1 object version(s)",                                 // verify
		"\n3\n",                                                                // checkpoint of size 3
		`"event":"register"`,                                                   // entry bundle: a registration in clear
		`"kind":"object"`,                                                      // and the object's entry, a commitment
		`"log_index":2,"tree_size":3`,                                          // receipt
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the README's commands printed no %q; output:\n%s", want, out)
		}
	}
	// The walkthrough keeps its files outside the checkout, under ~.
	pw := filepath.Join(strings.TrimPrefix(home[0], "HOME="), ".parley-walkthrough")
	shared, err := os.ReadFile(filepath.Join(pw, "shared.json"))
	if err != nil || !bytes.Contains(shared, []byte("indicator--6b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b11")) {
		t.Errorf("parley pull did not write the pushed indicator to ~/.parley-walkthrough/shared.json (%v):\n%s", err, shared)
	}
	// Nothing the walkthrough makes lands where it runs (the checkout).
	left, err := os.ReadDir(cmd.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if !strings.HasPrefix(e.Name(), "qa-") {
			t.Errorf("the walkthrough left %s in the working directory; keys and tokens belong outside the checkout", e.Name())
		}
	}
}

// readmeSection returns the text of the README section whose heading starts
// with heading, up to the next "## " heading.
func readmeSection(readme, heading string) string {
	i := strings.Index(readme, "\n"+heading)
	if i < 0 {
		return ""
	}
	rest := readme[i+1:]
	if j := strings.Index(rest[len(heading):], "\n## "); j >= 0 {
		return rest[:len(heading)+j]
	}
	return rest
}

// readmeShellBlocks returns the bodies of the ```sh fenced blocks in text.
func readmeShellBlocks(text string) []string {
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = new(strings.Builder)
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// readmeScript turns the README's blocks into one bash script that stops
// at the first failing command.
func readmeScript(blocks []string, port int) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\nQA_SERVE=\ntrap '[ -n \"$QA_SERVE\" ] && kill $QA_SERVE 2>/dev/null; wait' EXIT\n")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for _, block := range blocks {
		for _, line := range strings.SplitAfter(block, "\n") {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "go build ") {
				b.WriteString(": skipped: " + trimmed + "\n")
				continue
			}
			line = strings.ReplaceAll(line, "./parley ", "parley ")
			line = strings.ReplaceAll(line, "127.0.0.1:8080", addr)
			if strings.HasPrefix(strings.TrimSpace(line), "parley serve ") {
				b.WriteString(strings.TrimRight(line, "\n") + " --url-file qa-url >qa-serve.log 2>&1 & QA_SERVE=$!\n")
				b.WriteString("for i in $(seq 300); do [ -s qa-url ] && break; sleep 0.1; done; [ -s qa-url ]\n")
				continue
			}
			b.WriteString(line)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// readmeFreePort returns a TCP port that was free a moment ago.
func readmeFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDemoInstructions runs the commands `parley demo` prints under "Try
// it" against the demo's node while the demo serves it, with `go run
// ./cmd/parley` as the test binary's `parley`: a new user pastes them
// first, so each must work as printed, the push of the file the demo
// wrote included.
func TestDemoInstructions(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed; the demo's instructions are shell commands")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the demo's instructions use it")
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(readmeFreePort(t))
	env := append(os.Environ(), "GORACE=atexit_sleep_ms=0", "PARLEY_URL=", "PARLEY_TOKEN=")
	env = append(env, privateHome(t)...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, "parley", "demo", "--data", "demo", "--listen", addr)
	demo.Dir, demo.Env = dir, env
	demo.Cancel = func() error { return demo.Process.Signal(os.Interrupt) }
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer demo.Wait()
	defer cancel()
	// The instructions end with the line on what each token sees; the
	// demo then serves until interrupted.
	var printed strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "token sees only") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	_, try, ok := strings.Cut(printed.String(), "Try it")
	if !ok {
		t.Fatalf("parley demo printed no instructions:\n%s", printed.String())
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	commands := 0
	for _, line := range strings.Split(try, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		script.WriteString(strings.ReplaceAll(line, "go run ./cmd/parley ", "parley ") + "\n")
		commands++
	}
	if commands < 9 {
		t.Fatalf("found %d commands in the demo's instructions:\n%s", commands, try)
	}
	cmd := exec.CommandContext(ctx, bash, "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the demo's instructions failed: %v\nscript:\n%s\noutput:\n%s", err, script.String(), out)
	}
	for _, want := range []string{
		`"api_roots":["http://` + addr + `/api/"]`,
		`"title":"Joint election security"`,
		`"type":"indicator"`,
		"pushed 1 objects: 1 succeeded, 0 failed",
		`"type":"extension-definition"`,
		"concurrence on report--7a1e0c52-4b3d-4e0f-9a21-00000000000a",
		"bundle verified: 1 object version(s)",
		"report--7a1e0c52-4b3d-4e0f-9a21-00000000000a version",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the demo's instructions printed no %q; output:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^log \S+ verified: \d+ entries`).Match(out) || !regexp.MustCompile(`(?m)^\S+\n\d+\n\S+=\n\n— `).Match(out) {
		t.Errorf("the demo's audit or checkpoint lines are missing; output:\n%s", out)
	}
}

// privateHome returns environment settings that give the commands a home
// and config directory of their own, so that what they pin there (audit's
// seen checkpoints) neither comes from nor lands in the real user's.
func privateHome(t *testing.T) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
}

// TestREADMEStartOver follows the walkthrough's "rm -rf
// ~/.parley-walkthrough starts over": run again at the same URL, the new
// node's log has another key than the one the first run's commands
// pinned, so pull refuses it, and says which seen file pins the old key
// (under ~/.config/parley/seen/, as the README says); with that file
// removed too, the walkthrough runs through again.
func TestREADMEStartOver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the walkthrough three times")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed; the README's shell blocks need it")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the README's walkthrough uses it")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := readmeSection(string(readme), "## Walkthrough")
	for _, want := range []string{"`rm -rf ~/.parley-walkthrough` starts over", "`~/.config/parley/seen/`", "remove that file too"} {
		if !strings.Contains(section, want) {
			t.Fatalf("the README's walkthrough no longer says %q; this test follows it", want)
		}
	}
	script := readmeScript(readmeShellBlocks(section), readmeFreePort(t))
	home := privateHome(t)
	run := func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bash, "-c", script)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "PARLEY_URL=", "PARLEY_TOKEN=")
		cmd.Env = append(cmd.Env, home...)
		return cmd.CombinedOutput()
	}
	if out, err := run(); err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	pw := filepath.Join(strings.TrimPrefix(home[0], "HOME="), ".parley-walkthrough")
	if err := os.RemoveAll(pw); err != nil { // rm -rf ~/.parley-walkthrough
		t.Fatal(err)
	}
	out, err := run()
	if err == nil {
		t.Fatalf("the walkthrough started over with the old node's key still pinned went through; output:\n%s", out)
	}
	m := regexp.MustCompile(`than the one pinned for it in (\S+) \(`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the refused pull doesn't name the seen file that pins the old key; output:\n%s", out)
	}
	seenDir := filepath.Join(strings.TrimPrefix(home[1], "XDG_CONFIG_HOME="), "parley", "seen")
	if filepath.Dir(string(m[1])) != seenDir {
		t.Fatalf("the seen file named, %s, is not in %s, where the README says it is", m[1], seenDir)
	}
	if err := os.RemoveAll(pw); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(string(m[1])); err != nil { // "remove that file too"
		t.Fatal(err)
	}
	if out, err := run(); err != nil {
		t.Fatalf("the walkthrough started over, the seen file removed, failed: %v\n%s", err, out)
	}
}
