package node

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres"
	"github.com/parley-exchange/parley/internal/store/sqlite"
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
}

// openStore opens the store that cfg names for the node in dir. It is the
// one place the node chooses a store implementation.
func openStore(ctx context.Context, dir string, cfg Config, opts storeOptions) (store.Store, error) {
	kind, err := storeKindOf(cfg.Store)
	if err != nil {
		return nil, err
	}
	switch kind {
	case storePostgres:
		st, err := postgres.Open(ctx, cfg.Store, postgres.Options{Now: opts.Now, Limits: opts.Limits})
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
		st, err := sqlite.Open(ctx, path, sqlite.Options{Now: opts.Now, Limits: opts.Limits})
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
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	if strings.Contains(msg, raw) {
		msg = strings.ReplaceAll(msg, raw, "(the store URL)")
	}
	return &redactedError{msg: msg, err: err}
}

// redactedURL returns raw with its password, if any, replaced by
// "xxxxx", to name a URL that may hold one in logs and errors; a URL that
// doesn't parse is not repeated at all.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	return u.Redacted()
}

// redactedError shows msg but unwraps to the original error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
