package match

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// ErrPush is wrapped by [Push]'s errors: the node could not be reached,
// or refused some of the objects.
var ErrPush = errors.New("couldn't push the sightings")

// pushBatch keeps envelopes well below the node's default limits.
const pushBatch = 1000

// Push signs every object with the Parley signature extension
// (stix.Sign) and posts them to the collection. The sightings and
// observed-data name their creator (created_by_ref, the member whose key
// this is); the observables that observed-data refers to carry no creator,
// and the node accepts such an object only when it is signed by the
// member who sends it, so they are signed too: a node never stores
// observed-data whose observables it refused. The key never appears in
// errors.
func Push(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any) error {
	raw := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPush, err)
		}
		if b, err = stix.Sign(b, key); err != nil {
			return fmt.Errorf("%w: %v", ErrPush, err)
		}
		raw = append(raw, b)
	}
	for start := 0; start < len(raw); start += pushBatch {
		end := min(start+pushBatch, len(raw))
		st, err := client.AddObjects(ctx, collectionID, raw[start:end])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPush, err)
		}
		if st.FailureCount > 0 {
			msg := ""
			if len(st.Failures) > 0 {
				msg = " (" + st.Failures[0].Message + ")"
			}
			return fmt.Errorf("%w: the node refused %d of %d objects%s", ErrPush, st.FailureCount, end-start, msg)
		}
	}
	return nil
}
