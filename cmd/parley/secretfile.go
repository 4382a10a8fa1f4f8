package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// shownURL is raw as an error, a progress line or a file names it: without
// its user information (a user and password, or a token as in
// nats://TOKEN@host) and query (where keys go). A URL that doesn't parse
// is not repeated.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// warnReadable warns on w when the file at path, which holds a secret
// (what: "the token file", "the private key", ...), can be read by every
// user of the machine: whoever reads it can act as its owner. That is a
// file others may read in a directory that every directory above lets
// others enter: a token file that `member add --json >FILE` made with the
// umask's 0644 in a 0755 home directory, not one in a 0700 directory. It
// only warns, and says nothing when the file can't be found, which the
// read that follows reports, or where modes don't say who may read
// (Windows).
func warnReadable(w io.Writer, path, what string) {
	if mode, ok := readableByAll(path); ok {
		fmt.Fprintf(w, "parley: warning: %s %s can be read by every user of this machine (mode %04o); restrict it with chmod 600 %s\n", what, path, mode, path)
	}
}

// readableByAll reports whether other users may read the file at path,
// and its mode.
func readableByAll(path string) (os.FileMode, bool) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return 0, false
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0, false
	}
	if p, err = filepath.Abs(p); err != nil {
		return 0, false
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o004 == 0 {
		return 0, false
	}
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		di, err := os.Stat(d)
		if err != nil || di.Mode().Perm()&0o001 == 0 {
			return 0, false
		}
		if filepath.Dir(d) == d {
			return fi.Mode().Perm(), true
		}
	}
}

// warnClearText warns on w when a secret the node will send at every
// round (what: "the feed's token", "the peer's token") goes to raw, a
// plain http:// URL whose host isn't loopback: the node sends it
// unattended, for as long as the feed or peer is followed, in clear over
// the network. (A host name that isn't "localhost" counts as remote: it
// may resolve anywhere.)
func warnClearText(w io.Writer, raw, what string) {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return
	}
	fmt.Fprintf(w, "parley: warning: %s goes to %s over plain HTTP each time the node polls it, in clear across the network; use https:// (with --ca FILE for a private CA)\n", what, shownURL(raw))
}
