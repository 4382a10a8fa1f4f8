package match

import (
	"context"
	sha "crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ProbeBucket is the JetStream key-value bucket where the members of a
// matcher fleet keep their [Probe] (see [JetStreamProbeKeeper]). An
// operator whose members may not create buckets creates it beforehand
// (nats kv add parley_probes --history 1 --max-value-size 131072).
const ProbeBucket = "parley_probes"

// ProbeKey names the [Probe] of a member's pushes, signed with the key
// whose public key is pub, to one collection of the node at url: every
// member of a fleet that pushes so shares it (the probe is an object
// that key signed, which the node answers "already stored" to that
// member only).
func ProbeKey(url, collectionID string, pub []byte) string {
	h := sha.New()
	fmt.Fprintf(h, "%s\n%s\n", url, collectionID)
	h.Write(pub)
	return "probe_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// jetStreamProbeKeeper is a [ProbeKeeper] in a JetStream key-value
// bucket.
type jetStreamProbeKeeper struct {
	kv  jetstream.KeyValue
	key string
	// mu guards rev, the revision of the value last read (0: none):
	// SaveProbe replaces only that one, so that what another member
	// wrote between this member's read and write is not lost.
	mu  sync.Mutex
	rev uint64
}

// errProbeChanged is SaveProbe's error when another member wrote the
// value after this one read it: [Probe] reads it again, merges and saves.
var errProbeChanged = errors.New("another member changed the kept probe meanwhile")

// JetStreamProbeKeeper returns a [ProbeKeeper] that keeps a probe under
// key (see [ProbeKey]) in the [ProbeBucket] of js, which it creates (one
// value a key, in file storage, values of at most 128 KiB) when it does
// not exist. The state lives as long as the bucket: a member that
// starts again, and every other member of its fleet, read it at their
// next push.
func JetStreamProbeKeeper(ctx context.Context, js jetstream.JetStream, key string) (ProbeKeeper, error) {
	kv, err := js.KeyValue(ctx, ProbeBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      ProbeBucket,
			Description: "parley match fleet: the object each member last had the node take, to probe it with (see parley's README)",
			History:     1,
			Storage:     jetstream.FileStorage,
			// The server refuses a larger value from any writer: a
			// member reads the whole value before it can bound it.
			MaxValueSize: probeValueMax,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, ProbeBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't open the key-value bucket %s: %w", ProbeBucket, err)
	}
	return &jetStreamProbeKeeper{kv: kv, key: key}, nil
}

func (k *jetStreamProbeKeeper) LoadProbe(ctx context.Context) ([]byte, error) {
	e, err := k.kv.Get(ctx, k.key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		k.rev = 0
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k.rev = e.Revision()
	return e.Value(), nil
}

// SaveProbe writes state in place of the value LoadProbe last read (or
// where there was none), and fails with errProbeChanged when another
// member wrote one since.
func (k *jetStreamProbeKeeper) SaveProbe(ctx context.Context, state []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var rev uint64
	var err error
	if k.rev == 0 {
		rev, err = k.kv.Create(ctx, k.key, state)
	} else {
		rev, err = k.kv.Update(ctx, k.key, state, k.rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("%w: %w", errProbeChanged, err)
	}
	if err != nil {
		return err
	}
	k.rev = rev
	return nil
}
