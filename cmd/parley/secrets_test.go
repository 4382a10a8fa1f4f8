package main

import (
	"strings"
	"testing"
)

// TestAuditFoundByHidesURLSecrets: the found_by of an audit's split-view
// evidence, which is made to be shown to others, names the node's URL
// without the user, password or query that --url may carry.
func TestAuditFoundByHidesURLSecrets(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"url:https://auditor:hunter2@node.example/", "parley audit of url:https://node.example/"},
		{"url:https://node.example/?key=hunter2", "parley audit of url:https://node.example/"},
		{"url:https://node.example/%zzhunter2", "parley audit of a node"},
		{"dir:/srv/parley", "parley audit of dir:/srv/parley"},
	} {
		got := auditFoundBy(tc.target)
		if got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("auditFoundBy(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}
