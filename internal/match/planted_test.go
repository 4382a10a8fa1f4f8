package match

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestPlantedIndicators is the black-box check in miniature: Zeek and EVE
// logs are generated with indicator values planted in known records (in
// varied spellings, and beside decoys that must not match), and every
// sighting's count must equal the number of records the generator planted
// for it.
func TestPlantedIndicators(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	type planted struct {
		pattern string
		spell   []string // spellings that must match
		decoy   []string // values that must not
		kind    string   // domain, ip, url, md5
	}
	plants := []planted{
		{"[domain-name:value = 'c2.evil.example']", []string{"c2.evil.example", "C2.Evil.Example", "c2.evil.example."}, []string{"www.c2.evil.example", "c2.evil.example.org", "c2-evil.example"}, "domain"},
		{"[ipv4-addr:value = '203.0.113.66']", []string{"203.0.113.66"}, []string{"203.0.113.6", "203.0.113.166"}, "ip"},
		{"[ipv6-addr:value = '2001:db8::66']", []string{"2001:db8::66", "2001:DB8:0:0:0:0:0:66"}, []string{"2001:db8::67"}, "ip"},
		{"[url:value = 'http://dl.evil.example/a/payload.exe']", []string{"http://dl.evil.example/a/payload.exe", "http://DL.evil.example/a/./payload.exe"}, []string{"http://dl.evil.example/a/payload.exe2"}, "url"},
		{"[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']", []string{"44d88612fea8a8f36de82e1278abb02f", "44D88612FEA8A8F36DE82E1278ABB02F"}, []string{"44d88612fea8a8f36de82e1278abb020"}, "md5"},
	}
	var inds []*Indicator
	for i, p := range plants {
		inds = append(inds, &Indicator{ID: fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i), Pattern: p.pattern})
	}
	want := make([]int64, len(plants))
	var log bytes.Buffer
	benign := func() string { return fmt.Sprintf("host%d.benign.example", r.Intn(1000)) }
	ip := func() string { return fmt.Sprintf("10.%d.%d.%d", r.Intn(256), r.Intn(256), r.Intn(256)) }
	for n := 0; n < 5000; n++ {
		k := r.Intn(len(plants))
		p := plants[k]
		val := ""
		mode := r.Intn(10)
		switch {
		case mode == 0:
			val = p.spell[r.Intn(len(p.spell))]
			want[k]++
		case mode == 1:
			val = p.decoy[r.Intn(len(p.decoy))]
		}
		eve := r.Intn(2) == 0
		ts := 1700000000 + n
		switch {
		case val == "" || p.kind == "domain" && !eve:
			q := benign()
			if val != "" {
				q = val
			}
			if eve {
				fmt.Fprintf(&log, `{"timestamp":"2023-11-14T22:13:20.%06d+0000","event_type":"dns","src_ip":"%s","src_port":5353,"dest_ip":"%s","dest_port":53,"proto":"UDP","dns":{"type":"query","rrname":"%s","rrtype":"A"}}`+"\n", n, ip(), ip(), q)
			} else {
				fmt.Fprintf(&log, `{"ts":%d.5,"uid":"C%d","id.orig_h":"%s","id.orig_p":5353,"id.resp_h":"%s","id.resp_p":53,"proto":"udp","query":"%s","answers":["%s"]}`+"\n", ts, n, ip(), ip(), q, ip())
			}
		case p.kind == "domain":
			fmt.Fprintf(&log, `{"timestamp":"2023-11-14T22:13:20.%06d+0000","event_type":"tls","src_ip":"%s","src_port":443,"dest_ip":"%s","dest_port":443,"proto":"TCP","tls":{"sni":"%s","version":"TLS 1.3"}}`+"\n", n, ip(), ip(), val)
		case p.kind == "ip":
			if eve {
				fmt.Fprintf(&log, `{"timestamp":"2023-11-14T22:13:20.%06d+0000","event_type":"flow","src_ip":"%s","src_port":1234,"dest_ip":"%s","dest_port":443,"proto":"TCP"}`+"\n", n, ip(), val)
			} else {
				fmt.Fprintf(&log, `{"ts":%d.5,"uid":"C%d","id.orig_h":"%s","id.orig_p":1234,"id.resp_h":"%s","id.resp_p":443,"proto":"tcp","conn_state":"SF"}`+"\n", ts, n, val, ip())
			}
		case p.kind == "url":
			host, path, _ := strings.Cut(strings.TrimPrefix(val, "http://"), "/")
			if eve {
				fmt.Fprintf(&log, `{"timestamp":"2023-11-14T22:13:20.%06d+0000","event_type":"http","src_ip":"%s","src_port":1234,"dest_ip":"%s","dest_port":80,"proto":"TCP","http":{"hostname":"%s","url":"/%s","http_method":"GET"}}`+"\n", n, ip(), ip(), host, path)
			} else {
				fmt.Fprintf(&log, `{"ts":%d.5,"uid":"C%d","id.orig_h":"%s","id.orig_p":1234,"id.resp_h":"%s","id.resp_p":80,"method":"GET","host":"%s","uri":"/%s"}`+"\n", ts, n, ip(), ip(), host, path)
			}
		case p.kind == "md5":
			if eve {
				fmt.Fprintf(&log, `{"timestamp":"2023-11-14T22:13:20.%06d+0000","event_type":"fileinfo","src_ip":"%s","src_port":80,"dest_ip":"%s","dest_port":1234,"proto":"TCP","fileinfo":{"filename":"/x.bin","md5":"%s","size":10}}`+"\n", n, ip(), ip(), val)
			} else {
				fmt.Fprintf(&log, `{"ts":%d.5,"fuid":"F%d","tx_hosts":["%s"],"rx_hosts":["%s"],"source":"HTTP","mime_type":"application/octet-stream","md5":"%s","total_bytes":10}`+"\n", ts, n, ip(), ip(), val)
			}
		}
	}
	for i, w := range want {
		if w == 0 {
			t.Fatalf("nothing planted for %s", plants[i].pattern)
		}
	}
	for _, full := range []bool{false, true} { // the masked and the full decoder
		e, errs := Compile(inds, Options{})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		m := NewMatcher(e, Config{ObservedData: full})
		if err := m.ReadLines(context.Background(), bytes.NewReader(log.Bytes())); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, o := range m.Flush() {
			if o["type"] == "sighting" {
				got[o["sighting_of_ref"].(string)] = o["count"].(int64)
			}
		}
		for i, ind := range inds {
			if got[ind.ID] != want[i] {
				t.Errorf("full=%v %s: count %d, planted %d", full, ind.Pattern, got[ind.ID], want[i])
			}
		}
		if s := m.Stats(); s.Events != 5000 || s.Malformed != 0 {
			t.Errorf("stats %+v", s)
		}
	}
}
