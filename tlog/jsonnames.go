package tlog

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonFields are the member names a JSON object of a document format may
// have: each maps to nil (a value not looked into here) or to the fields
// of the object (or null) that is its value.
type jsonFields map[string]jsonFields

// exactNames checks that data is a JSON object whose member names, and
// those of the objects below it that fields describes, are each one of
// fields' names, spelt exactly, and given once. encoding/json matches
// names case-insensitively and lets a repeated name replace the first,
// so with DisallowUnknownFields alone a document with "TYPE", or with
// "checkpoints" twice, passed: one that the format refuses (no other
// fields), or that another implementation reads otherwise.
func exactNames(data []byte, fields jsonFields) error {
	return fields.check(json.NewDecoder(bytes.NewReader(data)), "")
}

func (f jsonFields) check(dec *json.Decoder, path string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s isn't a JSON object", describePath(path))
	}
	seen := make(map[string]bool, len(f))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		sub, known := f[name]
		switch {
		case !known:
			return fmt.Errorf("unknown field %q", path+name)
		case seen[name]:
			return fmt.Errorf("field %q given twice", path+name)
		}
		seen[name] = true
		if sub != nil {
			err = sub.check(dec, path+name+".")
		} else {
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func describePath(path string) string {
	if path == "" {
		return "the document"
	}
	return fmt.Sprintf("%q", path[:len(path)-1])
}
