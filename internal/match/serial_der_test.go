package match

import "testing"

func TestAppendDERSerial(t *testing.T) {
	for in, want := range map[string]string{
		// positive: as appendSerial
		"00:C7:D4:28:8B:80:E0:1E:25": "c7:d4:28:8b:80:e0:1e:25",
		"01":                         "01",
		"7F":                         "7f",
		"00:FF":                      "ff",
		// negative, two's complement: the sign and the magnitude
		"FF":                   "-01",
		"ff:ff":                "-01",
		"80":                   "-80",
		"FF:7F":                "-81",
		"FF:00":                "-01:00",
		"C7:D4:28:8B:80:E0:1E": "-38:2b:d7:74:7f:1f:e2",
		// not whole bytes of hex: as appendSerial
		"F":            "0f",
		"-01":          "-01",
		"not a serial": "not a serial",
		"::":           "::",
	} {
		if have := string(appendDERSerial(nil, []byte(in))); have != want {
			t.Errorf("%q: %q, want %q", in, have, want)
		}
	}
}

// TestNegativeSerialAcrossSensors: a non-conforming CA's negative serial
// as each sensor writes it is one value: Zeek's x509.log (OpenSSL's
// i2a_ASN1_INTEGER, the sign and the magnitude: -1 is "-01", -129 "-81")
// and Suricata's tls.serial (the DER INTEGER's content bytes, two's
// complement: "FF", "FF:7F"), in EVE and as Elastic's suricata pipeline
// keeps it below suricata.eve. An indicator written with the sign matches
// all of them; serial 1 and 255 match none. Before, Suricata's FF was
// read as 255 and -1 matched only Zeek's record.
func TestNegativeSerialAcrossSensors(t *testing.T) {
	log := `{"ts":1747688736.805088,"id":"FebkbHWVCV8rEEEnf","certificate.version":3,"certificate.serial":"-01","certificate.subject":"CN=Neg"}
{"timestamp":"2025-03-01T10:00:02.000000+0000","event_type":"tls","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","tls":{"serial":"FF","sni":"neg.example"}}
{"@timestamp":"2025-03-01T10:00:01.000Z","ecs":{"version":"8.0.0"},"suricata":{"eve":{"tls":{"serial":"FF"}}}}
{"ts":1747688737.805088,"id":"FebkbHWVCV8rEEEng","certificate.version":3,"certificate.serial":"-81","certificate.subject":"CN=Neg2"}
{"timestamp":"2025-03-01T10:00:03.000000+0000","event_type":"tls","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","tls":{"serial":"FF:7F","sni":"neg2.example"}}
{"timestamp":"2025-03-01T10:00:04.000000+0000","event_type":"tls","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","tls":{"serial":"00:FF","sni":"pos.example"}}
`
	want := map[string]int64{
		"[x509-certificate:serial_number = '-01']": 3,
		"[x509-certificate:serial_number = '-1']":  3,
		"[x509-certificate:serial_number = '-81']": 2,
		"[x509-certificate:serial_number = '01']":  0,
		"[x509-certificate:serial_number = 'FF']":  1,
	}
	if st := matchCounts(t, "negative serials", want, FormatAuto, log); st.Events != 6 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}
