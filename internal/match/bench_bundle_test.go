package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"
	"time"
)

// bundleShapes are the ways tools write a STIX bundle: compact (Go's
// encoding/json, Parley), spaced (Python's json.dumps defaults, ", " and
// ": " on one line: MISP's misp-stix without indent), and pretty-printed
// with four spaces (the stix2 library's serialize(pretty=True), OpenCTI
// exports, misp-stix with indent=4).
var bundleShapes = []string{"compact", "spaced", "pretty"}

// bundleBytes writes n indicators of [realisticIndicator] as one bundle
// in the given shape, an object at a time (the whole bundle is the only
// large allocation).
func bundleBytes(n int, shape string) []byte {
	r := rand.New(rand.NewSource(11))
	var out bytes.Buffer
	out.Grow(n * 1500)
	sep := map[string][3]string{
		"compact": {`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`, ",", "]}\n"},
		"spaced":  {`{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [`, ", ", "]}\n"},
		"pretty":  {"{\n    \"type\": \"bundle\",\n    \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\n    \"objects\": [\n        ", ",\n        ", "\n    ]\n}\n"},
	}[shape]
	out.WriteString(sep[0])
	var obj, tmp bytes.Buffer
	enc := json.NewEncoder(&obj)
	enc.SetEscapeHTML(false)
	for i := 0; i < n; i++ {
		if i > 0 {
			out.WriteString(sep[1])
		}
		obj.Reset()
		if err := enc.Encode(realisticIndicator(i, r)); err != nil {
			panic(err)
		}
		compact := bytes.TrimSuffix(obj.Bytes(), []byte("\n"))
		switch shape {
		case "compact":
			out.Write(compact)
		case "spaced":
			out.Write(spaceJSON(compact))
		case "pretty":
			tmp.Reset()
			json.Indent(&tmp, compact, "        ", "    ")
			out.Write(tmp.Bytes())
		}
	}
	out.WriteString(sep[2])
	return out.Bytes()
}

// spaceJSON puts a space after every ',' and ':' outside strings, as
// Python's json.dumps does by default.
func spaceJSON(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	inStr, esc := false, false
	for _, c := range b {
		out = append(out, c)
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return out
}

// realisticIndicator returns indicator i with the properties sharing
// platforms give them (name, description, labels, indicator types, kill
// chain phases, an external reference, creator and TLP marking), their
// patterns a mix of domains, addresses, URLs and file hashes: about 900
// bytes each when compact, 1,450 pretty-printed.
func realisticIndicator(i int, r *rand.Rand) map[string]any {
	var pattern, name string
	switch i % 4 {
	case 0:
		d := fmt.Sprintf("bad%d.threat%d.example", i, i%997)
		pattern, name = fmt.Sprintf("[domain-name:value = '%s']", d), d
	case 1:
		a := fmt.Sprintf("198.%d.%d.%d", 18+r.Intn(2), r.Intn(256), r.Intn(256))
		pattern, name = fmt.Sprintf("[ipv4-addr:value = '%s']", a), a
	case 2:
		u := fmt.Sprintf("http://c2-%d.example.net/gate.php?id=%d", i, r.Intn(1e6))
		pattern, name = fmt.Sprintf("[url:value = '%s']", u), u
	default:
		h := fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		pattern, name = fmt.Sprintf("[file:hashes.'SHA-256' = '%s']", h), h
	}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"type": "indicator", "spec_version": "2.1",
		"id":      fmt.Sprintf("indicator--%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Intn(1<<16), r.Intn(1<<12), r.Intn(1<<12), r.Int63n(1<<48)),
		"created": ts, "modified": ts, "valid_from": ts,
		"created_by_ref":      "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
		"name":                name,
		"description":         "Seen in the phishing campaign of week 12; shared by the national CERT under TLP:GREEN.",
		"indicator_types":     []string{"malicious-activity"},
		"labels":              []string{"phishing", "campaign-week-12"},
		"pattern":             pattern,
		"pattern_type":        "stix",
		"pattern_version":     "2.1",
		"kill_chain_phases":   []map[string]string{{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}},
		"external_references": []map[string]string{{"source_name": "misp", "external_id": fmt.Sprintf("5758ebf5-c898-48e6-9fe9-%012x", i)}},
		"object_marking_refs": []string{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"},
	}
}

// BenchmarkBundleLoad measures issue 15's goal: loading an indicator bundle
// as other tools write it (compact, spaced or pretty-printed JSON; 1e5 and
// 1e6 indicators) at ≥ 0.5× the bytes per second at which the matcher
// decodes sensor JSON. The denominator is the fastest of: the generated
// Zeek/EVE stream of the other benchmarks, and the real Zeek JSON logs of
// the WRCCDC capture, each fully decoded (every attribute); the bundle is
// read by ReadIndicators from memory. Both sides are the best of five,
// alternated, on one core (GOMAXPROCS 1), in CPU time (user and system,
// which a loaded machine disturbs less than wall time). PARLEY_BENCH_BUNDLE_1E6=0 leaves out the
// 1e6 bundles (about 2 GB of memory).
func BenchmarkBundleLoad(b *testing.B) {
	generated := benchStream(200000, benchDomains(1000))
	real, _, _ := wrccdcLines(b, true)
	dec := NewDecoder(FormatAuto)
	decodeRate := func(lines [][]byte) float64 {
		size := 0
		for _, l := range lines {
			size += len(l) + 1
		}
		start := cpuTime()
		for _, l := range lines {
			dec.Decode(l)
		}
		return float64(size) / (cpuTime() - start).Seconds()
	}
	sizes := []int{100000, 1000000}
	if os.Getenv("PARLEY_BENCH_BUNDLE_1E6") == "0" {
		sizes = sizes[:1]
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for i := 0; i < b.N; i++ {
		for _, n := range sizes {
			for _, shape := range bundleShapes {
				data := bundleBytes(n, shape)
				var load, decode float64
				for rep := 0; rep < 5; rep++ {
					runtime.GC()
					start := cpuTime()
					inds, err := ReadIndicators(bytes.NewReader(data))
					el := cpuTime() - start
					if err != nil || len(inds) != n {
						b.Fatalf("%s, %d: read %d indicators: %v", shape, n, len(inds), err)
					}
					load = max(load, float64(len(data))/el.Seconds())
					inds = nil
					runtime.GC()
					decode = max(decode, decodeRate(generated), decodeRate(real))
				}
				tag := fmt.Sprintf("%s-%.0e", shape, float64(n))
				b.ReportMetric(float64(len(data))/1e6, "bundle-MB-"+tag)
				b.ReportMetric(load/1e6, "load-MB/s-"+tag)
				b.ReportMetric(decode/1e6, "decode-MB/s-"+tag)
				b.ReportMetric(load/decode, "ratio-load/decode-"+tag)
			}
		}
	}
}

// TestBundleShapes checks the benchmark's inputs: each shape is valid JSON
// (pretty is exactly what encoding/json's indenter makes of compact) and
// ReadIndicators reads the same indicators, patterns and validity from
// every shape.
func TestBundleShapes(t *testing.T) {
	const n = 64
	var want []string
	for _, shape := range bundleShapes {
		data := bundleBytes(n, shape)
		if !json.Valid(data) {
			t.Fatalf("%s: not JSON:\n%s", shape, data[:min(len(data), 400)])
		}
		if shape == "pretty" {
			var ind bytes.Buffer
			json.Indent(&ind, bytes.TrimSpace(bundleBytes(n, "compact")), "", "    ")
			if !bytes.Equal(bytes.TrimSpace(data), ind.Bytes()) {
				t.Errorf("pretty differs from the indented compact bundle")
			}
		}
		inds, err := ReadIndicators(bytes.NewReader(data))
		if err != nil || len(inds) != n {
			t.Fatalf("%s: %d indicators, %v", shape, len(inds), err)
		}
		var got []string
		for _, ind := range inds {
			got = append(got, ind.ID+" "+ind.Pattern+" "+ind.ValidFrom.String())
		}
		if want == nil {
			want = got
		} else if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s reads differently from compact:\n%v\n%v", shape, got[:2], want[:2])
		}
	}
}

// TestReadAll reads the same bytes through every path of readAll: a file,
// a reader that tells its length, and a pipe-like reader of unknown size
// (empty, one chunk, and several chunks of growing sizes).
func TestReadAll(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 20, 1<<20 + 1, 7<<20 + 12345} {
		data := make([]byte, n)
		rand.New(rand.NewSource(int64(n))).Read(data)
		path := filepath.Join(t.TempDir(), "b")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for name, r := range map[string]io.Reader{
			"file":    f,
			"length":  bytes.NewReader(data),
			"unknown": struct{ io.Reader }{iotest.HalfReader(bytes.NewReader(data))},
		} {
			got, err := readAll(r)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%d bytes from %s: got %d bytes, %v", n, name, len(got), err)
			}
		}
	}
	if _, err := readAll(iotest.TimeoutReader(bytes.NewReader(make([]byte, 3<<20)))); err == nil {
		t.Error("a read error was not returned")
	}
}
