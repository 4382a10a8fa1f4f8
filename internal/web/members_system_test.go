package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
)

// TestMembersPageIgnoresSystemMemberGrants: read or write on a collection
// granted to a feed's member by an older version (the node refuses it
// now: node.ErrSystemMember) isn't shown on the members page as a
// collection the feed's member shares; its write on its own collection
// is. Before, the page listed the granted collection on its row.
func TestMembersPageIgnoresSystemMemberGrants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fd, err := f.n.AddFeed(ctx, node.FeedSpec{Name: "relay", URL: "http://127.0.0.1:9/taxii2/api/",
		Collection: "c1", Into: "Relay of borovia", Readers: []string{"cert-borovia"}})
	if err != nil {
		t.Fatal(err)
	}
	// As an older version granted it, straight into the store.
	if err := f.n.Store().GrantAccess(ctx, f.private, fd.Member, true, true); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, f.URL)
	b.login(t, f.borova.Token)
	_, body := b.get(t, "/ui/members")
	row := regexp.MustCompile(`<tr><td>feed:relay<br>.*?</tr>`).FindString(body)
	shares := regexp.MustCompile(`data-label="shares">([^<]*)</td>`).FindStringSubmatch(row)
	if shares == nil {
		t.Fatalf("no row of feed:relay on the members page:\n%s", body)
	}
	if strings.Contains(shares[1], "Borovia internal") || !strings.Contains(shares[1], "Relay of borovia") {
		t.Errorf("feed:relay shares %q, want its own collection alone", shares[1])
	}
}
