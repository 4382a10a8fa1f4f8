package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/taxii"
)

// TestPushSeparatingOverQuota: a fleet member whose sightings go over
// its storage quota (507, "storage quota exceeded") has none of them set
// apart as objects the node refuses for what they are. The quota is the
// member's state, not the objects': raised, it takes them. Before, the
// halves that fit were stored, each object of the rest failed alone
// (507) twice, the probe (an object already stored, which needs no more
// bytes) was taken, and the rest were reported as poison: a fleet
// member dead-lettered and acknowledged good sightings.
func TestPushSeparatingOverQuota(t *testing.T) {
	const quota = 12000
	ln := newLimitNode(t, Config{MemberQuotaBytes: quota})
	var objs []map[string]any
	for i := range 16 {
		objs = append(objs, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": fmt.Sprintf("indicator--%08d-0000-4000-8000-00000000ffff", i),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": ln.alice.ID, "name": "quota", "description": strings.Repeat("x", 800),
			"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
			"valid_from": "2026-01-01T00:00:00Z",
		})
	}
	client := &taxii.Client{BaseURL: ln.URL, Token: ln.alice.Token}
	refused, err := match.PushSeparating(context.Background(), client, ln.one, ln.alice.Key, objs)
	if len(refused) != 0 {
		t.Errorf("%d objects set apart as refused for what they are (%s), want none: the member is over its quota", len(refused), refused[0].Reason)
	}
	if !errors.Is(err, taxii.ErrInsufficientStorage) || !errors.Is(err, match.ErrPush) {
		t.Errorf("error %v, want the node's 507", err)
	}
}
