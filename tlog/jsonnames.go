package tlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// JSONFields are the member names a JSON object of a document format may
// have: each maps to nil (a value not looked into) or to the fields of
// the object (or null) that is its value, or of each object in the array
// (or null) that is its value.
type JSONFields map[string]JSONFields

type jsonFields = JSONFields

// AnyName, as the only name of a [JSONFields], describes a JSON object of
// member names of the document's choosing (a map, such as a concurrence
// answer's counts or a bundle's names): any name is taken, spelt as it
// is, but each only once, since encoding/json keeps the last of two
// ("agree": 7, "agree": 1 reads as 1) where another reader of the
// document may keep the first, or refuse it. What AnyName maps to
// describes every member's value.
const AnyName = "*"

// MaxJSONElements bounds, in a document read by its field names
// ([ExactNames], [KnownNames]: proof bundles, concurrence answers, saved
// receipts, evidence), the objects in each list whose objects' fields
// are named, and the fields of each object: a document with more is
// refused before anything in it is decoded. A few bytes of JSON ("{},")
// decode into an item of hundreds, so millions of them in a file of a
// few MB took GBs; no honest document comes near it (a node's proof
// bundle holds at most 2,048 versions, docs/log.md).
const MaxJSONElements = 1 << 16

// maxUnknownNames bounds the unknown names [KnownNames] returns: past
// it, one "…" says there were more.
const maxUnknownNames = 64

// KnownNames is [ExactNames] for a format that may gain fields without a
// new type: a name that isn't one of fields' is returned (its path
// dotted, "evidence.items.x") rather than refused; one that differs from
// a known name only in case, or is given twice, is still refused.
func KnownNames(data []byte, fields JSONFields) (unknown []string, err error) {
	return knownNames(data, fields, true)
}

// BundleFieldNames returns the field names of a proof bundle
// ([Bundle]), for formats that hold one (a concurrence answer's
// evidence). The caller must not change it.
func BundleFieldNames() JSONFields { return bundleFields }

// ExactNames checks that data is one JSON object whose member names, and
// those of the objects below it that fields describes, are each one of
// fields' names, spelt exactly, and given once; see [exactNames]. Other
// implementations' offline documents (parley's private set receipts) are
// read with it before encoding/json.
func ExactNames(data []byte, fields JSONFields) error { return exactNames(data, fields) }

// exactNames checks that data is a JSON object whose member names, and
// those of the objects below it that fields describes, are each one of
// fields' names, spelt exactly, and given once. encoding/json matches
// names case-insensitively and lets a repeated name replace the first,
// so with DisallowUnknownFields alone a document with "TYPE", or with
// "checkpoints" twice, passed: one that the format refuses (no other
// fields), or that another implementation reads otherwise.
func exactNames(data []byte, fields jsonFields) error {
	_, err := knownNames(data, fields, false)
	return err
}

// knownNames is [exactNames] for a format that may gain fields without a
// new type (a later node's additions, which this version doesn't verify):
// with lax, a name that isn't one of fields' is returned, its path dotted
// ("items.x"), rather than refused; one that differs from a known name
// only in case, or that is given twice, is still refused, since
// encoding/json would read it as the known one, and another
// implementation wouldn't.
func knownNames(data []byte, fields jsonFields, lax bool) (unknown []string, err error) {
	return knownNamesUpTo(data, fields, lax, MaxJSONElements)
}

// knownNamesUpTo is [knownNames] with limit, not [MaxJSONElements], the
// most elements of a list or an object (-1: no bound), for a document
// whose size bounds them already (an object in the log).
//
// Invalid UTF-8 anywhere in data is refused: encoding/json reads it as
// U+FFFD, where a strict reader refuses it (and a field nothing verifies,
// such as evidence's found_by, would read as two texts).
func knownNamesUpTo(data []byte, fields jsonFields, lax bool, limit int) (unknown []string, err error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("invalid UTF-8 at byte %d", invalidUTF8At(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := fields.check(dec, "", lax, limit, &unknown); err != nil {
		return nil, err
	}
	// Anything after the object but space: a second value, or bytes that
	// are none ("}", "x"), which Token reports as an error of its own.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return unknown, nil
}

func (f jsonFields) check(dec *json.Decoder, path string, lax bool, limit int, unknown *[]string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); ok && d == '[' && path != "" {
		for n := 0; dec.More(); n++ {
			if n == limit {
				return fmt.Errorf("%s holds more than %d objects", describePath(path), limit)
			}
			if err := f.object(dec, nil, path, lax, limit, unknown); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return f.object(dec, t, path, lax, limit, unknown)
}

// object checks one object, whose opening token is t (read from dec
// when nil).
func (f jsonFields) object(dec *json.Decoder, t json.Token, path string, lax bool, limit int, unknown *[]string) error {
	if t == nil {
		var err error
		if t, err = dec.Token(); err != nil {
			return err
		}
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s isn't a JSON object", describePath(path))
	}
	var seen names
	for n := 0; dec.More(); n++ {
		if n == limit {
			return fmt.Errorf("%s has more than %d fields", describePath(path), limit)
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		sub, known := f[name]
		if m, ok := f[AnyName]; ok && len(f) == 1 {
			sub, known = m, true
		}
		switch {
		case seen.has(name):
			return fmt.Errorf("field %q given twice", path+name)
		case !known && (!lax || f.folds(name)):
			return fmt.Errorf("unknown field %q", path+name)
		case !known && len(*unknown) < maxUnknownNames:
			*unknown = append(*unknown, path+name)
		case !known && len(*unknown) == maxUnknownNames:
			*unknown = append(*unknown, "…")
		}
		seen.add(name)
		if sub != nil {
			err = sub.check(dec, path+name+".", lax, limit, unknown)
		} else {
			// Read, not kept: a RawMessage copied every value (a
			// bundle's objects, as large as the bundle).
			err = dec.Decode(&fieldValue{})
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// names are the field names of one object read so far: a short list,
// then a map. A map made for every object cost hundreds of bytes an
// object where "{}," is three, so a list of 65,536 of them, refused,
// still allocated 150 times its size.
type names struct {
	list []string
	set  map[string]bool
}

func (s *names) has(name string) bool {
	if s.set != nil {
		return s.set[name]
	}
	for _, n := range s.list {
		if n == name {
			return true
		}
	}
	return false
}

func (s *names) add(name string) {
	switch {
	case s.set != nil:
		s.set[name] = true
	case len(s.list) < 16:
		s.list = append(s.list, name)
	default:
		s.set = make(map[string]bool, 2*len(s.list))
		for _, n := range s.list {
			s.set[n] = true
		}
		s.set[name] = true
		s.list = nil
	}
}

// folds reports whether name differs from one of f's names only in case.
func (f jsonFields) folds(name string) bool {
	for k := range f {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func describePath(path string) string {
	if path == "" {
		return "the document"
	}
	return fmt.Sprintf("%q", path[:len(path)-1])
}

// MemberNames returns the member names of data, a JSON object, without
// copying their values, and false when data isn't one JSON object, or
// has more than [MaxJSONElements] members. A reader that tells formats
// apart by their members reads so a proof bundle of hundreds of MB (a
// map of [json.RawMessage] copied it whole), and a file of millions of
// members costs no more than their names up to the bound (a map of
// every member took 18 times the file's size).
func MemberNames(data []byte) (map[string]bool, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	// data is valid JSON, so the scan below needs no checks of its own.
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, false
	}
	names := make(map[string]bool)
	for i++; ; {
		i = skipSpace(data, i)
		switch data[i] {
		case '}':
			return names, true
		case ',':
			i = skipSpace(data, i+1)
		}
		end := stringEnd(data, i)
		var name string
		if json.Unmarshal(data[i:end], &name) != nil || len(names) == MaxJSONElements {
			return nil, false
		}
		names[name] = true
		i = skipSpace(data, end) + 1 // the colon
		i = valueEnd(data, skipSpace(data, i))
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index past the JSON string that starts at data[i].
func stringEnd(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// valueEnd returns the index past the valid JSON value that starts at
// data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[i])) {
		i++
	}
	return i
}

// invalidUTF8At returns the offset of data's first byte that isn't part
// of valid UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// ClipJSONError returns err (nil for nil) with its message cut to 200
// bytes, for the error of decoding a document someone else made:
// encoding/json quotes the value it couldn't decode, a number of
// millions of digits whole, and each error wrapping it (and each line
// printing it) copied that again. errors.Is and errors.As see err.
func ClipJSONError(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); len(msg) > 200 {
		return clippedError{untrusted.Text(msg, 200), err}
	}
	return err
}

type clippedError struct {
	msg string
	err error
}

func (e clippedError) Error() string { return e.msg }
func (e clippedError) Unwrap() error { return e.err }

// maxNumberBytes bounds a number that is a field's value in a document
// read by its field names: no field of these formats holds more than a
// uint64 (20 digits), and encoding/json copied one of millions of digits
// several times over (into its error, which quoted it whole).
const maxNumberBytes = 64

// fieldValue reads a field's value, as [presentValue] does, refusing a
// number longer than maxNumberBytes.
type fieldValue struct{}

func (*fieldValue) UnmarshalJSON(b []byte) error {
	if len(b) > maxNumberBytes && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		return fmt.Errorf("a number of %d bytes", len(b))
	}
	return nil
}

// presentValue reads any JSON value as nothing, keeping no copy of it.
type presentValue struct{}

func (*presentValue) UnmarshalJSON([]byte) error { return nil }
