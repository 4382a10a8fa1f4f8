package match

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readSample returns a file under testdata/sensors, gunzipped if its name
// ends in .gz.
func readSample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sensors", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

var wrccdcLogs = []string{"dns", "ssl", "x509", "smtp"}

// TestZeekTSVRealSamples matches Zeek's default TSV output of a real
// capture (WRCCDC 2018, see testdata/sensors/SOURCES.md), the four logs
// concatenated as `cat *.log` would (each with its own header), against
// indicators whose expected counts were worked out from the Zeek log
// documentation by testdata/sensors/zeek-wrccdc/expect.py, not by this
// code: a record counts when a field that the Zeek docs say holds that
// observable (query, answers, server_name, san.*, cert_chain_fps,
// fingerprint, id.*_h, mailfrom, rcptto, from, to, ...) has the value.
func TestZeekTSVRealSamples(t *testing.T) {
	var all []byte
	for _, name := range wrccdcLogs {
		all = append(all, readSample(t, "zeek-wrccdc/"+name+".log.gz")...)
	}
	want := map[string]int64{
		"[domain-name:value = 'ise.wrccdc.org']":         2224 + 291 + 1,
		"[domain-name:value = 'ise.wrccdc.cpp.edu']":     2224 + 1,
		"[ipv4-addr:value = '134.71.3.16']":              1500 + 291,
		"[ipv6-addr:value ISSUBSET '2620:df:8000::/48']": 724,
		"[ipv4-addr:value ISSUBSET '10.47.0.0/16']":      4792 + 4998 + 1188,
		"[x509-certificate:hashes.'SHA-256' = 'b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe']": 896 + 1,
		"[email-addr:value = 'nessus49048747@hotmail.com']":                                                        5,
		"[domain-name:value = 'ise.wrccdc.org' AND domain-name:value != 'x.example']":                              2224 + 291 + 1,
	}
	for _, f := range []Format{FormatZeek, FormatAuto} {
		if st := matchCounts(t, f.String(), want, f, string(all)); st.Events != 5000+5000+348+1188 || st.Malformed != 0 || st.Errors != 0 {
			t.Errorf("%v: stats %+v, want 11536 events, none malformed", f, st)
		}
	}
}

// TestZeekTSVJSONTwins decodes each WRCCDC log in Zeek's TSV and in its
// JSON twin (the same Zeek run's JSON streaming logs, ISO 8601 time
// stamps): every record must give the same event, time included.
func TestZeekTSVJSONTwins(t *testing.T) {
	for _, name := range wrccdcLogs {
		tsv := readSample(t, "zeek-wrccdc/"+name+".log.gz")
		js := readSample(t, "zeek-wrccdc/"+name+".json.gz")
		var a, b []string
		for _, c := range []struct {
			data []byte
			out  *[]string
		}{{tsv, &a}, {js, &b}} {
			d := NewDecoder(FormatAuto)
			for _, line := range bytes.Split(c.data, []byte("\n")) {
				evs, err := d.Decode(line)
				if err != nil {
					t.Fatalf("%s: %v: %q", name, err, line)
				}
				for _, e := range evs {
					*c.out = append(*c.out, describe(e))
				}
			}
		}
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d TSV events, %d JSON events", name, len(a), len(b))
		}
		diffs := 0
		for i := range a {
			if a[i] != b[i] && diffs < 3 {
				diffs++
				t.Errorf("%s record %d:\nTSV:\n%s\nJSON:\n%s", name, i, a[i], b[i])
			}
		}
		// The same sightings, through the matcher.
		pats := []string{"[domain-name:value = 'ise.wrccdc.org']", "[ipv4-addr:value ISSUBSET '10.47.0.0/16']", "[ipv6-addr:value ISSUBSET '2620:df:8000::/48']"}
		ct, _ := runPatterns(t, pats, FormatZeek, string(tsv))
		cj, _ := runPatterns(t, pats, FormatZeek, string(js))
		for _, p := range pats {
			if ct[p] != cj[p] {
				t.Errorf("%s: %s: TSV %d, JSON %d", name, p, ct[p], cj[p])
			}
		}
	}
}

// TestZeekTSVHeaders covers the header directives on Zeek's own test
// baselines (testdata/sensors/zeek-baseline) and hand-made edge cases.
func TestZeekTSVHeaders(t *testing.T) {
	// ascii-escape: "#separator ||", a value with the separator escaped.
	d := NewDecoder(FormatAuto)
	var addrs int
	for _, line := range bytes.Split(readSample(t, "zeek-baseline/scripts.base.frameworks.logging.ascii-escape_ssh.log"), []byte("\n")) {
		evs, err := d.Decode(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for _, e := range evs {
			for _, f := range e.Fields {
				if f.Attr == AttrIPv4 {
					addrs++
				}
			}
		}
	}
	if addrs != 10 { // five records, 1.2.3.4 and 2.3.4.5 each
		t.Errorf("ascii-escape: %d addresses, want 10", addrs)
	}

	// Escapes in values, sets, (empty), unset, a second log with a new
	// separator, #close, and records of a log with no known field.
	log := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n" +
		"#fields\tts\tquery\tanswers\tid.orig_h\n#types\ttime\tstring\tvector[string]\taddr\n" +
		"1591367999.305988\tevil\\x2eexample\ta.example,192.0.2.1,b\\x2cc.example\t10.0.0.1\n" +
		"1591367999.5\t-\t(empty)\t::ffff:10.0.0.2\n" +
		"#close\t2020-06-05-14-40-00\n" +
		"#separator \\x7c\n#set_separator|;\n#empty_field|EMPTY\n#unset_field|NONE\n" +
		"#fields|ts|server_name|cert_chain_fps\n#types|time|string|vector[string]\n" +
		"1591368000.0|tls.example|" + strings.Repeat("ab", 32) + ";" + strings.Repeat("cd", 32) + "\n" +
		"1591368001.0|NONE|EMPTY\n" +
		"#close|x\n"
	d = NewDecoder(FormatAuto)
	var got []string
	for _, line := range strings.Split(log, "\n") {
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for _, e := range evs {
			got = append(got, describe(e))
		}
	}
	checkGolden(t, "zeek_tsv_headers.txt", strings.Join(got, ""))
	// A data line after #close, or before any #fields, is malformed.
	if _, err := d.Decode([]byte("1591368001.0|x.example|EMPTY")); err == nil {
		t.Error("a record after #close decoded")
	}
	if _, err := NewDecoder(FormatZeek).Decode([]byte("1591368001.0\tx.example")); err == nil {
		t.Error("a record without a header decoded")
	}
	// A record shorter than its header is malformed.
	d = NewDecoder(FormatZeek)
	d.Decode([]byte("#separator \\x09"))
	d.Decode([]byte("#fields\tts\tuid\tquery"))
	if _, err := d.Decode([]byte("1.0\tC1")); err == nil {
		t.Error("a short record decoded")
	}
	// With --format eve a TSV line is malformed, not skipped.
	if _, err := NewDecoder(FormatEVE).Decode([]byte("#separator \\x09")); err == nil {
		t.Error("EVE decoder took a Zeek header")
	}
}

// TestZeekBaselines decodes every Zeek test baseline kept in testdata and
// checks the events' observables against a golden file.
func TestZeekBaselines(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "sensors", "zeek-baseline", "*.log"))
	if err != nil || len(names) == 0 {
		t.Fatal("no baselines", err)
	}
	var b strings.Builder
	for _, path := range names {
		name := filepath.Base(path)
		b.WriteString("== " + name + "\n")
		d := NewDecoder(FormatAuto)
		for _, line := range bytes.Split(readSample(t, "zeek-baseline/"+name), []byte("\n")) {
			evs, err := d.Decode(line)
			if err != nil {
				t.Errorf("%s: %v: %q", name, err, line)
				continue
			}
			for _, e := range evs {
				b.WriteString(describe(e))
			}
		}
	}
	checkGolden(t, "zeek_baselines.txt", b.String())
}

// FuzzZeekTSV: any input decodes or fails with ErrMalformed, line by line,
// without panicking; header lines never yield events.
func FuzzZeekTSV(f *testing.F) {
	f.Add([]byte("#separator \\x09\n#set_separator\t,\n#fields\tts\tquery\tanswers\n#types\ttime\tstring\tvector[string]\n1.5\tevil.example\ta,b\\x2c\n#close\tx\n"))
	f.Add([]byte("#separator ||\n#fields||t||id.orig_h\n1||1.2.3.4\n"))
	f.Add([]byte("#separator \\x\n#fields\n\n\t\t\n#types\tvector[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(FormatAuto)
		for _, line := range bytes.Split(data, []byte("\n")) {
			evs, err := d.Decode(line)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%q: %v does not wrap ErrMalformed", line, err)
				}
				continue
			}
			if len(bytes.TrimSpace(line)) > 0 && line[0] == '#' && len(evs) > 0 {
				t.Fatalf("header %q gave events", line)
			}
			for _, e := range evs {
				e.Time()
			}
		}
	})
}

// TestZeekTSVEngineChange: a matcher that changes engines in the middle
// of a TSV log (a poll brought new indicators, so the decoder's field
// mask changes and the columns are looked up again) goes on reading the
// log under the header it read long before, from another reader whose
// buffer the first one's bytes are no longer in.
func TestZeekTSVEngineChange(t *testing.T) {
	var b strings.Builder
	b.WriteString("#separator \\x09\n#fields\tts\tid.orig_h\tquery\n#types\ttime\taddr\tstring\n")
	for i := 0; i < 5000; i++ {
		b.WriteString("1591367999.5\t10.0.0.1\tevil.example\n")
	}
	compile := func(p string) *Engine {
		e, errs := Compile([]*Indicator{{ID: "indicator--" + p[1:5], Pattern: p}}, Options{})
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		return e
	}
	m := NewMatcher(compile("[domain-name:value = 'evil.example']"), Config{})
	if err := m.ReadLines(context.Background(), strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	m.SetEngine(compile("[ipv4-addr:value = '10.0.0.1']"))
	rest := strings.Repeat("1591368000.5\t10.0.0.1\tother.example\n", 3000)
	if err := m.ReadLines(context.Background(), strings.NewReader(rest)); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.Events != 8000 || st.Malformed != 0 || st.Matched != 8000 {
		t.Errorf("stats %+v; want 8000 events, all matched", st)
	}
}

// TestZeekRealNotNames: in the WRCCDC logs 130 DNS queries are "*" and 6
// TLS server names are IP literals (counted by reading the logs, see
// expect.py's helpers); none of them may become a domain-name.
func TestZeekRealNotNames(t *testing.T) {
	for _, name := range []string{"dns", "ssl"} {
		d := NewDecoder(FormatAuto)
		for _, line := range bytes.Split(readSample(t, "zeek-wrccdc/"+name+".log.gz"), []byte("\n")) {
			evs, err := d.Decode(line)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				for _, f := range e.Fields {
					if f.Attr != AttrDomain {
						continue
					}
					if _, err := netip.ParseAddr(string(f.Value)); err == nil || bytes.ContainsRune(f.Value, '*') {
						t.Fatalf("%s: domain-name %q", name, f.Value)
					}
				}
			}
		}
	}
}
