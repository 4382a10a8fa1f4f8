package match

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// wrccdcLines returns the WRCCDC Zeek logs (testdata/sensors/zeek-wrccdc)
// as lines, in TSV (headers included) or in JSON, the same records.
func wrccdcLines(b *testing.B, json bool) (lines [][]byte, records int, size int) {
	for _, name := range wrccdcLogs {
		file := "zeek-wrccdc/" + name + ".log.gz"
		if json {
			file = "zeek-wrccdc/" + name + ".json.gz"
		}
		data := readSample(b, file)
		size += len(data)
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			if l[0] != '#' {
				records++
			}
			lines = append(lines, l)
		}
	}
	return lines, records, size
}

// bestRecordRate runs fn over lines `rounds` times and returns the best
// rate in records per second.
func bestRecordRate(lines [][]byte, records, rounds int, fn func([]byte)) float64 {
	best := 0.0
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for _, l := range lines {
			fn(l)
		}
		if rate := float64(records) / time.Since(start).Seconds(); rate > best {
			best = rate
		}
	}
	return best
}

// BenchmarkZeekTSVvsJSON decodes the same 11,536 Zeek records (dns, ssl,
// x509, smtp of a real capture) from Zeek's TSV and from its JSON, full
// events, alternating the two, best of 7: the goal is TSV at least as
// fast as JSON (ratio-tsv/json ≥ 1).
func BenchmarkZeekTSVvsJSON(b *testing.B) {
	tsv, n, tsvBytes := wrccdcLines(b, false)
	js, n2, jsBytes := wrccdcLines(b, true)
	if n != n2 {
		b.Fatalf("%d TSV records, %d JSON", n, n2)
	}
	for i := 0; i < b.N; i++ {
		var tsvRate, jsRate float64
		for r := 0; r < 7; r++ {
			dt := NewDecoder(FormatAuto)
			tsvRate = max(tsvRate, bestRecordRate(tsv, n, 1, func(l []byte) { dt.Decode(l) }))
			dj := NewDecoder(FormatAuto)
			jsRate = max(jsRate, bestRecordRate(js, n, 1, func(l []byte) { dj.Decode(l) }))
		}
		b.ReportMetric(tsvRate, "tsv-records/s")
		b.ReportMetric(jsRate, "json-records/s")
		b.ReportMetric(tsvRate/jsRate, "ratio-tsv/json")
		b.ReportMetric(float64(tsvBytes)/float64(n), "tsv-bytes/record")
		b.ReportMetric(float64(jsBytes)/float64(n), "json-bytes/record")
	}
}

// BenchmarkZeekMixed1e5: match throughput on the real mixed Zeek set (the
// WRCCDC logs in TSV and in JSON, 23,072 records) against 1e5 indicators
// (domains, addresses, CIDR ranges, certificate hashes and mail addresses;
// some of the domains and addresses occur in the logs) over decode-only
// throughput of the same lines, full events: the goal is ≥ 0.5.
func BenchmarkZeekMixed1e5(b *testing.B) {
	tsv, n, _ := wrccdcLines(b, false)
	js, n2, _ := wrccdcLines(b, true)
	lines := append(append([][]byte(nil), tsv...), js...)
	records := n + n2
	var inds []*Indicator
	real := []string{"[domain-name:value = 'ise.wrccdc.org']", "[ipv4-addr:value = '134.71.3.16']",
		"[ipv6-addr:value ISSUBSET '2620:df:8000::/48']", "[email-addr:value = 'nessus49048747@hotmail.com']",
		"[x509-certificate:hashes.'SHA-256' = 'b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe']"}
	for i := 0; len(inds) < 100000; i++ {
		var p string
		switch i % 5 {
		case 0:
			p = fmt.Sprintf("[domain-name:value = 'bad%d.threat%d.example']", i, i%997)
		case 1:
			p = fmt.Sprintf("[ipv4-addr:value = '198.%d.%d.%d']", (i>>16)&255, (i>>8)&255, i&255)
		case 2:
			p = fmt.Sprintf("[ipv4-addr:value ISSUBSET '203.%d.%d.0/24']", (i>>8)&255, i&255)
		case 3:
			p = fmt.Sprintf("[email-addr:value = 'user%d@spam%d.example']", i, i%101)
		default:
			p = fmt.Sprintf("[x509-certificate:hashes.'SHA-256' = '%064x']", i)
		}
		if i < len(real) {
			p = real[i]
		}
		inds = append(inds, &Indicator{ID: fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i), Pattern: p})
	}
	e, errs := Compile(inds, Options{})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	for i := 0; i < b.N; i++ {
		var decRate, matchRate float64
		var matched int64
		for r := 0; r < 5; r++ {
			d := NewDecoder(FormatAuto)
			decRate = max(decRate, bestRecordRate(lines, records, 1, func(l []byte) { d.Decode(l) }))
			m := NewMatcher(e, Config{})
			matchRate = max(matchRate, bestRecordRate(lines, records, 1, m.Line))
			matched = m.Stats().Matched
		}
		b.ReportMetric(decRate, "decode-records/s")
		b.ReportMetric(matchRate, "match-records/s")
		b.ReportMetric(matchRate/decRate, "ratio-match/decode")
		b.ReportMetric(float64(matched), "matched-records")
	}
}
