package web_test

import (
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// hostileReceipts are receipts (GET /log/receipt) that another reader
// could read otherwise than tlog.ParseReceipt: a field given twice or
// named in another case (JSON.parse keeps the last "checkpoint" and
// ignores "CHECKPOINT"; encoding/json alone reads "CHECKPOINT" as
// checkpoint), invalid UTF-8, indices JavaScript reads from 1.0, base64
// that isn't strict.
func hostileReceipts() map[string][]byte {
	hash := strings.Repeat("A", 43) + "="
	doc := func(fields string) []byte {
		return []byte(`{"log_index":3,"tree_size":4,"entry":"e30=","salt":"` + hash + `","collection":"c","object_id":"indicator--1","version":"2024-01-01T00:00:00Z","member":"identity--1","inclusion_proof":["` + hash + `"],"checkpoint":"origin\n4\n` + hash + `\n\n— sig\n"` + fields + `}`)
	}
	return map[string][]byte{
		"valid":                           doc(""),
		"valid, witnessed":                doc(`,"witnessed":{"checkpoint":"x","consistency":["` + hash + `"]}`),
		"valid, witnessed null":           doc(`,"witnessed":null`),
		"valid, later fields":             doc(`,"later":{"x":[1,{"checkpoint":1}]}`),
		"checkpoint twice":                doc(`,"checkpoint":"another"`),
		"checkpoint twice, escaped":       doc(`,"check\u0070oint":"another"`),
		"checkpoint in another case":      doc(`,"CHECKPOINT":"another"`),
		"index twice":                     doc(`,"log_index":2`),
		"member in another case":          doc(`,"Member":"identity--2"`),
		"witnessed checkpoint twice":      doc(`,"witnessed":{"checkpoint":"x","checkpoint":"y"}`),
		"witnessed checkpoint other case": doc(`,"witnessed":{"checkpoint":"x","Checkpoint":"y"}`),
		"witnessed a list":                doc(`,"witnessed":[]`),
		"invalid UTF-8 in the member":     doc(`,"later":"` + "\xff" + `"`),
		"byte order mark":                 append([]byte("\xef\xbb\xbf"), doc("")...),
		"data after the document":         append(doc(""), []byte(` {}`)...),
		"index 1.0":                       []byte(`{"log_index":1.0}`),
		"tree size -1":                    []byte(`{"tree_size":-1}`),
		"entry not strict base64":         []byte(`{"entry":"e31="}`),
		"a proof hash of 31 bytes":        []byte(`{"inclusion_proof":["` + strings.Repeat("A", 42) + `=="]}`),
		"checkpoint a number":             []byte(`{"checkpoint":7}`),
		"a list":                          []byte(`[]`),
	}
}

// TestReceiptReadersAgree reads every hostile receipt with
// tlog.ParseReceipt (what `parley verify --receipt` reads) and with the
// object page's reader in Chromium (ParleyLog.readReceipt, which the
// page's check reads GET /log/receipt with): both must accept it, or
// both refuse it. The page read receipts with JSON.parse, which kept the
// last of two "checkpoint"s and ignored one in another case.
func TestReceiptReadersAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	docs := hostileReceipts()
	evaluate := logv2Page(t, docs)
	for name, doc := range docs {
		_, _, goErr := tlog.ParseReceipt(doc)
		got := evaluate(name, `try { window.ParleyLog.readReceipt(b); return "accepted"; } catch (e) { return "refused: " + e.message; }`)
		goSays := "accepted"
		if goErr != nil {
			goSays = "refused: " + goErr.Error()
		}
		if strings.HasPrefix(name, "valid") != (goErr == nil) {
			t.Errorf("%s: Go %s (the table expects otherwise)", name, goSays)
		}
		if (goErr == nil) != (got == "accepted") {
			t.Errorf("%s: Go %s; the browser %s", name, goSays, got)
		}
	}
}
