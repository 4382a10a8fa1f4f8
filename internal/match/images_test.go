package match

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/pdq"
)

// TestImages hashes a test image, plants its hash (with a few bits
// flipped, as a re-encoded copy would have) as a pdq indicator, and checks
// that the image is sighted within radius 31 and not at radius 2.
func TestImages(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pdq", "images")
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	var img string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && img == "" && !d.IsDir() && (strings.HasSuffix(p, ".jpg") || strings.HasSuffix(p, ".png")) {
			if fi, err := d.Info(); err == nil && fi.Size() > 10000 {
				img = p
			}
		}
		return nil
	})
	if img == "" {
		t.Fatalf("no PDQ image over 10 kB in %s", dir)
	}
	h, _, err := pdq.HashFile(img, pdq.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	near := h
	near[0] ^= 0x0f // four bits away
	other := pdq.Hash{^h[0], ^h[1], ^h[2], ^h[3]}
	inds := []*Indicator{
		{ID: "indicator--near", Pattern: near.String(), PatternType: "pdq"},
		{ID: "indicator--far", Pattern: other.String(), PatternType: "pdq"},
		{ID: "indicator--bad", Pattern: "not-a-hash", PatternType: "pdq"},
		{ID: "indicator--stix", Pattern: "[file:name = 'x']"},
	}
	x, errs := NewImageIndex(inds)
	if len(errs) != 1 || errs[0].ID != "indicator--bad" || x.Len() != 2 {
		t.Fatalf("errs %v, len %d", errs, x.Len())
	}
	if got := x.Match(h, 31); len(got) != 1 || got[0].ID != "indicator--near" {
		t.Fatalf("radius 31: %v", got)
	}
	if got := x.Match(h, 2); len(got) != 0 {
		t.Fatalf("radius 2: %v", got)
	}
	m := NewMatcher(nil, Config{Now: func() time.Time { return testNow }})
	m.Sighted(x.Match(h, 31), time.Time{})
	m.Sighted(x.Match(other, 0), time.Time{})
	m.Sighted(x.Match(near, 31), time.Time{})
	out := m.Flush()
	if len(out) != 2 || out[0]["sighting_of_ref"] != "indicator--far" || out[1]["count"] != int64(2) {
		t.Fatalf("sightings %v", out)
	}
}

// TestImageIndexQuality: both readers of indicators take x_pdq_quality;
// the index leaves out a quality below 50, reports an invalid one and an
// upper-case pattern, and matches an indicator without quality.
func TestImageIndexQuality(t *testing.T) {
	const hash = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22"
	doc := `{"type":"bundle","objects":[
{"type":"indicator","id":"indicator--good","pattern":"` + hash + `","pattern_type":"pdq","x_pdq_quality":100},
{"type":"indicator","id":"indicator--none","pattern":"` + hash + `","pattern_type":"pdq"},
{"type":"indicator","id":"indicator--low","pattern":"` + hash + `","pattern_type":"pdq","x_pdq_quality":49},
{"type":"indicator","id":"indicator--bad","pattern":"` + hash + `","pattern_type":"pdq","x_pdq_quality":100.5},
{"type":"indicator","id":"indicator--text","pattern":"` + hash + `","pattern_type":"pdq","x_pdq_quality":"100"},
{"type":"indicator","id":"indicator--upper","pattern":"` + strings.ToUpper(hash) + `","pattern_type":"pdq","x_pdq_quality":100}]}`
	fast, err := ReadIndicators(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var objs struct{ Objects []map[string]any }
	if err := json.Unmarshal([]byte(doc), &objs); err != nil {
		t.Fatal(err)
	}
	var slow []*Indicator
	for _, o := range objs.Objects {
		ind, _, err := ParseIndicator(o)
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, ind)
	}
	for name, inds := range map[string][]*Indicator{"ReadIndicators": fast, "ParseIndicator": slow} {
		x, errs := NewImageIndex(inds)
		var bad []string
		for _, e := range errs {
			bad = append(bad, e.ID)
		}
		sort.Strings(bad)
		if strings.Join(bad, " ") != "indicator--bad indicator--text indicator--upper" {
			t.Errorf("%s: reported %v", name, bad)
		}
		if low := x.LowQuality(); len(low) != 1 || low[0].ID != "indicator--low" || low[0].Quality != 49 {
			t.Errorf("%s: low quality %v", name, low)
		}
		h, _ := pdq.ParseHash(hash)
		var got []string
		for _, ind := range x.Match(h, 0) {
			got = append(got, ind.ID)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != "indicator--good indicator--none" {
			t.Errorf("%s: matched %v", name, got)
		}
	}
}
