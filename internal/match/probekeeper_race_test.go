package match

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// saveHook is a ProbeKeeper that runs before once, just before its first
// save: another member's save between this one's read and write.
type saveHook struct {
	ProbeKeeper
	before func()
}

func (h *saveHook) SaveProbe(ctx context.Context, state []byte) error {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.ProbeKeeper.SaveProbe(ctx, state)
}

// TestProbeKeptConcurrentSavesMerge: two members of a fleet save the kept
// probe at the same moment, the second writing between the first's read
// and its write. The first's write used to replace the value whole, so
// the second's time (here the apart that holds the guard for the fleet)
// was lost; a write now only replaces the value it read, and otherwise
// reads again, merges and writes that.
func TestProbeKeptConcurrentSavesMerge(t *testing.T) {
	url := startNATS(t)
	const name = "probe_race"
	ctx := context.Background()
	warn := func(err error) { t.Error(err) }
	now := time.Now().UTC().Round(0)
	ta, tb := now.Add(-2*time.Second), now.Add(-time.Second)
	a, b := &Probe{}, &Probe{}
	a.Keep(probeKeeper(t, url, name), warn)
	b.Keep(&saveHook{ProbeKeeper: probeKeeper(t, url, name), before: func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.apart = ta
		a.save(ctx)
	}}, warn)
	b.mu.Lock()
	b.fresh = tb
	b.save(ctx)
	b.mu.Unlock()

	raw, err := probeKeeper(t, url, name).LoadProbe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var st probeState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if !st.Apart.Equal(ta) || !st.Fresh.Equal(tb) {
		t.Errorf("kept apart %v, fresh %v; want %v (the other member's) and %v", st.Apart, st.Fresh, ta, tb)
	}
}
