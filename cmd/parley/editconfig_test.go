package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// editConfig changes the config.json of the node in dir as an operator
// editing it would: edit gets its fields, and the file is written back
// indented, with its mode kept.
func editConfig(dir string, edit func(cfg map[string]any)) error {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	edit(cfg)
	if b, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), fi.Mode().Perm())
}
