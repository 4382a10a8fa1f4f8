package match

// The Suricata export against a real Suricata: the rules must load
// (`suricata -T`) and, run over captures (`suricata -r`), exactly the
// rules that should fire must fire. The captures are suricata-verify's
// (testdata/suricata-real/SOURCES.md) where one holds the traffic, and
// written here otherwise: upper-case names, a Host header with a port,
// an encoded request target, near misses, single packets per address.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// suricataInstallHint is how to get a Suricata that these tests accept.
const suricataInstallHint = "install Suricata 7.0.3 or later; on Debian bookworm: " +
	"echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list && " +
	"apt-get update && apt-get install -y -t bookworm-backports suricata"

// suricataBinary returns the suricata on PATH. Without one (or with one
// older than 7.0.3, which lacks to_lowercase) the test skips, loudly;
// where PARLEY_SURICATA_REQUIRED is set (.ci/run sets it once it has
// installed Suricata) it fails instead.
func suricataBinary(t *testing.T) string {
	t.Helper()
	stop := func(why string) { t.Helper(); t.Skip("SKIP LOUDLY: " + why) }
	if os.Getenv("PARLEY_SURICATA_REQUIRED") != "" {
		stop = func(why string) { t.Helper(); t.Fatal(why + " (PARLEY_SURICATA_REQUIRED is set)") }
	}
	bin, err := exec.LookPath("suricata")
	if err != nil {
		stop("suricata not installed: the Suricata export was checked by the grammar checker only; " + suricataInstallHint)
		return ""
	}
	out, err := exec.Command(bin, "-V").CombinedOutput()
	m := regexp.MustCompile(`version (\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if err != nil || m == nil {
		t.Fatalf("suricata -V: %v\n%s", err, out)
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	if v[0] < 7 || v[0] == 7 && v[1] == 0 && v[2] < 3 {
		stop(fmt.Sprintf("suricata %d.%d.%d is older than 7.0.3, which the export needs; %s", v[0], v[1], v[2], suricataInstallHint))
	}
	return bin
}

// writeSuricataExport writes the export's files and a configuration that
// loads its rules into a new directory and returns the configuration's
// path. The configuration is the least Suricata runs with, plus what
// SuricataDatasets asks of it: every application-layer parser keeps its
// default (enabled), EVE logs alerts, and, with forceHash, the files
// output forces every hash (without force-hash Suricata computes one hash
// algorithm per rule group, so only the filesha256, say, rules match).
func writeSuricataExport(t *testing.T, files []SuricataFile, forceHash bool) (dir, conf string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf = filepath.Join(dir, "suricata.yaml")
	yaml := fmt.Sprintf(`%%YAML 1.1
---
default-rule-path: %s
rule-files:
  - parley.rules
app-layer:
  protocols:
    http:
      libhtp:
        default-config:
          personality: IDS
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
`, dir)
	if forceHash {
		yaml += "        - files:\n            force-hash: [md5, sha1, sha256]\n"
	}
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

// suricataRules returns parley.rules, which SuricataDatasets puts last.
func suricataRules(t *testing.T, files []SuricataFile) []byte {
	t.Helper()
	if len(files) == 0 || files[len(files)-1].Name != "parley.rules" {
		t.Fatal("the export does not end with parley.rules")
	}
	return files[len(files)-1].Data
}

var suricataLoadedRe = regexp.MustCompile(`(\d+) rules successfully loaded, (\d+) rules failed`)

// suricataLoads runs `suricata -T` (load the configuration and rules,
// then exit) and fails unless every rule of rules loaded.
func suricataLoads(t *testing.T, bin string, args []string, rules []byte) {
	t.Helper()
	args = append([]string{"-T", "-v", "--init-errors-fatal"}, args...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("suricata %s refused the export: %v\n%s", strings.Join(args, " "), err, out)
	}
	m := suricataLoadedRe.FindSubmatch(out)
	want := bytes.Count(rules, []byte("\n"))
	if m == nil || string(m[1]) != strconv.Itoa(want) || string(m[2]) != "0" {
		t.Fatalf("suricata %s: want %d rules loaded and 0 failed:\n%s", strings.Join(args, " "), want, out)
	}
}

// TestSuricataLoadsExport loads the export of the golden indicators
// (every case TestExport pins) into Suricata, under the minimal
// configuration and under the distribution's own suricata.yaml.
func TestSuricataLoadsExport(t *testing.T) {
	bin := suricataBinary(t)
	vals, _ := ExportValues(loadExportIndicators(t, filepath.Join("testdata", "export", "indicators.json")))
	files, _ := SuricataDatasets(vals, 9100000)
	dir, conf := writeSuricataExport(t, files, true)
	rules := suricataRules(t, files)
	suricataLoads(t, bin, []string{"-c", conf, "-l", t.TempDir()}, rules)
	// -S loads only the given rules file; datasets and hash lists are
	// found beside it.
	if _, err := os.Stat("/etc/suricata/suricata.yaml"); err == nil {
		suricataLoads(t, bin, []string{"-c", "/etc/suricata/suricata.yaml", "-S", filepath.Join(dir, "parley.rules"), "-l", t.TempDir()}, rules)
	}
}

// realIndicators are the indicators TestSuricataRealTraffic exports,
// by name (realIndicatorID gives each its id). The captures in
// testdata/suricata-real hold suricon.net (DNS),
// fkp.samsungcloudsolution.com (TLS SNI, 192.168.0.43 to
// 18.138.183.195:443), http://d.adm.fi/test (87.108.18.34:80, a 15-byte
// file of MD5 e19c1283...), http://[::1]:8000/ (a 563-byte file of
// SHA-256 fa5f9163...) and an FTP download (MD5 c7d0a1ea...); the rest
// is traffic the test writes.
var realIndicators = []struct{ name, pattern string }{
	{"dns domain", "[domain-name:value = 'suricon.net']"},
	{"sni domain", "[domain-name:value = 'FKP.SamsungCloudSolution.com.']"},
	{"http host domain", "[domain-name:value = 'd.adm.fi']"},
	{"synthetic domain", "[domain-name:value = 'evil.example']"},
	{"http server", "[ipv4-addr:value = '87.108.18.34']"},
	{"synthetic v4", "[ipv4-addr:value = '203.0.113.66']"},
	{"mapped", "[ipv6-addr:value = '::ffff:10.0.0.2']"},
	{"loopback v6", "[ipv6-addr:value = '::1']"},
	{"synthetic v6", "[ipv6-addr:value = '2001:db8::1']"},
	{"tls server range", "[ipv4-addr:value ISSUBSET '18.138.183.0/24']"},
	{"v6 range", "[ipv6-addr:value ISSUBSET '2a04:4e42::/32']"},
	{"md5", "[file:hashes.MD5 = 'E19C1283C925B3206685FF522ACFE3E6']"},
	{"sha256", "[file:hashes.'SHA-256' = 'fa5f9163d70db9934196ce8880dd8f9e1c184e927b52e07491cbac8cccb2be9c']"},
	{"sha1", "[file:hashes.'SHA-1' = '" + suricataFileSHA1 + "']"},
	{"ftp md5", "[file:hashes.MD5 = 'c7d0a1ea4ab73fa3e7cd72fc1eb5b492']"},
	{"url", "[url:value = 'http://d.adm.fi/test']"},
	{"url other path", "[url:value = 'http://d.adm.fi/other']"},
	{"url other port", "[url:value = 'http://d.adm.fi:8080/test']"},
	{"url port", "[url:value = 'http://evil.example:8081/p%20q']"},
	{"url normalised", "[url:value = 'http://Evil.Example/a/../x.php?q=%41b']"},
	{"url reserved bytes", "[url:value = 'http://203.0.113.9/a;b%22c|d']"},
	{"url encoded slash", "[url:value = 'http://evil.example/a%2Fb']"},
	{"url encoded slash, dot segment", "[url:value = 'http://evil.example/e%2Ff/../g%2e%2e/h']"},
	{"url idn", "[url:value = 'http://B\u00fccher.example/stra\u00dfe']"},
}

// suricataFile is the file whose SHA-1 is listed; the written traffic
// sends it as an HTTP response body and as a mail attachment.
// suricataFileSHA1 is printf 'parley test file\n' | sha1sum.
const (
	suricataFile     = "parley test file\n"
	suricataFileSHA1 = "04a8b1a0def2660220cdbd068026045344b6250e"
)

func realIndicatorID(name string) string {
	for i, r := range realIndicators {
		if r.name == name {
			return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i+1)
		}
	}
	panic("no indicator " + name)
}

func realIndicatorBundle(t *testing.T) []*Indicator {
	t.Helper()
	objs := []map[string]any{}
	for _, r := range realIndicators {
		objs = append(objs, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": realIndicatorID(r.name),
			"created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
			"name": r.name, "pattern": r.pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
		})
	}
	data, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objs})
	if err != nil {
		t.Fatal(err)
	}
	active := activeIndicators(t, bytes.NewReader(data))
	if len(active) != len(realIndicators) {
		t.Fatalf("%d indicators active, want %d", len(active), len(realIndicators))
	}
	return active
}

// The rules' messages, less "Parley: ".
const (
	sDNS      = "DNS query for a listed domain"
	sSNI      = "TLS SNI of a listed domain"
	sHost     = "HTTP host of a listed domain"
	sFrom4    = "traffic from a listed IPv4 address"
	sTo4      = "traffic to a listed IPv4 address"
	sFrom6    = "traffic from a listed IPv6 address"
	sTo6      = "traffic to a listed IPv6 address"
	sFromCIDR = "traffic from a listed address range"
	sToCIDR   = "traffic to a listed address range"
	sMD5      = "file with a listed MD5 over http"
	sSHA1     = "file with a listed SHA1 over http"
	sSHA256   = "file with a listed SHA256 over http"
	sSHA1SMTP = "file with a listed SHA1 over smtp"
	sMD5FTP   = "file with a listed MD5 over ftp-data"
)

func sURL(name string) string { return "URL of " + realIndicatorID(name) }

// TestSuricataRealTraffic exports realIndicators, loads the export into
// Suricata and runs Suricata over each capture: the rules that alert must
// be exactly the ones listed, so a rule that misses and a rule that
// misfires both fail.
func TestSuricataRealTraffic(t *testing.T) {
	bin := suricataBinary(t)
	vals, bad := ExportValues(realIndicatorBundle(t))
	files, sbad := SuricataDatasets(vals, 1)
	for _, u := range append(bad, sbad...) {
		t.Errorf("%s unrepresentable: %s", u.ID, u.Reason)
	}
	_, conf := writeSuricataExport(t, files, true)
	_, confNoForce := writeSuricataExport(t, files, false)
	rules := suricataRules(t, files)
	suricataLoads(t, bin, []string{"-c", conf, "-l", t.TempDir()}, rules)
	sidOf := map[int]string{}
	for _, m := range regexp.MustCompile(`msg:"Parley: ([^"]*)"; .*sid:(\d+);`).FindAllStringSubmatch(string(rules), -1) {
		sid, _ := strconv.Atoi(m[2])
		sidOf[sid] = m[1]
	}

	client4, client6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::2")
	web := netip.MustParseAddr("192.0.2.80")
	type capture struct {
		name    string
		file    string            // a capture in testdata/suricata-real, or
		write   func(*pcapWriter) // one written here
		noForce bool              // run without force-hash
		want    []string
	}
	captures := []capture{
		{name: "dns query (suricata-verify)", file: "dns-suricon-net.pcap", want: []string{sDNS}},
		{name: "tls sni (suricata-verify)", file: "tls-sni-samsungcloud.pcap", want: []string{sSNI, sFromCIDR, sToCIDR}},
		{name: "http file (suricata-verify)", file: "http-file-d-adm-fi.pcap", want: []string{sHost, sFrom4, sTo4, sMD5, sURL("url")}},
		{name: "http over ipv6 (suricata-verify)", file: "http-ipv6-loopback.pcap", want: []string{sFrom6, sTo6, sSHA256}},
		{name: "http over ipv6 without force-hash: SHA-256 still matches", file: "http-ipv6-loopback.pcap", noForce: true, want: []string{sFrom6, sTo6, sSHA256}},
		{name: "ftp download (suricata-verify)", file: "ftp-download-passive.pcap", want: []string{sMD5FTP}},

		{name: "dns query in upper case", write: func(w *pcapWriter) {
			w.udp(client4, netip.MustParseAddr("192.0.2.53"), 40000, 53, dnsQuery(1, "EVIL.Example"))
		}, want: []string{sDNS}},
		{name: "dns near misses", write: func(w *pcapWriter) {
			for i, n := range []string{"www.evil.example", "evil.example.com", "evil-example", "vil.example"} {
				w.udp(client4, netip.MustParseAddr("192.0.2.53"), uint16(40001+i), 53, dnsQuery(uint16(2+i), n))
			}
		}},
		{name: "http Host in upper case, ending in the root's dot", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40217, 80, "GET /nothing HTTP/1.1\r\nHost: EVIL.example.\r\n\r\n", "ok")
		}, want: []string{sHost}},
		{name: "tls sni in upper case", write: func(w *pcapWriter) {
			c := w.tcp(client4, web, 40100, 443)
			c.send(true, tlsClientHello("Evil.EXAMPLE"))
			c.close()
		}, want: []string{sSNI}},
		{name: "tls sni near miss", write: func(w *pcapWriter) {
			c := w.tcp(client4, web, 40101, 443)
			c.send(true, tlsClientHello("evil.example.net"))
			c.close()
		}},
		{name: "http url with its port, Host with port and upper case", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40200, 8081, "GET /p%20q HTTP/1.1\r\nHost: Evil.Example:8081\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url port")}},
		{name: "http url in absolute form, as a client sends it to a proxy", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40209, 8081, "GET http://EVIL.example:8081/p%20q HTTP/1.1\r\nHost: EVIL.example:8081\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url port")}},
		{name: "http url in absolute form, to a proxy on another port", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40210, 3128, "GET http://EVIL.example:8081/p%20q HTTP/1.1\r\nHost: EVIL.example:8081\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url port")}},
		{name: "http port-80 url in absolute form, to a proxy", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40211, 8080, "GET http://d.adm.fi/test HTTP/1.1\r\nHost: d.adm.fi\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url")}},
		{name: "http port-80 url in absolute form naming port 80, to a proxy", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40218, 8080, "GET http://d.adm.fi:80/test HTTP/1.1\r\nHost: d.adm.fi\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url")}},
		{name: "http url in absolute form, to a proxy, other port", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40212, 3128, "GET http://evil.example:8082/p%20q HTTP/1.1\r\nHost: evil.example:8082\r\n\r\n", "ok")
		}, want: []string{sHost}},
		{name: "http url on another port", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40201, 80, "GET /p%20q HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost}},
		{name: "http url encoded and with dot segments", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40202, 80, "GET /a/../x.php?q=%41b HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url normalised")}},
		{name: "http url as normalised", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40203, 80, "GET /x.php?q=Ab HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url normalised")}},
		{name: "http same host, longer path", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40204, 80, "GET /x.php?q=Abc HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost}},
		{name: "http other host, same path", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40205, 80, "GET /x.php?q=Ab HTTP/1.1\r\nHost: www.evil.example\r\n\r\n", "ok")
		}},
		{name: "http url with an encoded slash", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40210, 80, "GET /a%2Fb HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url encoded slash")}},
		{name: "http url with the slash the encoded one stands for (the same http.uri)", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40211, 80, "GET /a/b HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url encoded slash")}},
		{name: "http url with a backslash and doubled slashes", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40214, 80, "GET /a\\/b HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url encoded slash")}},
		{name: "http url near miss, slash kept encoded twice", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40215, 80, "GET /a%252Fb HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost}},
		{name: "http url of an internationalised host, as the client sends it", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40216, 80, "GET /stra%C3%9Fe HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n", "ok")
		}, want: []string{sURL("url idn")}},
		{name: "http url with an encoded slash in a removed segment", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40212, 80, "GET /e%2Ff/../g%2e%2e/h HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url encoded slash, dot segment")}},
		{name: "http url after normalisation", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40213, 80, "GET /e/./f/%2e%2e/g../h HTTP/1.1\r\nHost: evil.example\r\n\r\n", "ok")
		}, want: []string{sHost, sURL("url encoded slash, dot segment")}},
		{name: "http url with reserved bytes", write: func(w *pcapWriter) {
			httpExchange(w, client4, netip.MustParseAddr("203.0.113.9"), 40206, 80, "GET /a;b%22c|d HTTP/1.1\r\nHost: 203.0.113.9\r\n\r\n", "ok")
		}, want: []string{sURL("url reserved bytes")}},
		{name: "http file with a listed SHA-1", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40207, 80, "GET /f HTTP/1.1\r\nHost: files.example\r\n\r\n", suricataFile)
		}, want: []string{sSHA1}},
		{name: "http file near miss", write: func(w *pcapWriter) {
			httpExchange(w, client4, web, 40208, 80, "GET /f HTTP/1.1\r\nHost: files.example\r\n\r\n", suricataFile+" ")
		}},
		{name: "mail with a listed attachment", write: func(w *pcapWriter) {
			smtpMail(w, client4, netip.MustParseAddr("192.0.2.25"), 40400, suricataFile)
		}, want: []string{sSHA1SMTP}},
		{name: "mail attachment near miss", write: func(w *pcapWriter) {
			smtpMail(w, client4, netip.MustParseAddr("192.0.2.25"), 40401, suricataFile+" ")
		}},
		{name: "to a listed IPv4 address", write: func(w *pcapWriter) {
			w.udp(client4, netip.MustParseAddr("203.0.113.66"), 40300, 9999, []byte("x"))
		}, want: []string{sTo4}},
		{name: "from an IPv4 address listed as IPv4-mapped IPv6", write: func(w *pcapWriter) {
			w.udp(netip.MustParseAddr("10.0.0.2"), client4, 40301, 9999, []byte("x"))
		}, want: []string{sFrom4}},
		{name: "from a listed IPv6 address", write: func(w *pcapWriter) {
			w.udp(netip.MustParseAddr("2001:db8::1"), client6, 40302, 9999, []byte("x"))
		}, want: []string{sFrom6}},
		{name: "to a listed IPv4 range", write: func(w *pcapWriter) {
			w.udp(client4, netip.MustParseAddr("18.138.183.7"), 40303, 9999, []byte("x"))
		}, want: []string{sToCIDR}},
		{name: "from a listed IPv6 range", write: func(w *pcapWriter) {
			w.udp(netip.MustParseAddr("2a04:4e42::5"), client6, 40304, 9999, []byte("x"))
		}, want: []string{sFromCIDR}},
		{name: "address near misses", write: func(w *pcapWriter) {
			w.udp(client4, netip.MustParseAddr("203.0.113.67"), 40305, 9999, []byte("x"))
			w.udp(client4, netip.MustParseAddr("18.138.184.1"), 40306, 9999, []byte("x"))
			w.udp(client6, netip.MustParseAddr("2001:db8::3"), 40307, 9999, []byte("x"))
			w.udp(client6, netip.MustParseAddr("2a04:4e43::1"), 40308, 9999, []byte("x"))
		}},
	}
	for _, c := range captures {
		t.Run(c.name, func(t *testing.T) {
			pcap := filepath.Join("testdata", "suricata-real", c.file)
			if c.write != nil {
				w := newPcapWriter()
				c.write(w)
				pcap = filepath.Join(t.TempDir(), "traffic.pcap")
				if err := os.WriteFile(pcap, w.buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]bool{}
			cf := conf
			if c.noForce {
				cf = confNoForce
			}
			for _, sid := range suricataAlerts(t, bin, cf, pcap) {
				msg, ok := sidOf[sid]
				if !ok {
					t.Errorf("alert of sid %d, which is not in parley.rules", sid)
				}
				got[msg] = true
			}
			want := map[string]bool{}
			for _, m := range c.want {
				want[m] = true
			}
			for m := range want {
				if !got[m] {
					t.Errorf("rule %q did not fire", m)
				}
			}
			for m := range got {
				if !want[m] {
					t.Errorf("rule %q fired", m)
				}
			}
		})
	}
}

// TestSuricataURI pins suricataURI to the http.uri buffers Suricata
// 7.0.10 showed under its shipped suricata.yaml (libhtp personality IDS;
// TestSuricataRealTraffic and by hand), for machines without Suricata.
func TestSuricataURI(t *testing.T) {
	for _, c := range [][2]string{
		{"/p%20q", "/p q"},
		{"/a/../x.php?q=%41b", "/x.php?q=Ab"},
		{"/a%2Fb", "/a/b"},
		{"/a%2fb", "/a/b"},
		{"/a%2Fb/../c", "/a/c"},
		{"/e%2Ff/../g%2e%2e/h", "/e/g../h"},
		{"/c?x=%2F", "/c?x=/"},
		{"/a%5Cb", "/a/b"},
		{"/a\\b", "/a/b"},
		{"/a//b", "/a/b"},
		{"/c?x=a\\b", "/c?x=a\\b"},
		{"/c?x=a//b", "/c?x=a//b"},
		{"/a%252Fb", "/a%2Fb"},
		{"/stra%C3%9Fe", "/stra\xdfe"},
		{"/d%C3%A9j", "/d\xe9j"},
		{"/S%7eT", "/S~T"},
		{"/h?x=a+b", "/h?x=a+b"},
		{"/x?y=/../z", "/x?y=/../z"},
	} {
		if got, why := suricataURI(c[0]); got != c[1] || why != "" {
			t.Errorf("suricataURI(%q) = %q, %q; want %q", c[0], got, why, c[1])
		}
	}
	for _, target := range []string{"/%E2%82%AC", "/a%FCb", "/%u0041"} {
		if got, why := suricataURI(target); why == "" {
			t.Errorf("suricataURI(%q) = %q, want it unrepresentable", target, got)
		}
	}
}

// suricataAlerts runs Suricata over a capture (checksums not checked:
// the suricata-verify captures were taken on loopback, with offloading)
// and returns the sids of its alerts, once each.
func suricataAlerts(t *testing.T, bin, conf, pcap string) []int {
	t.Helper()
	logs := t.TempDir()
	cmd := exec.Command(bin, "-c", conf, "-r", pcap, "-k", "none", "-l", logs, "--runmode", "single", "--init-errors-fatal")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("suricata -r %s: %v\n%s", pcap, err, out)
	}
	f, err := os.Open(filepath.Join(logs, "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sids []int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			EventType string `json:"event_type"`
			Alert     struct {
				SignatureID int `json:"signature_id"`
			} `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("eve.json: %v: %s", err, sc.Bytes())
		}
		if ev.EventType == "alert" && !slices.Contains(sids, ev.Alert.SignatureID) {
			sids = append(sids, ev.Alert.SignatureID)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sids
}

// pcapWriter writes a classic pcap file (the format of libpcap's
// savefile: a 24-byte header, then a 16-byte header before each frame) of
// Ethernet frames, one millisecond apart.
type pcapWriter struct {
	buf bytes.Buffer
	at  time.Time
}

func newPcapWriter() *pcapWriter {
	w := &pcapWriter{at: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}
	// magic, version 2.4, GMT offset, accuracy, snaplen, LINKTYPE_ETHERNET
	for _, v := range []any{uint32(0xa1b2c3d4), uint16(2), uint16(4), int32(0), uint32(0), uint32(65535), uint32(1)} {
		binary.Write(&w.buf, binary.LittleEndian, v)
	}
	return w
}

// ip writes one Ethernet frame holding an IPv4 or IPv6 packet whose
// transport header (UDP or TCP, checksum field at csumAt) gets its
// checksum here.
func (w *pcapWriter) ip(src, dst netip.Addr, proto byte, seg []byte, csumAt int) {
	// Pseudo-header: addresses, protocol, length (RFC 768, RFC 8200 8.1).
	sum := checksumAdd(0, src.AsSlice())
	sum = checksumAdd(sum, dst.AsSlice())
	sum = checksumAdd(sum, []byte{0, proto, byte(len(seg) >> 8), byte(len(seg))})
	binary.BigEndian.PutUint16(seg[csumAt:], checksumFold(checksumAdd(sum, seg)))
	frame := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	if src.Is4() {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(seg)))
		h[6], h[8], h[9] = 0x40, 64, proto
		copy(h[12:], src.AsSlice())
		copy(h[16:], dst.AsSlice())
		binary.BigEndian.PutUint16(h[10:], checksumFold(checksumAdd(0, h)))
		frame = append(append(append(frame, 0x08, 0x00), h...), seg...)
	} else {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(seg)))
		h[6], h[7] = proto, 64
		copy(h[8:], src.AsSlice())
		copy(h[24:], dst.AsSlice())
		frame = append(append(append(frame, 0x86, 0xdd), h...), seg...)
	}
	w.at = w.at.Add(time.Millisecond)
	for _, v := range []uint32{uint32(w.at.Unix()), uint32(w.at.Nanosecond() / 1000), uint32(len(frame)), uint32(len(frame))} {
		binary.Write(&w.buf, binary.LittleEndian, v)
	}
	w.buf.Write(frame)
}

func checksumAdd(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func checksumFold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func (w *pcapWriter) udp(src, dst netip.Addr, sport, dport uint16, payload []byte) {
	seg := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(seg[0:], sport)
	binary.BigEndian.PutUint16(seg[2:], dport)
	binary.BigEndian.PutUint16(seg[4:], uint16(8+len(payload)))
	w.ip(src, dst, 17, append(seg, payload...), 6)
}

// tcpConn is one TCP connection, opened with the three-way handshake,
// each segment acknowledged, closed with FINs both ways: what Suricata's
// stream engine needs to hand the data to the application-layer parsers.
type tcpConn struct {
	w            *pcapWriter
	cli, srv     netip.Addr
	cport, sport uint16
	cseq, sseq   uint32
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

func (w *pcapWriter) tcp(cli, srv netip.Addr, cport, sport uint16) *tcpConn {
	c := &tcpConn{w: w, cli: cli, srv: srv, cport: cport, sport: sport, cseq: 1000, sseq: 5000}
	c.segment(true, tcpSYN, nil)
	c.cseq++
	c.segment(false, tcpSYN|tcpACK, nil)
	c.sseq++
	c.segment(true, tcpACK, nil)
	return c
}

func (c *tcpConn) segment(fromClient bool, flags byte, payload []byte) {
	src, dst, sport, dport, seq, ack := c.cli, c.srv, c.cport, c.sport, c.cseq, c.sseq
	if !fromClient {
		src, dst, sport, dport, seq, ack = c.srv, c.cli, c.sport, c.cport, c.sseq, c.cseq
	}
	if flags&tcpACK == 0 {
		ack = 0
	}
	seg := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(seg[0:], sport)
	binary.BigEndian.PutUint16(seg[2:], dport)
	binary.BigEndian.PutUint32(seg[4:], seq)
	binary.BigEndian.PutUint32(seg[8:], ack)
	seg[12], seg[13] = 5<<4, flags
	binary.BigEndian.PutUint16(seg[14:], 65535)
	c.w.ip(src, dst, 6, append(seg, payload...), 16)
}

// send writes data from one side and the other side's acknowledgement.
func (c *tcpConn) send(fromClient bool, data []byte) {
	c.segment(fromClient, tcpPSH|tcpACK, data)
	if fromClient {
		c.cseq += uint32(len(data))
	} else {
		c.sseq += uint32(len(data))
	}
	c.segment(!fromClient, tcpACK, nil)
}

func (c *tcpConn) close() {
	c.segment(true, tcpFIN|tcpACK, nil)
	c.cseq++
	c.segment(false, tcpFIN|tcpACK, nil)
	c.sseq++
	c.segment(true, tcpACK, nil)
}

// httpExchange writes one HTTP/1.1 request and a 200 response carrying
// body.
func httpExchange(w *pcapWriter, cli, srv netip.Addr, cport, sport uint16, req, body string) {
	c := w.tcp(cli, srv, cport, sport)
	c.send(true, []byte(req))
	c.send(false, []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)))
	c.close()
}

// smtpMail writes an SMTP session (RFC 5321) that sends one MIME mail
// with attachment as a base64 part, each command answered by the server.
func smtpMail(w *pcapWriter, cli, srv netip.Addr, cport uint16, attachment string) {
	c := w.tcp(cli, srv, cport, 25)
	c.send(false, []byte("220 mx.example ESMTP\r\n"))
	for _, step := range [][2]string{
		{"EHLO client.example\r\n", "250 mx.example\r\n"},
		{"MAIL FROM:<a@client.example>\r\n", "250 OK\r\n"},
		{"RCPT TO:<b@mx.example>\r\n", "250 OK\r\n"},
		{"DATA\r\n", "354 go ahead\r\n"},
		{"From: a@client.example\r\nTo: b@mx.example\r\nSubject: file\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
			"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f.bin\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(attachment)) + "\r\n" +
			"--b1--\r\n.\r\n", "250 queued\r\n"},
		{"QUIT\r\n", "221 bye\r\n"},
	} {
		c.send(true, []byte(step[0]))
		c.send(false, []byte(step[1]))
	}
	c.close()
}

// dnsQuery is a DNS message (RFC 1035 4.1) asking for the A record of
// name, recursion desired.
func dnsQuery(id uint16, name string) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	for _, l := range strings.Split(name, ".") {
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0, 0, 1, 0, 1)
}

// tlsClientHello is a TLS 1.2 ClientHello record (RFC 5246 7.4.1.2) with
// a server_name extension (RFC 6066 section 3).
func tlsClientHello(sni string) []byte {
	sn := binary.BigEndian.AppendUint16(nil, uint16(3+len(sni)))
	sn = append(sn, 0)
	sn = binary.BigEndian.AppendUint16(sn, uint16(len(sni)))
	sn = append(sn, sni...)
	ext := binary.BigEndian.AppendUint16([]byte{0, 0}, uint16(len(sn)))
	ext = append(ext, sn...)
	body := []byte{3, 3}
	body = append(body, bytes.Repeat([]byte{0x5a}, 32)...) // random
	body = append(body, 0)                                 // no session id
	body = append(body, 0, 4, 0xc0, 0x2f, 0x00, 0x9c)      // two cipher suites
	body = append(body, 1, 0)                              // null compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	rec := append([]byte{0x16, 3, 1}, byte(len(hs)>>8), byte(len(hs)))
	return append(rec, hs...)
}

// TestSuricataLoadsHostileAndLongRules loads into Suricata the rules of
// indicators whose ids try to break out of msg, of a URL that 300
// indicators name (its ids shared out over several rules) and of 250
// long IPv6 prefixes: every rule loads, none is split or dropped
// (TestSuricataHostileIDs and TestSuricataRuleLength check them by the
// grammar alone).
func TestSuricataLoadsHostileAndLongRules(t *testing.T) {
	bin := suricataBinary(t)
	var vals []ExportValue
	for i, id := range []string{
		`indicator--x"; sid:1; rev:1;) alert ip any any -> any any (msg:"x`,
		`indicator--a;b`, `indicator--a\`, `indicator--a\"`, `indicator--a\;b\\`,
		"indicator--a\nalert ip any any -> any any (msg:\"x\"; sid:1;)",
		"indicator--a\r\x00\x7f\u2028b", "indicator--\xff\xfe", `indicator--a) (msg:"b`, `indicator--a:b|c`,
	} {
		u := fmt.Sprintf("http://evil%d.example/x", i)
		vals = append(vals, ExportValue{Attr: AttrURL, Value: u, Raw: u, Ind: &Indicator{ID: id, Name: id}})
	}
	for i := range 300 {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		vals = append(vals, ExportValue{Attr: AttrURL, Value: "http://shared.example/x", Raw: "http://shared.example/x", Ind: &Indicator{ID: id}})
	}
	for i := range 250 {
		p := fmt.Sprintf("2a01:4f8b:%x:abcd:ef01:2345:6789:abc0/124", 0x1000+i)
		vals = append(vals, ExportValue{Attr: AttrIPv6, Value: p, Raw: p, Range: true, Ind: &Indicator{ID: "indicator--r"}})
	}
	files, bad := SuricataDatasets(vals, 9200000)
	if len(bad) != 0 {
		t.Fatalf("unrepresentable: %v", bad)
	}
	_, conf := writeSuricataExport(t, files, false)
	suricataLoads(t, bin, []string{"-c", conf, "-l", t.TempDir()}, suricataRules(t, files))
}

// TestSuricataLoadsLongestURL loads into Suricata the rules of a URL
// whose http.uri content is 4000 bytes, the most SuricataDatasets
// exports, and checks that one byte more is what Suricata refuses (so the
// bound is not looser than needed, nor the export wrong).
func TestSuricataLoadsLongestURL(t *testing.T) {
	bin := suricataBinary(t)
	u := "http://evil.example/" + strings.Repeat("a", 3999)
	files, bad := SuricataDatasets([]ExportValue{{Attr: AttrURL, Value: u, Raw: u, Ind: &Indicator{ID: "indicator--fits"}}}, 9200000)
	if len(bad) != 0 {
		t.Fatalf("unrepresentable: %v", bad)
	}
	_, conf := writeSuricataExport(t, files, false)
	rules := suricataRules(t, files)
	suricataLoads(t, bin, []string{"-c", conf, "-l", t.TempDir()}, rules)

	// The same rules with a content one byte longer do not load.
	longer := bytes.ReplaceAll(rules, []byte(`content:"/`), []byte(`content:"/a`))
	longer = bytes.ReplaceAll(longer, []byte("bsize:4000;"), []byte("bsize:4001;"))
	dir, conf := writeSuricataExport(t, files, false)
	if err := os.WriteFile(filepath.Join(dir, "parley.rules"), longer, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-T", "--init-errors-fatal", "-c", conf, "-l", t.TempDir()).CombinedOutput()
	if err == nil {
		t.Errorf("suricata loaded a 4001-byte content; the bound of 4000 may be raised:\n%.2000s", out)
	}
}
