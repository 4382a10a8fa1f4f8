package taxii

import (
	"net/http"
	"strings"
	"testing"
)

// A 401 offers HTTP Basic as well as Bearer. TAXII 2.1 makes Basic the
// authentication every client and server supports, and a client that
// answers challenges (rather than sending credentials before it is asked,
// as Java's and .NET's HTTP clients do when given a user name and
// password) sends Basic only after a challenge names it: with Bearer
// alone it never authenticated. The password is the token.
func TestUnauthorizedOffersBasic(t *testing.T) {
	f := newFixture(t, Config{})
	for _, r := range []req{
		{path: "/taxii2/", token: "-"},
		{path: "/api/collections/", token: "nope"},
		{path: "/api/", token: "-", header: map[string]string{"Authorization": "Basic " + basic("anyone", "wrong")}},
	} {
		w := f.do(t, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", r.path, w.Code)
		}
		var bearer, basicOffered bool
		for _, v := range w.Header().Values("WWW-Authenticate") {
			scheme, _, _ := strings.Cut(v, " ")
			bearer = bearer || strings.EqualFold(scheme, "Bearer")
			basicOffered = basicOffered || strings.EqualFold(scheme, "Basic") && strings.Contains(v, `realm="taxii"`)
		}
		if !bearer || !basicOffered {
			t.Errorf("%s: WWW-Authenticate %q; want a Bearer and a Basic challenge", r.path, w.Header().Values("WWW-Authenticate"))
		}
	}
	// The answer to the Basic challenge: any user name, the token as the password.
	if w := f.do(t, req{path: "/api/", token: "-", header: map[string]string{"Authorization": "Basic " + basic("anyone", tokenAlice)}}); w.Code != http.StatusOK {
		t.Errorf("Basic with the token as password: %d", w.Code)
	}
}
