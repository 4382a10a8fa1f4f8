package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-exchange/parley/internal/store"
)

// TestRetrySerializationFailure makes the server fail a transaction with
// a real serialization failure: two SERIALIZABLE transactions read the
// log head, then both update it. The second's update fails with 40001;
// inTx must run it again, so both increments land.
func TestRetrySerializationFailure(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{})
	var attempts atomic.Int32
	var read sync.WaitGroup
	read.Add(2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.inTx(ctx, func(tx pgx.Tx) error {
				attempts.Add(1)
				if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); err != nil {
					return err
				}
				var n int64
				if err := tx.QueryRow(ctx, `SELECT next_idx FROM log_head WHERE id = 1`).Scan(&n); err != nil {
					return err
				}
				if first {
					// Both snapshots are taken before either writes.
					first = false
					read.Done()
					read.Wait()
				}
				_, err := tx.Exec(ctx, `UPDATE log_head SET next_idx = next_idx + 1 WHERE id = 1`)
				return err
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("inTx: %v", err)
		}
	}
	if n := attempts.Load(); n < 3 {
		t.Errorf("%d attempts for two conflicting transactions; the conflict wasn't retried", n)
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT next_idx FROM log_head`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("next_idx = %d (%v), want 2: an increment was lost", n, err)
	}
}

// TestRetryCodes checks which server errors inTx retries: a
// serialization failure and a deadlock, raised by the server on the first
// attempt, are retried and the second attempt's work commits once; any
// other error is returned at once and nothing is committed.
func TestRetryCodes(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{})
	for _, tc := range []struct {
		code     string
		attempts int32
	}{
		{"40001", 2},
		{"40P01", 2},
		{"23505", 1},
		{"57014", 1},
	} {
		t.Run(tc.code, func(t *testing.T) {
			before, _ := s.LogSize(ctx)
			var attempts atomic.Int32
			err := s.inTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `UPDATE log_head SET next_idx = next_idx + 1`); err != nil {
					return err
				}
				if attempts.Add(1) == 1 {
					_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '`+tc.code+`'; END $$`)
					return err
				}
				return nil
			})
			after, _ := s.LogSize(ctx)
			if n := attempts.Load(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			var pe *pgconn.PgError
			if tc.attempts == 1 {
				if !errors.As(err, &pe) || pe.Code != tc.code || after != before {
					t.Errorf("error %v, log size %d → %d; want %s returned and nothing committed", err, before, after, tc.code)
				}
			} else if err != nil || after != before+1 {
				t.Errorf("error %v, log size %d → %d; want the retry committed once", err, before, after)
			}
		})
	}
}

// TestRetryGivesUp: a transaction that always conflicts is tried
// maxAttempts times and its last error returned, still a 40001.
func TestRetryGivesUp(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testURL(t), Options{})
	var attempts atomic.Int32
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		attempts.Add(1)
		_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$`)
		return err
	})
	if !retryable(err) || attempts.Load() != maxAttempts {
		t.Fatalf("after %d attempts: %v; want %d attempts and the 40001", attempts.Load(), err, maxAttempts)
	}
}

// childEnv carries the database URL when the test binary runs as the
// submitting process of TestKill9Durability.
const childEnv = "PARLEY_TEST_POSTGRES_CHILD_URL"

// TestSubmitChildProcess is not a test: TestKill9Durability runs the test
// binary with only this test selected and childEnv set, making it a
// process that submits until it is killed, printing each status id once
// Submit returned. Run normally, it skips.
func TestSubmitChildProcess(t *testing.T) {
	u := os.Getenv(childEnv)
	if u == "" {
		t.Skip("helper process for TestKill9Durability")
	}
	ctx := context.Background()
	s, err := Open(ctx, u, Options{MaxConns: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		o := store.Object{ID: fmt.Sprintf("indicator--%d", i), Type: "indicator", SpecVersion: "2.1",
			Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Signed: true, Raw: fmt.Appendf(nil, `{"n":%d}`, i)}
		sub := store.Submission{StatusID: fmt.Sprintf("status-%d", i), Collection: "c", Member: "identity--a", Received: time.Now(),
			Items: []store.Item{{Object: o, Salt: []byte{1}, Entry: func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, "%d", o.LogIndex), nil }}}}
		if _, err := s.Submit(ctx, sub); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(sub.StatusID) // acknowledged
	}
}

// TestKill9Durability runs a process that submits in a loop and kills it
// (SIGKILL) once it has acknowledged some submissions: every acknowledged
// submission must then be visible, whole, to a fresh pool, and the log
// must have no gap.
func TestKill9Durability(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s, _, _ := fixtureAt(t, u)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSubmitChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+u)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for len(acked) < 30 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "status-") {
			acked = append(acked, sc.Text())
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(acked) < 30 {
		t.Fatalf("the child acknowledged %d submissions before it stopped: %s", len(acked), stderr.String())
	}
	s.Close()
	fresh := openTest(t, u, Options{})
	for _, id := range acked {
		st, err := fresh.Status(ctx, id)
		if err != nil || len(st.Successes) != 1 {
			t.Fatalf("acknowledged %s: %+v, %v", id, st, err)
		}
		if _, err := fresh.EntryFor(ctx, "c", st.Successes[0].ID, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatalf("acknowledged %s has no log entry: %v", id, err)
		}
	}
	size, err := fresh.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fresh.Entries(ctx, 0, size)
	if err != nil || int64(len(entries)) != size {
		t.Fatalf("log of size %d has %d entries (%v)", size, len(entries), err)
	}
	for i, e := range entries {
		if e.Index != int64(i) {
			t.Fatalf("entry %d has index %d", i, e.Index)
		}
	}
}
