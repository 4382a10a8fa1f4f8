package store

import (
	"slices"
	"testing"
)

// TestListedMembers: the members of peers and feeds are listed only to
// readers of a collection they fill (and to themselves); every other
// member to everyone.
func TestListedMembers(t *testing.T) {
	members := []Member{{ID: "alice"}, {ID: "bob"}, {ID: "peer-m"}, {ID: "feed-m"}, {ID: "feed-2"}}
	colls := []Collection{
		{ID: "copy", Readers: []string{"alice"}, Writers: []string{"peer-m"}},
		{ID: "relay", Readers: []string{"bob"}, Writers: []string{"feed-m"}},
		{ID: "open", Readers: []string{"alice", "bob"}, Writers: []string{"feed-2"}},
	}
	peers := []Peer{{Name: "b", Into: "copy", Member: "peer-m"}}
	feeds := []Feed{{Name: "f", Into: "relay", Member: "feed-m"}, {Name: "g", Into: "open", Member: "feed-2"}, {Name: "h", Into: "gone", Member: "feed-m"}}
	for viewer, want := range map[string][]string{
		"alice":  {"alice", "bob", "peer-m", "feed-2"},
		"bob":    {"alice", "bob", "feed-m", "feed-2"},
		"carol":  {"alice", "bob"},
		"peer-m": {"alice", "bob", "peer-m"},
	} {
		var got []string
		for _, m := range ListedMembers(viewer, members, colls, peers, feeds) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s is shown %v, want %v", viewer, got, want)
		}
	}
}
