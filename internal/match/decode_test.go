package match

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// describe renders an event's objects and fields, one per line, for golden
// comparison.
func describe(e *Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event %s %s\n", e.Format, e.Time().Format(time.RFC3339Nano))
	for i, o := range e.Objects {
		fmt.Fprintf(&b, "  %d %s\n", i, o.Type)
		for _, f := range e.Fields {
			if f.Obj != i {
				continue
			}
			switch attrInfos[f.Attr].kind {
			case vkRef, vkRefs:
				fmt.Fprintf(&b, "    %s -> %d\n", f.Attr, f.Ref)
			default:
				fmt.Fprintf(&b, "    %s = %q\n", f.Attr, f.Value)
			}
		}
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestDecoders decodes sample logs written from each format's
// documentation, line by line both with the format given and detected, and
// compares the observables with golden files.
func TestDecoders(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
	}{
		{"zeek.log", FormatZeek},
		{"eve.json", FormatEVE},
		{"ecs.json", FormatECS},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "logs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var outs [2]string
			for i, f := range []Format{tc.format, FormatAuto} {
				d := NewDecoder(f)
				var b strings.Builder
				sc := bufio.NewScanner(bytes.NewReader(data))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					evs, err := d.Decode(sc.Bytes())
					if err != nil {
						t.Fatalf("line %q: %v", sc.Text(), err)
					}
					for _, e := range evs {
						b.WriteString(describe(e))
					}
				}
				outs[i] = b.String()
			}
			if outs[0] != outs[1] {
				t.Errorf("detected format decodes differently:\n%s\nvs\n%s", outs[0], outs[1])
			}
			checkGolden(t, tc.file+".golden", outs[0])
		})
	}
}

func TestDecodeSTIXBundle(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "logs", "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := NewDecoder(FormatSTIX).Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(describe(e))
	}
	checkGolden(t, "bundle.json.golden", b.String())
}

func TestDecodeMalformed(t *testing.T) {
	for _, line := range []string{
		`{"ts":1591367999.3,"id.orig_h":"1.2.3.4"`,
		`{"ts":1591367999.3,"id.orig_h":"1.2.3.4"} trailing`,
		`{"ts":1591367999.3,"query":"a.example","answers":["1.2.3.4",]}`,
		`{"ts":1591367999.3,"query":"a.example\x"}`,
		`{"ts":tru}`,
		`["ts"]`,
		`{"ts":1591367999.3,"query":"unterminated}`,
		`{"ts":1591367999.3,"nested":{"a":[1,2,{"b":-}]}}`,
		`plain text that is not json`,
		`{"event_type":"dns","dns":{"rrname":"x.example"},}`,
		`{"type":"observed-data","first_observed":"not a time","object_refs":[]}`,
	} {
		d := NewDecoder(FormatAuto)
		if _, err := d.Decode([]byte(line)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q) = %v, want ErrMalformed", line, err)
		}
	}
	// A deeply nested line is refused, not a stack overflow.
	deep := `{"ts":1,"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	if _, err := NewDecoder(FormatZeek).Decode([]byte(deep)); !errors.Is(err, ErrMalformed) {
		t.Errorf("deep nesting: %v, want ErrMalformed", err)
	}
}

func TestDecodeEscapes(t *testing.T) {
	d := NewDecoder(FormatZeek)
	evs, err := d.Decode([]byte(`{"ts":1.5,"query":"b\u00fccher.EXAMPLE","answers":["\u0031.2.3.4"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := describe(evs[0])
	for _, want := range []string{`domain-name:value = "xn--bcher-kva.example"`, `ipv4-addr:value = "1.2.3.4"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

// FuzzDecode checks that no line makes a decoder panic or produce a field
// whose value is not normalised.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"zeek.log", "eve.json", "ecs.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "logs", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			f.Add(l)
		}
	}
	for _, name := range []string{"eve-beats/eve-dns-4.1.4.log", "ecs-beats/nested.ndjson"} {
		for _, l := range bytes.Split(readSample(f, name), []byte("\n")) {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d := NewDecoder(FormatAuto)
		detected := d.Detect(line)
		evs, err := d.Decode(line)
		if err != nil {
			return
		}
		for _, e := range evs {
			// Decode and Detect tell formats by the same rule.
			if e.Format != FormatSTIX && e.Format != detected {
				t.Fatalf("decoded as %v, detected as %v", e.Format, detected)
			}
			for _, fl := range e.Fields {
				if fl.Obj < 0 || fl.Obj >= len(e.Objects) {
					t.Fatalf("field %v names object %d of %d", fl.Attr, fl.Obj, len(e.Objects))
				}
				if fl.Attr == AttrDomain {
					if _, ok := e.normDomain(fl.Value); !ok {
						t.Fatalf("domain %q is not normal", fl.Value)
					}
				}
			}
			e.Observation()
		}
	})
}

func TestParseTime(t *testing.T) {
	var c timeCache
	for _, tc := range []struct{ in, want string }{
		{"2009-11-24T21:27:09.534255+0100", "2009-11-24T20:27:09.534255Z"},
		{"2009-11-24T21:27:10.5+0100", "2009-11-24T20:27:10.5Z"},
		{"2024-03-01T10:00:00.123Z", "2024-03-01T10:00:00.123Z"},
		{"2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"},
		{"2024-03-01T00:30:00-05:30", "2024-03-01T06:00:00Z"},
		{"2024-02-30T10:00:00Z", ""},
		{"2024-13-01T10:00:00Z", ""},
		{"2024-03-01T10:61:00Z", ""},
		{"2024-03-01T10:00:00", ""},
		{"2024-03-01T10:00:00.Z", ""},
	} {
		got, ok := c.parse([]byte(tc.in))
		if tc.want == "" {
			if ok {
				t.Errorf("parse(%q) = %v, want failure", tc.in, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("parse(%q) = %v %v, want %s", tc.in, got.Format(time.RFC3339Nano), ok, tc.want)
		}
	}
}

func TestCanonicalIPv4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"1.2.3.4", true}, {"255.255.255.255", true}, {"0.0.0.0", true}, {"10.0.0.10", true},
		{"256.1.1.1", false}, {"01.2.3.4", false}, {"1.2.3", false}, {"1.2.3.4.5", false},
		{"1..3.4", false}, {"1.2.3.4 ", false}, {"1234.1.1.1", false}, {"a.b.c.d", false}, {"1.2.3.", false},
	} {
		if got := canonicalIPv4([]byte(tc.in)); got != tc.want {
			t.Errorf("canonicalIPv4(%q) = %v", tc.in, got)
		}
		if tc.want {
			var e Event
			if n, v6, ok := e.normIP([]byte(tc.in)); !ok || v6 || string(n) != tc.in {
				t.Errorf("normIP(%q) = %q %v %v", tc.in, n, v6, ok)
			}
		}
	}
}
