package main

import (
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/peer"
)

func TestNameFromTitle(t *testing.T) {
	for _, tc := range []struct{ title, want string }{
		{"intel from B", "intel-from-B"},
		{"from-b", "from-b"},
		{"ATT&CK ICS", "ATT-CK-ICS"},
		{"  a  /  b  ", "a-b"},
		{"v1.2_beta", "v1.2_beta"},
		{"Intel — Übersicht", "Intel-bersicht"},
		{"«»", ""},
		{"", ""},
		{strings.Repeat("x", 70), strings.Repeat("x", 64)},
		{strings.Repeat("x", 63) + " y", strings.Repeat("x", 63)},
	} {
		got := nameFromTitle(tc.title)
		if got != tc.want {
			t.Errorf("nameFromTitle(%q) = %q, want %q", tc.title, got, tc.want)
		}
		if got == "" {
			continue
		}
		if err := peer.CheckName(got); err != nil {
			t.Errorf("nameFromTitle(%q) = %q, which peer.CheckName refuses: %v", tc.title, got, err)
		}
		if err := feed.CheckName(got); err != nil {
			t.Errorf("nameFromTitle(%q) = %q, which feed.CheckName refuses: %v", tc.title, got, err)
		}
	}
}
