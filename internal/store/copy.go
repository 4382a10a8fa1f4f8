package store

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// Copying a node's whole state from one store to another (parley migrate):
// a neutral description of every table that holds state, which the source
// store reads ([TableReader]) and the target store loads, so that neither
// store package knows the other.
//
// Only the state is described. Indexes derived from it (the web UI's text,
// reference and PDQ indexes, the opinion index) are rebuilt by the target
// from the objects; the log's counter and each store's bookkeeping
// (schema_migrations) are the target's own.

// ColumnKind is the Go type of a column's values in [Rows.Values].
type ColumnKind int

const (
	// KindInt values are int64.
	KindInt ColumnKind = iota
	// KindText values are string.
	KindText
	// KindBytes values are []byte, never nil.
	KindBytes
	// KindNullBytes values are []byte; nil is SQL NULL.
	KindNullBytes
	// KindBool values are bool.
	KindBool
	// KindNullText values are *string; nil is SQL NULL.
	KindNullText
	// KindNullTime values are *time.Time; nil is SQL NULL. Stores may
	// keep fewer digits than nanoseconds (PostgreSQL: microseconds), so
	// [SameValue] compares them to the microsecond.
	KindNullTime
)

// Column is one column of a [Table].
type Column struct {
	Name string
	Kind ColumnKind
}

// Table is one table of a node's state. Columns are named as in the
// PostgreSQL store; a store whose column has another name maps it in its
// reader. Key is the primary key, the order in which rows are read.
type Table struct {
	Name    string
	Columns []Column
	Key     []string
}

// Rows streams a table's rows in key order. Its methods are those of
// pgx's CopyFromSource, so a reader can feed a bulk load directly.
type Rows interface {
	// Next advances to the next row; false at the end or on error.
	Next() bool
	// Values returns the current row, one value per column, typed by
	// [ColumnKind]. The slice may be reused by the next call.
	Values() ([]any, error)
	// Err returns the error that ended the iteration, if any.
	Err() error
	// Close releases the rows; it must be called.
	Close() error
}

// TableReader reads whole tables of a store, for copying and verifying.
type TableReader interface {
	// ReadTable returns t's rows in key order. Rows read from a store
	// that is written meanwhile need not be consistent across tables:
	// read a snapshot or a stopped store.
	ReadTable(ctx context.Context, t Table) (Rows, error)
}

func cols(spec ...any) []Column {
	var cs []Column
	for i := 0; i < len(spec); i += 2 {
		cs = append(cs, Column{spec[i].(string), spec[i+1].(ColumnKind)})
	}
	return cs
}

// StateTables are the tables of a node's state, in an order in which
// every row's references (members, collections, log entries, private
// sets) are loaded before it.
var StateTables = []Table{
	{"members", cols("id", KindText, "name", KindText, "public_key", KindNullBytes, "identity", KindBytes, "created", KindText, "revoked", KindBool), []string{"id"}},
	{"tokens", cols("hash", KindBytes, "lookup", KindBytes, "member", KindText, "created", KindText), []string{"hash"}},
	{"collections", cols("id", KindText, "title", KindText, "description", KindText, "signatures", KindText, "relay", KindBool, "created", KindText), []string{"id"}},
	{"collection_access", cols("collection", KindText, "member", KindText, "can_read", KindBool, "can_write", KindBool, "pos", KindInt), []string{"collection", "member"}},
	{"log_entries", cols("idx", KindInt, "leaf", KindBytes, "salt", KindBytes, "collection", KindText, "object_id", KindText, "version", KindText, "member", KindText, "received", KindText, "kind", KindText), []string{"idx"}},
	{"objects", cols("seq", KindInt, "collection", KindText, "object_id", KindText, "type", KindText, "spec_version", KindText, "version", KindText, "date_added", KindText,
		"member", KindText, "signed", KindBool, "raw", KindBytes, "log_index", KindInt, "is_first", KindBool, "is_last", KindBool), []string{"seq"}},
	{"object_owners", cols("object_id", KindText, "member", KindText), []string{"object_id"}},
	{"statuses", cols("id", KindText, "collection", KindText, "member", KindText, "body", KindBytes), []string{"id"}},
	{"member_usage", cols("member", KindText, "bytes", KindInt), []string{"member"}},
	{"log_tiles", cols("level", KindInt, "n", KindInt, "width", KindInt, "data", KindBytes), []string{"level", "n"}},
	{"log_checkpoints", cols("size", KindInt, "note", KindBytes, "created", KindText), []string{"size"}},
	{"log_cosigned", cols("size", KindInt, "note", KindBytes), []string{"size"}},
	{"private_sets", cols("id", KindText, "member", KindText, "collection", KindText, "source", KindText, "suite", KindText, "private_key", KindBytes, "public_key", KindBytes,
		"key_log_index", KindInt, "created", KindText, "cursor", KindInt), []string{"id"}},
	{"private_set_tags", cols("set_id", KindText, "tag", KindBytes, "line", KindNullText), []string{"set_id", "tag"}},
	{"private_set_indicators", cols("set_id", KindText, "indicator_id", KindText, "line", KindText, "expires", KindNullTime), []string{"set_id", "indicator_id", "line"}},
	{"private_budget", cols("set_id", KindText, "member", KindText, "used", KindInt), []string{"set_id", "member"}},
	{"private_set_withdrawals", cols("id", KindText, "member", KindText, "collection", KindText, "suite", KindText, "public_key", KindBytes,
		"key_log_index", KindInt, "created", KindText, "withdrawn", KindText, "withdrawal_log_index", KindInt,
		"signed", KindNullText, "nonce", KindNullBytes, "signer", KindNullBytes, "signature", KindNullBytes), []string{"id"}},
	{"private_set_withdrawal_readers", cols("set_id", KindText, "member", KindText), []string{"set_id", "member"}},
	{"feeds", cols("name", KindText, "url", KindText, "collection", KindText, "into_coll", KindText, "member", KindText, "auth", KindText, "username", KindText,
		"secret_file", KindText, "ca_file", KindText, "interval_ns", KindInt, "created", KindText, "added_after", KindText, "next", KindText, "high_water", KindText, "last_poll", KindText,
		"last_error", KindText, "added", KindInt, "existing", KindInt, "failed", KindInt, "pages", KindInt, "last_failure", KindText,
		"reread_ns", KindInt, "full_read", KindText, "read_to", KindText,
		"failures", KindInt, "not_before", KindText, "round_started", KindText, "round_from", KindInt, "overlap_ns", KindInt,
		"round_owner", KindText, "round_expires", KindText, "round_active", KindText, "round_bytes", KindInt), []string{"name"}},
	{"peers", cols("name", KindText, "url", KindText, "token_file", KindText, "ca_file", KindText, "log_key", KindText, "policy", KindText, "remote", KindText,
		"into_coll", KindText, "member", KindText, "created", KindText, "next", KindInt, "checkpoint", KindNullBytes, "objects", KindInt, "keys", KindInt,
		"remote_size", KindInt, "last_round", KindText, "last_error", KindText, "stopped", KindText, "evidence", KindText,
		"round_started", KindText, "round_from", KindInt, "failures", KindInt,
		"key_index", KindNullBytes, "key_index_checkpoint", KindNullBytes, "key_index_size", KindInt, "key_index_missing", KindText,
		"round_active", KindText, "round_bytes", KindInt, "round_owner", KindText, "round_expires", KindText, "refused", KindInt, "last_refused", KindText), []string{"name"}},
	{"peer_tiles", cols("peer", KindText, "level", KindInt, "n", KindInt, "width", KindInt, "data", KindBytes), []string{"peer", "level", "n"}},
	{"peer_checkpoints", cols("peer", KindText, "size", KindInt, "note", KindBytes), []string{"peer", "size"}},
	{"peer_keys", cols("peer", KindText, "idx", KindInt, "leaf", KindBytes), []string{"peer", "idx"}},
	{"peer_objects", cols("peer", KindText, "idx", KindInt, "leaf", KindBytes, "opening", KindBytes, "object_id", KindText, "version", KindText), []string{"peer", "idx"}},
}

// StateTable returns the table of [StateTables] named name.
func StateTable(name string) (Table, bool) {
	for _, t := range StateTables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// SameValue reports whether a and b, values of kind k as [Rows.Values]
// returns them, are equal: bytes and text exactly, times to the
// microsecond.
func SameValue(k ColumnKind, a, b any) bool {
	switch k {
	case KindBytes, KindNullBytes:
		x, _ := a.([]byte)
		y, _ := b.([]byte)
		return (x == nil) == (y == nil) && bytes.Equal(x, y)
	case KindNullText:
		x, _ := a.(*string)
		y, _ := b.(*string)
		return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
	case KindNullTime:
		x, _ := a.(*time.Time)
		y, _ := b.(*time.Time)
		return (x == nil && y == nil) || (x != nil && y != nil && x.Truncate(time.Microsecond).Equal(y.Truncate(time.Microsecond)))
	default:
		return a == b
	}
}

// CompareTable reads t from both readers and fails at the first row that
// differs, naming the table, the row number and the column (never the
// values, which may be secrets). It returns the number of rows.
func CompareTable(ctx context.Context, t Table, a, b TableReader) (int64, error) {
	ra, err := a.ReadTable(ctx, t)
	if err != nil {
		return 0, err
	}
	defer ra.Close()
	rb, err := b.ReadTable(ctx, t)
	if err != nil {
		return 0, err
	}
	defer rb.Close()
	var n int64
	for {
		na, nb := ra.Next(), rb.Next()
		if na != nb {
			if err := firstErr(ra.Err(), rb.Err()); err != nil {
				return n, err
			}
			return n, fmt.Errorf("table %s differs: one copy has %d rows, the other more", t.Name, n)
		}
		if !na {
			return n, firstErr(ra.Err(), rb.Err())
		}
		va, err := ra.Values()
		if err != nil {
			return n, err
		}
		vb, err := rb.Values()
		if err != nil {
			return n, err
		}
		for i, c := range t.Columns {
			if !SameValue(c.Kind, va[i], vb[i]) {
				return n, fmt.Errorf("table %s differs at row %d (in key order), column %s", t.Name, n+1, c.Name)
			}
		}
		n++
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
