package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestNewerSchemaRefused: a schema that a newer version migrated is
// refused by an older one, naming the unknown migration, as a store error
// that is not unavailability (serve would wait for ever), and nothing is
// applied; a retired migration (411) is not newer.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   string
		refused string
	}{
		{"newer migration", `INSERT INTO schema_migrations VALUES (9001, 'a newer feature', '2027-01-01T00:00:00Z')`, `9001 "a newer feature"`},
		{"newer migration, an older one missing",
			`DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720;
			 INSERT INTO schema_migrations VALUES (9001, 'a newer feature', '2027-01-01T00:00:00Z')`, `9001 "a newer feature"`},
		{"retired 411", `INSERT INTO schema_migrations VALUES (411, 'private sets in member usage', '2026-12-03T18:00:00Z')`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := testURL(t)
			s := openTest(t, u, Options{})
			if _, err := s.pool.Exec(ctx, tc.setup); err != nil {
				t.Fatal(err)
			}
			var before int
			s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&before)
			s2, err := Open(ctx, u, Options{MaxConns: 2})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s2.Close()
				return
			}
			if err == nil {
				s2.Close()
				t.Fatal("Open accepted a store with a migration it doesn't know")
			}
			if !errors.Is(err, store.ErrNewerSchema) || errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("Open: %v; want ErrNewerSchema (not ErrUnavailable) naming %s", err, tc.refused)
			}
			var after int
			s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&after)
			if after != before {
				t.Errorf("schema_migrations has %d rows after the refusal, %d before", after, before)
			}
		})
	}
}

// TestSchemaUpgradeReported: Open reports the migrations it applied to a
// store that an older version had migrated (here, one that lacks 720), so
// the node logs the upgrade; the next Open, and the Open that creates a
// store, report none.
func TestSchemaUpgradeReported(t *testing.T) {
	ctx := context.Background()
	u := testURL(t)
	s := openTest(t, u, Options{})
	if got := s.SchemaUpgrade(); len(got) != 0 {
		t.Errorf("a store Open created reports an upgrade: %v", got)
	}
	if _, err := s.pool.Exec(ctx, `DROP TABLE leases; DELETE FROM schema_migrations WHERE version = 720`); err != nil {
		t.Fatal(err)
	}
	for run, want := range []int{1, 0} {
		s2, err := Open(ctx, u, Options{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := s2.SchemaUpgrade()
		s2.Close()
		if len(got) != want || (want == 1 && got[0].Version != 720) {
			t.Fatalf("open %d: SchemaUpgrade() = %v, want %d migration(s) (720)", run+1, got, want)
		}
	}
}
