package witness

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestHostileSubmissionsWriteNothing: what anyone may send without a
// log's key, at any rate (add-checkpoint for logs the witness doesn't
// witness, a known log's checkpoint with a bad signature or with many
// signature lines, replays of the checkpoint it serves, and monitor
// requests for unknown logs), changes nothing in the witness's
// directory: no journal record, no evidence, nothing to flush.
func TestHostileSubmissionsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	l := newTestLog(t, "example.com/log")
	w := openWitness(t, dir, "witness.example/w", l)
	h := l.newHistory(t, "a", 0, 5)
	signed := h.sign(t)
	ctx := context.Background()
	if _, err := w.AddCheckpoint(ctx, 0, nil, signed); err != nil {
		t.Fatal(err)
	}
	before := dirDigest(t, dir)

	other := newTestLog(t, "example.com/other")
	unknown, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "example.com/other", Size: 9, Hash: tlog.EmptyRoot()}, other.signer)
	if err != nil {
		t.Fatal(err)
	}
	// The log's checkpoint with its signature's last byte flipped.
	bad := append([]byte(nil), signed...)
	bad[len(bad)-3] ^= 1
	// The log's checkpoint with 90 more signature lines of its key,
	// each a bad signature.
	many := append([]byte(nil), signed...)
	sigLine := strings.TrimSuffix(string(signed), "\n")
	sigLine = sigLine[strings.LastIndexByte(sigLine, '\n')+1:]
	name, id, sig, ok := tlog.SignatureLine(sigLine)
	if !ok {
		t.Fatalf("no signature line at the end of %q", signed)
	}
	for i := 0; i < 90; i++ {
		raw := binary.BigEndian.AppendUint32(nil, id)
		raw = append(raw, sig...)
		raw[4+i%len(sig)] ^= byte(1 + i/len(sig))
		many = fmt.Appendf(many, "— %s %s\n", name, base64.StdEncoding.EncodeToString(raw))
	}
	for i := 0; i < 200; i++ {
		if _, err := w.AddCheckpoint(ctx, 0, nil, unknown); !errors.Is(err, ErrUnknownLog) {
			t.Fatalf("a checkpoint of a log the witness doesn't witness: %v", err)
		}
		if _, err := w.AddCheckpoint(ctx, 5, nil, bad); !errors.Is(err, ErrSignature) {
			t.Fatalf("a bad signature: %v", err)
		}
		if _, err := w.AddCheckpoint(ctx, 5, nil, many); !errors.Is(err, ErrSignature) {
			t.Fatalf("90 bad signature lines after a good one: %v", err)
		}
		rec := httptest.NewRecorder()
		w.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/"+strings.Repeat("ab", 32)+"/checkpoint", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("a monitor's GET for an unknown log: %d", rec.Code)
		}
		if _, err := w.AddCheckpoint(ctx, 5, nil, signed); err != nil {
			t.Fatalf("a replay of the accepted checkpoint: %v", err)
		}
	}
	if after := dirDigest(t, dir); !maps.Equal(before, after) {
		t.Fatalf("the witness's directory changed under submissions without the log's key:\nbefore %v\nafter  %v", before, after)
	}
}

// dirDigest maps each file under dir to its contents' SHA-256.
func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m[p] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
