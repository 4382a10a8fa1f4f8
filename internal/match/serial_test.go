package match

import "testing"

func TestAppendSerial(t *testing.T) {
	for in, want := range map[string]string{
		"00:C7:D4:28:8B:80:E0:1E:25": "c7:d4:28:8b:80:e0:1e:25",
		"00C7D4288B80E01E25":         "c7:d4:28:8b:80:e0:1e:25",
		"C7D4288B80E01E25":           "c7:d4:28:8b:80:e0:1e:25",
		"c7 d4 28 8b 80 e0 1e 25":    "c7:d4:28:8b:80:e0:1e:25",
		"0E2A8B6FE4C3A3B4B7D5C0A6":   "0e:2a:8b:6f:e4:c3:a3:b4:b7:d5:c0:a6",
		"E2A8B6FE4C3A3B4B7D5C0A6":    "0e:2a:8b:6f:e4:c3:a3:b4:b7:d5:c0:a6",
		"00":                         "00",
		"0":                          "00",
		"00:00:01":                   "01",
		"1":                          "01",
		"not a serial":               "not a serial",
		"::":                         "::",
		"-01":                        "-01",
		"-1":                         "-01",
		"-00:FF":                     "-ff",
		"-382BD7747F1FE1DB":          "-38:2b:d7:74:7f:1f:e1:db",
		"-0":                         "00",
		"--01":                       "--01",
		"-":                          "-",
		"-x":                         "-x",
	} {
		if have := string(appendSerial(nil, []byte(in))); have != want {
			t.Errorf("%q: %q, want %q", in, have, want)
		}
	}
}

// TestSerialAcrossSensors: one certificate's serial as Suricata's EVE
// (tls.serial, suricata-verify's tls-eve-custom-fields), Zeek's x509.log
// (certificate.serial, the integer's hex) and Elastic's suricata pipeline
// (tls.server.x509.serial_number, colons removed) write it is one
// serial_number, matched by an indicator in any of these forms; another
// certificate's is not.
func TestSerialAcrossSensors(t *testing.T) {
	log := `{"timestamp":"2025-03-01T10:00:01.000000+0000","event_type":"tls","tls":{"serial":"00:C7:D4:28:8B:80:E0:1E:25","sni":"localhost"}}
{"ts":1547688736.805088,"id":"FebkbHWVCV8rEEEne","certificate.version":3,"certificate.serial":"C7D4288B80E01E25","certificate.subject":"CN=SampleServer"}
{"@timestamp":"2025-03-01T10:00:01.000Z","ecs":{"version":"8.0.0"},"tls":{"server":{"x509":{"serial_number":"00C7D4288B80E01E25"}}}}
{"timestamp":"2025-03-01T10:00:02.000000+0000","event_type":"tls","tls":{"serial":"00:C7:D4:28:8B:80:E0:1E:27"}}
`
	want := map[string]int64{
		"[x509-certificate:serial_number = '00:C7:D4:28:8B:80:E0:1E:25']": 3,
		"[x509-certificate:serial_number = 'C7D4288B80E01E25']":           3,
		"[x509-certificate:serial_number = 'c7:d4:28:8b:80:e0:1e:25']":    3,
		"[x509-certificate:serial_number = '00:C7:D4:28:8B:80:E0:1E:27']": 1,
	}
	if st := matchCounts(t, "serials", want, FormatAuto, log); st.Events != 4 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestNegativeSerial: Zeek writes a negative serial (a non-conforming
// CA's) as OpenSSL's i2a_ASN1_INTEGER does, "-" and the magnitude: -1 is
// "-01", and that is not serial 1, which Suricata writes "01". An
// indicator of either matches only its own; before, the sign was read as
// a separator and both were 01.
func TestNegativeSerial(t *testing.T) {
	log := `{"ts":1747688736.805088,"id":"FebkbHWVCV8rEEEnf","certificate.version":3,"certificate.serial":"-01","certificate.subject":"CN=Neg"}
{"timestamp":"2025-03-01T10:00:02.000000+0000","event_type":"tls","tls":{"serial":"01","sni":"pos"}}
{"@timestamp":"2025-03-01T10:00:01.000Z","ecs":{"version":"8.0.0"},"tls":{"server":{"x509":{"serial_number":"01"}}}}
`
	want := map[string]int64{
		"[x509-certificate:serial_number = '01']":  2,
		"[x509-certificate:serial_number = '-01']": 1,
		"[x509-certificate:serial_number = '-1']":  1,
	}
	if st := matchCounts(t, "negative serials", want, FormatAuto, log); st.Events != 3 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSerialSTIXInput: an observed-data's x509-certificate serial_number
// (match --format stix) is normalised as a log's is: before, it was
// compared as written, and an indicator, whose literal is normalised,
// matched it in no form, not even the one it copied.
func TestSerialSTIXInput(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--10000000-0000-4000-8000-000000000000","objects":[{"type":"observed-data","spec_version":"2.1","id":"observed-data--10000000-0000-4000-8000-000000000001","created":"2025-03-01T10:00:00.000Z","modified":"2025-03-01T10:00:00.000Z","first_observed":"2025-03-01T10:00:00Z","last_observed":"2025-03-01T10:00:00Z","number_observed":1,"object_refs":["x509-certificate--10000000-0000-4000-8000-000000000002"]},{"type":"x509-certificate","spec_version":"2.1","id":"x509-certificate--10000000-0000-4000-8000-000000000002","serial_number":"00:C7:D4:28:8B:80:E0:1E:25"}]}
`
	want := map[string]int64{
		"[x509-certificate:serial_number = '00:C7:D4:28:8B:80:E0:1E:25']": 1,
		"[x509-certificate:serial_number = 'C7D4288B80E01E25']":           1,
		"[x509-certificate:serial_number = 'c7:d4:28:8b:80:e0:1e:27']":    0,
	}
	matchCounts(t, "stix serials", want, FormatSTIX, bundle)
}
