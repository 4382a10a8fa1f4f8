package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	// TAXII feeds (internal/feed): a followed remote collection and its
	// position, one row per feed. The secret stays in the file named by
	// secret_file, never in the database. Times are text (see
	// timeLayout; "" for the zero time), so that they read back exactly.
	registerMigrations(migration{500, "taxii feeds", `
CREATE TABLE feeds (
	name         TEXT PRIMARY KEY,
	url          TEXT NOT NULL,
	collection   TEXT NOT NULL,
	into_coll    TEXT NOT NULL REFERENCES collections(id),
	member       TEXT NOT NULL REFERENCES members(id),
	auth         TEXT NOT NULL,
	username     TEXT NOT NULL,
	secret_file  TEXT NOT NULL,
	interval_ns  BIGINT NOT NULL,
	created      TEXT NOT NULL,
	added_after  TEXT NOT NULL,
	next         TEXT NOT NULL,
	high_water   TEXT NOT NULL,
	last_poll    TEXT NOT NULL,
	last_error   TEXT NOT NULL,
	added        BIGINT NOT NULL,
	existing     BIGINT NOT NULL,
	failed       BIGINT NOT NULL,
	pages        BIGINT NOT NULL,
	last_failure TEXT NOT NULL
);
`})
	// A feed's CA file (store.Feed.CAFile): a server with a private CA.
	registerMigrations(migration{501, "taxii feed ca file", `
ALTER TABLE feeds ADD COLUMN ca_file TEXT NOT NULL DEFAULT '';
`})
	// When a feed last read its remote collection from the beginning, and
	// how often it does (store.Feed.Reread, store.FeedPosition.FullRead).
	registerMigrations(migration{502, "taxii feed full reads", `
ALTER TABLE feeds ADD COLUMN reread_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN full_read TEXT NOT NULL DEFAULT '';
`})
	// How far the round in progress has read (store.FeedPosition.ReadTo):
	// a full read whose cursor the server forgot goes on from there. A
	// feed migrated in mid-round has none; its round goes on from its
	// added_after, reading again what it read already.
	registerMigrations(migration{503, "taxii feed round progress", `
ALTER TABLE feeds ADD COLUMN read_to TEXT NOT NULL DEFAULT '';
`})
	// A feed's backoff and the round in progress, kept so that a restarted
	// node doesn't ask a failing server again at once
	// (store.FeedPosition.Failures, NotBefore), and so that `parley feed
	// status`, in another process, tells a running round from an idle
	// node (RoundStarted, RoundFrom), as for peers (migrations 701, 702).
	registerMigrations(migration{750, "taxii feed backoff and round in progress", `
ALTER TABLE feeds ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN not_before TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN round_started TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN round_from BIGINT NOT NULL DEFAULT 0;
`})
	// How far before the high-water mark an incremental round asks
	// (store.Feed.Overlap): a server whose date_added isn't monotonic
	// with what it adds (several writers, clock skew, back-dated
	// objects) serves an object added after a round with a date_added
	// before that round's mark.
	registerMigrations(migration{800, "taxii feed overlap", `
ALTER TABLE feeds ADD COLUMN overlap_ns BIGINT NOT NULL DEFAULT 0;
`})
	// The lease of a feed's round in progress and its transfer
	// (store.FeedPosition.RoundOwner, RoundExpires, RoundActive,
	// RoundBytes): of several processes on one store one runs a feed's
	// round at a time, and a round counts as interrupted only once its
	// lease has expired, as for peers (migration 820).
	registerMigrations(migration{821, "leases of feed rounds in progress", `
ALTER TABLE feeds ADD COLUMN round_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN round_expires TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN round_active TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN round_bytes BIGINT NOT NULL DEFAULT 0;
`})
}

var _ store.Feeds = (*Store)(nil)

// fmtOptTime stores the zero time as "" so that it reads back as zero.
func fmtOptTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtTime(t)
}

func parseOptTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s)
}

// isForeignKey reports whether err is a foreign key violation (a row
// naming a member, collection or set that doesn't exist).
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// AddFeed implements [store.Feeds].
func (s *Store) AddFeed(ctx context.Context, f store.Feed) error {
	if f.Name == "" || f.URL == "" || f.Collection == "" || f.Into == "" || f.Member == "" {
		return fmt.Errorf("couldn't add feed %q: name, url, collection, into and member are needed: %w", f.Name, store.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO feeds(name, url, collection, into_coll, member, auth, username, secret_file, ca_file, interval_ns, created,
			added_after, next, high_water, last_poll, last_error, added, existing, failed, pages, last_failure, reread_ns, full_read, read_to,
			failures, not_before, round_started, round_from, overlap_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
			f.Name, f.URL, f.Collection, f.Into, f.Member, f.Auth, f.User, f.SecretFile, f.CAFile, int64(f.Interval), fmtTime(f.Created),
			fmtOptTime(f.AddedAfter), f.Next, fmtOptTime(f.HighWater), fmtOptTime(f.LastPoll), f.LastError, f.Added, f.Existing, f.Failed, f.Pages, f.LastFailure, int64(f.Reread), fmtOptTime(f.FullRead), fmtOptTime(f.ReadTo),
			f.Failures, fmtOptTime(f.NotBefore), fmtOptTime(f.RoundStarted), f.RoundFrom, int64(f.Overlap))
		return err
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("couldn't add feed %q: the name is taken: %w", f.Name, store.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("couldn't add feed %q: collection %q or member %q: %w", f.Name, f.Into, f.Member, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("couldn't add feed %q: %w", f.Name, err)
	}
	return nil
}

// Feeds implements [store.Feeds].
func (s *Store) Feeds(ctx context.Context) ([]store.Feed, error) {
	return queryFeeds(ctx, s.pool, "", "")
}

// feedQuerier is the pool or a transaction.
type feedQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryFeeds returns the feeds, or the feed name when name isn't empty.
func queryFeeds(ctx context.Context, q feedQuerier, where, name string) ([]store.Feed, error) {
	args := []any{}
	if where != "" {
		args = append(args, name)
	}
	rows, err := q.Query(ctx, `SELECT name, url, collection, into_coll, member, auth, username, secret_file, ca_file, interval_ns, created,
		added_after, next, high_water, last_poll, last_error, added, existing, failed, pages, last_failure, reread_ns, full_read, read_to,
		failures, not_before, round_started, round_from, overlap_ns, round_owner, round_expires, round_active, round_bytes FROM feeds `+where+` ORDER BY name COLLATE "C"`, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't list feeds: %w", err)
	}
	defer rows.Close()
	var out []store.Feed
	for rows.Next() {
		var f store.Feed
		var interval, reread, overlap int64
		var created, aa, hw, lp, fr, rt, nb, rs, rx, ra string
		if err := rows.Scan(&f.Name, &f.URL, &f.Collection, &f.Into, &f.Member, &f.Auth, &f.User, &f.SecretFile, &f.CAFile, &interval, &created,
			&aa, &f.Next, &hw, &lp, &f.LastError, &f.Added, &f.Existing, &f.Failed, &f.Pages, &f.LastFailure, &reread, &fr, &rt,
			&f.Failures, &nb, &rs, &f.RoundFrom, &overlap, &f.RoundOwner, &rx, &ra, &f.RoundBytes); err != nil {
			return nil, fmt.Errorf("couldn't list feeds: %w", err)
		}
		f.Interval, f.Reread, f.Overlap = time.Duration(interval), time.Duration(reread), time.Duration(overlap)
		var errs [10]error
		f.Created, errs[0] = parseTime(created)
		f.AddedAfter, errs[1] = parseOptTime(aa)
		f.HighWater, errs[2] = parseOptTime(hw)
		f.LastPoll, errs[3] = parseOptTime(lp)
		f.FullRead, errs[4] = parseOptTime(fr)
		f.ReadTo, errs[5] = parseOptTime(rt)
		f.NotBefore, errs[6] = parseOptTime(nb)
		f.RoundStarted, errs[7] = parseOptTime(rs)
		f.RoundExpires, errs[8] = parseOptTime(rx)
		f.RoundActive, errs[9] = parseOptTime(ra)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("couldn't read feed %s: %w", f.Name, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list feeds: %w", err)
	}
	return out, nil
}

// RecordPoll implements [store.Feeds].
func (s *Store) RecordPoll(ctx context.Context, name string, p store.FeedPosition) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The round's lease and transfer go with its mark: cleared when
		// it is, else left as ClaimFeedRound and RenewFeedRound wrote
		// them.
		res, err := tx.Exec(ctx, `UPDATE feeds SET added_after = $1, next = $2, high_water = $3, last_poll = $4, last_error = $5,
			added = $6, existing = $7, failed = $8, pages = $9, last_failure = $10, full_read = $11, read_to = $12,
			failures = $13, not_before = $14, round_started = $15, round_from = $16,
			round_owner = CASE WHEN $15 = '' THEN '' ELSE round_owner END,
			round_expires = CASE WHEN $15 = '' THEN '' ELSE round_expires END,
			round_active = CASE WHEN $15 = '' THEN '' ELSE round_active END,
			round_bytes = CASE WHEN $15 = '' THEN 0 ELSE round_bytes END
			WHERE name = $17 AND ($18 = '' OR round_owner = $18)`,
			fmtOptTime(p.AddedAfter), p.Next, fmtOptTime(p.HighWater), fmtOptTime(p.LastPoll), p.LastError,
			p.Added, p.Existing, p.Failed, p.Pages, p.LastFailure, fmtOptTime(p.FullRead), fmtOptTime(p.ReadTo),
			p.Failures, fmtOptTime(p.NotBefore), fmtOptTime(p.RoundStarted), p.RoundFrom, name, p.RoundOwner)
		if err != nil {
			return fmt.Errorf("couldn't record the poll of feed %s: %w", name, err)
		}
		if res.RowsAffected() > 0 {
			return nil
		}
		return feedRoundLost(ctx, tx, name, p.RoundOwner, "couldn't record the poll of feed")
	})
}

// feedRoundLost is the error of a write of feed name's round by owner
// that changed nothing: ErrNotFound for an unknown feed, else ErrFenced
// (the round marked is not owner's any more).
func feedRoundLost(ctx context.Context, tx pgx.Tx, name, owner, what string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM feeds WHERE name = $1`, name).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s %s: %w", what, name, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	return fmt.Errorf("%s %s: its round is not %s's any more: %w", what, name, owner, store.ErrFenced)
}

// ClaimFeedRound implements [store.Feeds].
func (s *Store) ClaimFeedRound(ctx context.Context, name string, l store.RoundLease) (store.FeedPosition, bool, error) {
	if l.Owner == "" || l.Started.IsZero() || l.Expires.IsZero() {
		return store.FeedPosition{}, false, fmt.Errorf("couldn't claim a round of feed %s: owner, start and expiry are needed: %w", name, store.ErrInvalid)
	}
	var p store.FeedPosition
	ok := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ok = false
		tag, err := tx.Exec(ctx, `UPDATE feeds SET round_started = $1, round_from = pages, round_owner = $2, round_expires = $3,
			round_active = '', round_bytes = 0 WHERE name = $4 AND (round_started = '' OR round_owner = $2)`,
			fmtTime(l.Started), l.Owner, fmtTime(l.Expires), name)
		if err != nil {
			return fmt.Errorf("couldn't claim a round of feed %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			if err := feedRoundLost(ctx, tx, name, "", "couldn't claim a round of feed"); !errors.Is(err, store.ErrFenced) {
				return err
			}
			return nil
		}
		fs, err := queryFeeds(ctx, tx, `WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if len(fs) != 1 {
			return fmt.Errorf("couldn't claim a round of feed %s: %w", name, store.ErrNotFound)
		}
		p, ok = fs[0].FeedPosition, true
		return nil
	})
	if err != nil || !ok {
		return store.FeedPosition{}, false, err
	}
	return p, true, nil
}

// RenewFeedRound implements [store.Feeds].
func (s *Store) RenewFeedRound(ctx context.Context, name string, l store.RoundLease, at time.Time, bytes int64) (bool, error) {
	return s.ifRound(ctx, "feeds", name, `UPDATE feeds SET round_expires = $1, round_active = CASE WHEN $2 = '' THEN round_active ELSE $2 END, round_bytes = $3
		WHERE name = $4 AND round_owner = $5 AND round_started = $6 AND round_started != '' AND round_owner != ''`,
		fmtTime(l.Expires), fmtOptTime(at), bytes, name, l.Owner, fmtTime(l.Started))
}

// InterruptFeedRound implements [store.Feeds].
func (s *Store) InterruptFeedRound(ctx context.Context, name string, started, at time.Time, reason string) (bool, error) {
	return s.ifRound(ctx, "feeds", name, `UPDATE feeds SET last_poll = $1, last_error = $2, failures = failures + 1,
		round_started = '', round_from = 0, round_owner = '', round_expires = '', round_active = '', round_bytes = 0
		WHERE name = $3 AND round_started = $4 AND round_started != '' AND round_expires COLLATE "C" <= $1`,
		fmtTime(at), reason, name, fmtTime(started))
}
