package node

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// Kinds of store that [Config].Store names.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// storeKindOf returns the kind of store that a [Config].Store value names:
// storeSQLite for "" and "sqlite", storePostgres for a postgres:// or
// postgresql:// URL. The error never repeats the value, which may be a URL
// holding a password.
func storeKindOf(s string) (string, error) {
	switch {
	case s == "" || s == storeSQLite:
		return storeSQLite, nil
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		return storePostgres, nil
	}
	return "", errors.New(`"store" must be "sqlite" or a postgres:// or postgresql:// URL`)
}

// storeOptions are what every store is opened with.
type storeOptions struct {
	// Now is the store's clock (nil: time.Now).
	Now func() time.Time
	// Limits bound what one member may store.
	Limits store.Limits
	// Existing refuses to create a store that isn't there (an embedded
	// database file that doesn't exist), with [ErrNotInitialized]: an
	// audit must not make an empty store where it expected a node's.
	Existing bool
	// ReadOnly is for a caller that only reads the store, once through
	// (an audit): an embedded database is opened read-only
	// ([sqlite.Options.ReadOnly]: no migration, no write to it or its
	// -wal and -shm, its files' modes left as they are; a schema that
	// would need migrating is refused with [sqlite.ErrSchemaTooOld]),
	// and its connections keep a small page cache
	// (auditCacheKiB), not the node's 64 MiB each, which an audit would
	// fill as it reads and never use again. A PostgreSQL store is opened
	// with [postgres.Options.ReadOnly]: no migration, backfill or DDL,
	// every session read-only (default_transaction_read_only), an older
	// schema refused with [store.ErrSchemaTooOld].
	ReadOnly bool
	// KeepModes leaves the modes of an existing embedded database's
	// files as they are, for a command that reads another's store to
	// copy it (backup, migrate): it tightens only the files it creates.
	// ReadOnly implies it.
	KeepModes bool
	// ReadOnce keeps an embedded database's page cache small
	// (auditCacheKiB), for a caller that reads the store once through (a
	// restore's audit of its staged copy, which it may migrate).
	// ReadOnly implies it.
	ReadOnce bool
}

// auditCacheKiB is the page cache of each connection of a store opened
// ReadOnly: SQLite's default, 2 MiB.
const auditCacheKiB = 2 << 10

// openStore opens the store that cfg names for the node in dir. It is the
// one place the node chooses a store implementation.
func openStore(ctx context.Context, dir string, cfg Config, opts storeOptions) (store.Store, error) {
	kind, err := storeKindOf(cfg.Store)
	if err != nil {
		return nil, err
	}
	switch kind {
	case storePostgres:
		st, err := postgres.Open(ctx, cfg.Store, postgres.Options{Now: opts.Now, Limits: opts.Limits, ReadOnly: opts.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("couldn't open the PostgreSQL store named in %s: %w", ConfigFile, redactURL(err, cfg.Store))
		}
		return st, nil
	default:
		path := filepath.Join(dir, StoreFile)
		if opts.Existing {
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("couldn't find a node's store in %s: %w", dir, ErrNotInitialized)
			}
		}
		sopts := sqlite.Options{Now: opts.Now, Limits: opts.Limits}
		sopts.KeepModes = opts.KeepModes || opts.ReadOnly
		sopts.ReadOnly = opts.ReadOnly
		if opts.ReadOnly || opts.ReadOnce {
			sopts.CacheKiB = auditCacheKiB
		}
		st, err := sqlite.Open(ctx, path, sopts)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// redactURL returns err's message without the password of the store URL
// raw, should the driver have quoted it: errors end up in logs and on
// terminals. The error's kind is kept for errors.Is.
func redactURL(err error, raw string) error {
	msg := err.Error()
	if strings.Contains(msg, raw) {
		msg = strings.ReplaceAll(msg, raw, "(the store URL)")
	}
	for _, secret := range urlSecrets(raw) {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}

// secretParam matches the names of URL query parameters (and of libpq's
// key=value settings) whose values are secrets: password and
// sslpassword, and any named for a token, a secret or an API key.
var secretParam = regexp.MustCompile(`(?i)pass|secret|token|api_?key|auth`)

// keyValueSecret matches a secret setting of a libpq key=value string,
// its value quoted or not.
var keyValueSecret = regexp.MustCompile(`(?i)\b\w*(?:pass|secret|token|api_?key|auth)\w*\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// urlSecrets returns the secrets a store or witness URL may hold: the
// user name and password of its user information, the values of query parameters that
// secretParam names (PostgreSQL takes ?password=), and, for a libpq
// key=value string, the values of such settings.
func urlSecrets(raw string) []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, v)
		}
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		if u.User != nil {
			// The user name too where it may be a token itself (see
			// tokenLikeUser); a role name such as "postgres" is left, or
			// every mention of the database, and the scheme itself, would
			// read "xxxxx" in the driver's errors. redactedURL drops the
			// whole user information whatever it is.
			addUser := func(v string) {
				if tokenLikeUser(v) {
					add(v)
				}
			}
			addUser(u.User.Username())
			pw, _ := u.User.Password()
			add(pw)
			// As written in the URL, percent-encoded (as raw has it,
			// and as url.Userinfo.String writes it).
			_, rest, _ := strings.Cut(raw, "://")
			authority := rest
			if i := strings.IndexAny(rest, "/?#"); i >= 0 {
				authority = rest[:i]
			}
			if i := strings.LastIndex(authority, "@"); i >= 0 {
				name, escaped, _ := strings.Cut(authority[:i], ":")
				addUser(name)
				add(escaped)
			}
			if name, escaped, ok := strings.Cut(u.User.String(), ":"); ok {
				addUser(name)
				add(escaped)
			} else {
				addUser(name)
			}
		}
		for k, vs := range u.Query() {
			if secretParam.MatchString(k) {
				for _, v := range vs {
					add(v)
					add(url.QueryEscape(v))
				}
			}
		}
		return out
	}
	for _, m := range keyValueSecret.FindAllStringSubmatch(raw, -1) {
		add(m[1])
		add(strings.Trim(m[1], "'"))
	}
	return out
}

// tokenLikeUser tells whether a URL's user name may be a secret in
// itself: a Parley token (parley_…, also percent-encoded) or any name of
// 16 bytes or more, longer than the role names people choose.
func tokenLikeUser(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "parley_") || strings.HasPrefix(lower, "parley%5f") || len(name) >= 16
}

// redactedURL returns raw with its whole user information (a user name
// may be a token itself) and the values of query parameters that name
// secrets (see urlSecrets) replaced by "xxxxx", to name a URL that may
// hold them in logs and errors; a URL that doesn't parse is not repeated
// at all.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	if u.Scheme == "" {
		// A libpq key=value string.
		for _, secret := range urlSecrets(raw) {
			raw = strings.ReplaceAll(raw, secret, "xxxxx")
		}
		return raw
	}
	q := u.Query()
	redacted := false
	for k := range q {
		if secretParam.MatchString(k) {
			q.Set(k, "xxxxx")
			redacted = true
		}
	}
	if redacted {
		u.RawQuery = q.Encode()
	}
	return untrusted.URLRedacted(u)
}

// redactedError shows msg but unwraps to the original error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
