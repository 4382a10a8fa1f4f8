package witness

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWithNewCheckpoint: AddCheckpoint calls the context's hook for a
// log's first checkpoint and for one that grew its tree, through the
// handler too, but not for a checkpoint it had accepted submitted again
// (cosigned all the same), nor for a refused one.
func TestWithNewCheckpoint(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	w := openWitness(t, t.TempDir(), "witness.example/w", l)
	h := l.newHistory(t, "a", 0, 3)
	calls := 0
	ctx := WithNewCheckpoint(context.Background(), func() { calls++ })
	first := h.sign(t)
	if _, err := w.AddCheckpoint(ctx, 0, nil, first); err != nil || calls != 1 {
		t.Fatalf("the log's first checkpoint: %v, hook called %d times, want 1", err, calls)
	}
	if _, err := w.AddCheckpoint(ctx, 3, nil, first); err != nil || calls != 1 {
		t.Fatalf("the checkpoint submitted again: %v, hook called %d times, want still 1", err, calls)
	}
	grown := h.grow(t, 2)
	if _, err := w.AddCheckpoint(ctx, 2, nil, grown); !errors.As(err, new(*ConflictError)) || calls != 1 {
		t.Fatalf("a stale old size: %v, hook called %d times, want still 1", err, calls)
	}
	// Through the handler, whose request context carries the hook.
	for i, body := range []string{string(MarshalAddCheckpoint(3, h.proof(t, 3, 5), grown)), string(MarshalAddCheckpoint(5, nil, grown))} {
		req := httptest.NewRequest("POST", "/add-checkpoint", strings.NewReader(body)).WithContext(ctx)
		rec := httptest.NewRecorder()
		w.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || calls != 2 {
			t.Fatalf("request %d through the handler: %d %q, hook called %d times, want 2", i+1, rec.Code, rec.Body, calls)
		}
	}
}
