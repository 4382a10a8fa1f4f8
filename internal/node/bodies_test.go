package node

import (
	"encoding/json"
	"io"
	"net/http"
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
