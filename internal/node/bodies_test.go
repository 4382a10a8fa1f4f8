package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// longValues is a POST /private/sets body of n bytes, made as it is read:
// a values list whose one string goes on and on.
type longValues struct {
	head string
	n    int64
}

func (l *longValues) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.n)]
	k := copy(p, l.head)
	l.head = l.head[k:]
	for i := k; i < len(p); i++ {
		p[i] = 'a'
	}
	l.n -= int64(len(p))
	return len(p), nil
}

// TestPublishBodyBounded: a POST /private/sets body over maxPublishBody
// is answered 413 naming the bound. It was cut quietly at the bound and
// answered 400, "unexpected EOF", as if the client had sent broken JSON.
func TestPublishBodyBounded(t *testing.T) {
	fn := newFrontNode(t, nil)
	body := &longValues{head: `{"collection":"` + fn.coll + `","values":["ipv4-addr:`, n: maxPublishBody + 1<<20}
	resp, b := fn.do(t, http.MethodPost, "/private/sets", "Bearer "+fn.alice.Token, body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body of %d MiB: %d %.300s, want 413", (maxPublishBody+1<<20)>>20, resp.StatusCode, b)
	}
	var e taxii.Error
	if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Description, "larger than 64 MiB") {
		t.Errorf("413 without a TAXII error naming the 64 MiB bound: %s", b)
	}
}

// TestDataDirFilesBounded: config.json and the node's key files, which
// the operator owns, are read up to a bound that fits any real one; a
// larger one (here sparse, 1 GiB: a log copied over it) fails naming the
// bound instead of being read whole. LoadConfig read it whole before
// checking its size, LoadPrivateConfig and Open's key reads did not check.
func TestDataDirFilesBounded(t *testing.T) {
	ctx := context.Background()
	huge := func(path string) {
		t.Helper()
		if err := os.Truncate(path, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if _, err := Init(ctx, dir, testStoreConfig(t), nil); err != nil {
		t.Fatal(err)
	}
	huge(filepath.Join(dir, KeyFile))
	if _, err := Open(ctx, dir, Options{}); err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("Open with a 1 GiB node.key = %v, want an error naming 64 KiB", err)
	}
	huge(filepath.Join(dir, ConfigFile))
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("LoadConfig of a 1 GiB config.json = %v, want an error naming 1 MiB", err)
	}
	if _, err := LoadPrivateConfig(dir); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("LoadPrivateConfig of a 1 GiB config.json = %v, want an error naming 1 MiB", err)
	}
}
