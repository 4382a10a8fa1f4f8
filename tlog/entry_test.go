package tlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func testEntry() Entry {
	return Entry{
		ObjectID:   "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		Version:    "2016-04-06T20:03:48.000Z",
		Collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
		Member:     "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
		Received:   time.Date(2026, 11, 24, 20, 1, 2, 345000000, time.UTC),
		Commitment: Commitment([]byte("0123456789abcdef0123456789abcdef"), []byte(`{"id":"x"}`)),
	}
}

func TestEntryMarshalGolden(t *testing.T) {
	e := testEntry()
	got, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"collection":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","commitment":"` + e.Commitment +
		`","member":"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5","object_id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","received":"2026-11-24T20:01:02.345Z","version":"2016-04-06T20:03:48.000Z"}`
	if string(got) != want {
		t.Fatalf("Marshal:\n got %s\nwant %s", got, want)
	}
	back, err := ParseEntry(got)
	if err != nil {
		t.Fatal(err)
	}
	if back != e {
		t.Fatalf("round trip: got %+v want %+v", back, e)
	}
	k := e
	k.Kind = KindOPRFKey
	kb, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(kb, []byte(`","kind":"oprf-key","member":`)) {
		t.Fatalf("kind not in canonical place: %s", kb)
	}
	if back, err := ParseEntry(kb); err != nil || back != k {
		t.Fatalf("kind round trip: %+v, %v", back, err)
	}
}

func TestCommitment(t *testing.T) {
	// SHA-256("abc") split as salt "a" and object "bc".
	if got, want := Commitment([]byte("a"), []byte("bc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("Commitment = %s, want %s", got, want)
	}
	s, err := NewSalt(strings.NewReader(strings.Repeat("s", 40)))
	if err != nil || len(s) != SaltSize {
		t.Fatalf("NewSalt = %x, %v", s, err)
	}
	if _, err := NewSalt(strings.NewReader("short")); err == nil {
		t.Fatal("NewSalt accepted a short reader")
	}
}

func TestEntryEscapes(t *testing.T) {
	e := testEntry()
	e.ObjectID = "a\"b\\c\n\x01é\u2028<>&"
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"object_id":"a\"b\\c\n\u0001é`+"\u2028"+`<>&"`)) {
		t.Fatalf("escapes not RFC 8785: %s", b)
	}
	if back, err := ParseEntry(b); err != nil || back != e {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestParseEntryRejects(t *testing.T) {
	good, _ := testEntry().Marshal()
	cases := map[string]string{
		"empty":            ``,
		"not object":       `[]`,
		"space":            strings.Replace(string(good), `:"`, `: "`, 1),
		"unsorted":         `{"commitment":"` + testEntry().Commitment + `","collection":"c","member":"m","object_id":"o","received":"2026-01-01T00:00:00Z","version":"v"}`,
		"unknown member":   strings.Replace(string(good), `{`, `{"aaa":"x",`, 1),
		"missing received": `{"collection":"c","commitment":"` + testEntry().Commitment + `","member":"m","object_id":"o","version":"v"}`,
		"offset time":      strings.Replace(string(good), `.345Z`, `.345+00:00`, 1),
		"upper hex":        strings.Replace(string(good), testEntry().Commitment, strings.ToUpper(testEntry().Commitment), 1),
		"needless escape":  strings.Replace(string(good), `indicator`, `\u0069ndicator`, 1),
		"trailing":         string(good) + " ",
		"empty kind":       strings.Replace(string(good), `"member"`, `"kind":"","member"`, 1),
		"number value":     `{"collection":1}`,
	}
	for name, in := range cases {
		if _, err := ParseEntry([]byte(in)); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("%s: ParseEntry(%q) err = %v, want ErrMalformedEntry", name, in, err)
		}
	}
}

func TestMarshalRejects(t *testing.T) {
	for name, mut := range map[string]func(*Entry){
		"no id":        func(e *Entry) { e.ObjectID = "" },
		"short commit": func(e *Entry) { e.Commitment = "abcd" },
		"bad utf8":     func(e *Entry) { e.Member = "\xff" },
		"year":         func(e *Entry) { e.Received = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		e := testEntry()
		mut(&e)
		if _, err := e.Marshal(); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	good, _ := testEntry().Marshal()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("parsed entry doesn't marshal: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed bytes:\n%q\n%q", b, again)
		}
	})
}
