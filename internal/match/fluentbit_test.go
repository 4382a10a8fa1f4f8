package match

import (
	"bytes"
	"fmt"
	"testing"
)

// fluentBitSamples are batches as Fluent Bit's nats output writes them,
// and near misses that the fast reader must judge as encoding/json does.
var fluentBitSamples = []string{
	`[[1457993268, {"tag":"zeek.dns","log":"{\"ts\":1.5,\"query\":\"evil.example\"}"}]]`,
	`[[1457993268.25, {"tag":"eve","event_type":"dns","dns":{"rrname":"evil.example"}}], [1457993269, {"log":"line two"}]]`,
	`[[1457993268.25,{"tag":"eve","log":"a\tb \u00e9 \u0041"}],[1,{"log":""}]]`,
	`[[1, {"log":"x","tag":"t","path":"/var/log/zeek/dns.log"}]]`,
	`[[1, {"log":"x","tag":"t","tag":"u"}]]`,
	`[[1, {"log":"x","log":"y"}]]`,
	`[[1, {"log":null}]]`,
	`[[1, {"log":7,"tag":"t"}]]`,
	`[[1, {"l\u006fg":"x"}]]`,
	`[[1, {"log":"\ud83d\ude00"}]]`,
	`[[1, {"log":"\ud83d"}]]`,
	`[[1, {"log":"caf` + "\xc3\xa9" + `"}]]`,
	`[[1, {"log":"bad ` + "\xff" + `"}]]`,
	`[[1, {"log":"raw` + "\x01" + `control"}]]`,
	`[[1e999, {"log":"x"}]]`,
	`[[1e3, {"log":"x"}]]`,
	`[[-0, {"log":"x"}]]`,
	`[[01, {"log":"x"}]]`,
	`[[1, {}]]`,
	`[[1, {"a":1,}]]`,
	`[[1, {"a":[1,{"b":"c"}]}], [2, {"tag":"t"}]]`,
	` [ [ 1 , { "log" : "spaced" } ] ] `,
	`[[1, {"log":"x"}], 7]`,
	`[[1, {"log":"x"}]] trailing`,
	`[[1, {"log":"x"}, 3]]`,
	`[[1]]`,
	`[["x", {"log":"a"}]]`,
	`[[1, 2]]`,
	`[{"type":"observed-data"}]`,
	`[]`,
	`{"ts":1.5,"query":"evil.example"}`,
	``,
	`[`,
	`[[1, {"log":"x"`,
	`[[1, {"tag":"t","log":"{\"a\":\"b\\/c\\\\d\"}\b\f\n\r\t\/"}]]`,
	`[[1, {"log":"01234567\"9abcdef\\0123456\"\"\"\"\"\"\"\"x"}]]`,
	`[[1, {"log":"\uD7FF \uE000 \u0000 \uFFFF"}]]`,
	`[[1, {"log":"\uDFFF"}]]`,
	`[[1, {"log":"\u00zz"}]]`,
	`[[1, {"log":"\u00"}]]`,
	`[[1, {"log":"\x"}]]`,
	`[[1, {"log":"ends with a backslash\`,
	`[[1, {"log":"\"unterminated}]]`,
}

// TestFluentBitFastAgrees: on every sample (and on a large generated
// batch) the fast reader returns what encoding/json's reading returns.
func TestFluentBitFastAgrees(t *testing.T) {
	var big bytes.Buffer
	big.WriteByte('[')
	for i, l := range benchStream(500, nil) {
		if i > 0 {
			big.WriteByte(',')
		}
		if i%2 == 0 {
			fmt.Fprintf(&big, `[%d.%03d,%s]`, 1700000000+i, i%1000, l)
		} else {
			fmt.Fprintf(&big, `[%d,{"tag":"zeek","log":%q}]`, 1700000000+i, l)
		}
	}
	big.WriteByte(']')
	var r fluentBitReader
	for _, in := range append(fluentBitSamples, big.String()) {
		want, wantOK := fluentBitRecordsGeneral([]byte(in))
		got, ok := r.records([]byte(in))
		if ok != wantOK || !sameRecords(got, want) {
			t.Errorf("%.80q: fast %v %q, encoding/json %v %q", in, ok, got, wantOK, want)
		}
	}
	// The generated batch takes the fast path.
	if _, _, sure := r.fast(big.Bytes()); !sure {
		t.Error("a compact batch fell back to encoding/json")
	}
}

func sameRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// FuzzFluentBitFast: wherever the fast reader is sure, it agrees with
// encoding/json; and records (fast or not) always does.
func FuzzFluentBitFast(f *testing.F) {
	for _, s := range fluentBitSamples {
		f.Add([]byte(s))
	}
	var r fluentBitReader
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantOK := fluentBitRecordsGeneral(data)
		recs, ok, sure := r.fast(data)
		if sure && (ok != wantOK || !sameRecords(recs, want)) {
			t.Fatalf("%q: fast %v %q, encoding/json %v %q", data, ok, recs, wantOK, want)
		}
		got, ok := r.records(data)
		if ok != wantOK || !sameRecords(got, want) {
			t.Fatalf("%q: records %v %q, encoding/json %v %q", data, ok, got, wantOK, want)
		}
	})
}
