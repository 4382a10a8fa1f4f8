package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"github.com/rogpeppe/go-internal/testscript"
)

// setWitnesses implements the script command
// `setwitnesses DIR URL_FILE VKEY_FILE [URL_FILE VKEY_FILE]...`: it sets
// the "witnesses" of DIR/config.json from the witnesses' URL files
// (witness serve --url-file) and verifier key files, as an operator
// editing it would.
func setWitnesses(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args)%2 != 1 {
		ts.Fatalf("usage: setwitnesses DIR URL_FILE VKEY_FILE...")
	}
	path := filepath.Join(ts.MkAbs(args[0]), "config.json")
	b, err := os.ReadFile(path)
	ts.Check(err)
	var cfg map[string]any
	ts.Check(json.Unmarshal(b, &cfg))
	var ws []map[string]string
	for i := 1; i < len(args); i += 2 {
		ws = append(ws, map[string]string{
			"url": strings.TrimSpace(ts.ReadFile(args[i])),
			"key": strings.TrimSpace(ts.ReadFile(args[i+1])),
		})
	}
	cfg["witnesses"] = ws
	b, err = json.MarshalIndent(cfg, "", "  ")
	ts.Check(err)
	fi, err := os.Stat(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, append(b, '\n'), fi.Mode().Perm()))
}

// waitCosigned implements `waitcosigned TOKEN_FILE SIZE N`: it waits up to
// 30 s until $PARLEY_URL/log/checkpoint covers at least SIZE entries and
// carries at least N signature lines besides the log's own (the
// cosignatures), and fails otherwise.
func waitCosigned(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitcosigned TOKEN_FILE SIZE N")
	}
	var m struct {
		Token string `json:"token"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	size, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		req, err := http.NewRequest(http.MethodGet, ts.Getenv("PARLEY_URL")+"/log/checkpoint", nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+m.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if text, err := tlog.SplitNote(b); err == nil {
				cp, err := tlog.ParseCheckpoint(text)
				if err == nil && cp.Size >= size && strings.Count(last, "\n— ")-1 >= want {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no checkpoint of size >= %d with %d cosignature(s) after 30s; last:\n%s", size, want, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
