package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
)

// Snapshot writes a consistent copy of the whole database, as of one
// moment, to path, a file that must not exist yet; it is created with
// [FileMode]. It is an online backup: it runs `VACUUM INTO` on its own
// read connection, one read transaction over the WAL, so writers of this
// and every other process go on while it copies, and the copy holds
// exactly the transactions committed when it began (a Submit is in it
// whole or not at all). On error path is removed.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	// VACUUM INTO takes an empty file for a new database; creating it
	// here gives it FileMode from the start, never a moment of the
	// umask's mode with the store's contents in it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return fmt.Errorf("couldn't create the snapshot: %w", err)
	}
	if err := errors.Join(f.Chmod(FileMode), f.Close()); err != nil {
		os.Remove(path)
		return fmt.Errorf("couldn't create the snapshot: %w", err)
	}
	conn, err := s.r.Conn(ctx)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("couldn't snapshot the store: %w", err)
	}
	defer conn.Close()
	// The read pool is query_only; VACUUM INTO writes only the new file,
	// but SQLite refuses it under query_only, so lift it on this one
	// connection for the statement and restore it before the connection
	// goes back to the pool.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		os.Remove(path)
		return fmt.Errorf("couldn't snapshot the store: %w", err)
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	if _, rerr := conn.ExecContext(context.Background(), `PRAGMA query_only = 1`); rerr != nil {
		// A read connection that could write must not serve reads.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, rerr)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("couldn't snapshot the store: %w", err)
	}
	return nil
}

// DropUISessions deletes every web UI session of the database file at path
// (one that is not open elsewhere: a snapshot, a restore's staged copy).
// A copy restored later must not bring back a session logged out since
// it was made, nor one of a token revoked since (the session would end at
// its first request, but only once that request has been checked); every
// analyst logs in again instead. A database without the sessions table
// (older than migration 730) has none to delete. The rows are deleted
// with secure_delete, their bytes overwritten, not left in their pages'
// free space for anyone who reads the file.
func DropUISessions(ctx context.Context, path string) error {
	d, err := sql.Open("sqlite", fileDSN(path, url.Values{"_pragma": {"busy_timeout(10000)", "secure_delete(1)"}}))
	if err != nil {
		return fmt.Errorf("couldn't open %s: %w", path, err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ui_sessions'`).Scan(&n); err != nil {
		return fmt.Errorf("couldn't read %s: %w", path, err)
	}
	if n == 0 {
		return nil
	}
	if _, err := d.ExecContext(ctx, `DELETE FROM ui_sessions`); err != nil {
		return fmt.Errorf("couldn't end the UI sessions in %s: %w", path, err)
	}
	return d.Close()
}

// CheckWritable writes a row in a transaction it rolls back, so that a
// process that is to write the store (parley serve) learns at start that
// it can't: SQLite opens a database whose files the process may only read
// (another owner's, a read-only mount, a copy whose -wal and -shm were
// left by a crash) read-only without a word, and every write then fails
// with "attempt to write a readonly database".
func (s *Store) CheckWritable(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err == nil {
		// BEGIN IMMEDIATE alone succeeds on such a database; a row
		// written (with its own values, and rolled back) does not.
		_, err = tx.ExecContext(ctx, `UPDATE schema_migrations SET name = name WHERE version = (SELECT min(version) FROM schema_migrations)`)
		err = errors.Join(err, tx.Rollback())
	}
	if err != nil {
		return fmt.Errorf("the store can't be written: %w", err)
	}
	return nil
}
