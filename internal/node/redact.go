package node

import (
	"context"
	"net/url"
	"strings"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
)

// redactSourceURLs removes the secrets that versions of parley before
// feeds and peers refused URLs with a user, password or query (README,
// "Relayed intel and TAXII feeds") wrote into the descriptions of the
// collections they created: "Relayed from … at URL" and "Replicated from … of the
// Parley node URL". Every reader of those collections saw the URL whole.
// Each such URL in the description of its feed's or peer's collection is
// replaced by the URL without its user information, query and fragment.
// The feed's or peer's own record keeps its URL, which only the operator
// sees, and which the feed and the peer now refuse until the operator
// gives the secret in a file. It runs when a node is opened, changes
// nothing once done, and writes nothing when nothing holds a secret.
func redactSourceURLs(ctx context.Context, st store.Store) error {
	feeds, err := st.Feeds(ctx)
	if err != nil {
		return err
	}
	peers, err := st.Peers(ctx)
	if err != nil {
		return err
	}
	secrets := map[string][]string{} // collection id → raw URLs with a secret
	for _, f := range feeds {
		if withSecret(f.URL) {
			secrets[f.Into] = append(secrets[f.Into], f.URL)
		}
	}
	for _, p := range peers {
		if withSecret(p.URL) {
			secrets[p.Into] = append(secrets[p.Into], p.URL)
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	cs, err := st.Collections(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		desc := c.Description
		for _, raw := range secrets[c.ID] {
			desc = strings.ReplaceAll(desc, raw, redactedSourceURL(raw))
		}
		if desc != c.Description {
			if err := st.SetCollectionDescription(ctx, c.ID, desc); err != nil {
				return err
			}
		}
	}
	return nil
}

// withSecret reports whether raw is a URL with a user, password or query,
// or doesn't parse (and so may hold anything).
func withSecret(raw string) bool {
	u, err := url.Parse(raw)
	return err != nil || untrusted.URLHasSecret(u)
}

// redactedSourceURL is raw without its secrets; a URL that doesn't parse
// is replaced whole.
func redactedSourceURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL not shown)"
	}
	return untrusted.URLWithoutSecret(u)
}
