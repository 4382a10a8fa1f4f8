package taxii

import "testing"

// TestAcceptable: the weight of the TAXII 2.1 response is the q of the
// most specific range that matches it (RFC 9110 section 12.5.1), and a
// range with q=0 makes it not acceptable (section 12.4.2) whatever less
// specific ranges allow.
func TestAcceptable(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		want   bool
	}{
		{[]string{"application/taxii+json;version=2.1"}, true},
		{[]string{"application/taxii+json"}, true},
		{[]string{"Application/TAXII+JSON; Version=2.1"}, true},
		{[]string{"application/taxii+json;version=2.1;q=0.001"}, true},
		{[]string{"application/taxii+json;version=2.1;q=0"}, false},
		{[]string{"application/taxii+json;version=2.1;q=0.000"}, false},
		{[]string{"application/taxii+json;q=0"}, false},
		// The more specific range's q=0 wins over a less specific one's.
		{[]string{"application/taxii+json;version=2.1;q=0, application/taxii+json"}, false},
		{[]string{"application/taxii+json, application/taxii+json;version=2.1;q=0"}, false},
		{[]string{"application/taxii+json;version=2.1;q=0", "application/taxii+json"}, false},
		{[]string{"application/taxii+json;version=2.1;q=0, */*"}, false},
		{[]string{"application/taxii+json;version=2.1;q=0, application/*"}, false},
		// And the more specific range's q>0 wins over a less specific q=0.
		{[]string{"application/taxii+json;q=0, application/taxii+json;version=2.1"}, true},
		{[]string{"application/taxii+json;version=2.1, */*;q=0"}, true},
		{[]string{"application/taxii+json, application/*;q=0"}, true},
		// A range for another version doesn't match the response.
		{[]string{"application/taxii+json;version=2.0, application/taxii+json;q=0"}, false},
		{[]string{"application/taxii+json;version=2.0;q=0, application/taxii+json"}, true},
		{[]string{"application/taxii+json;version=2.1;charset=utf-8"}, true},
		// At equal specificity, q=0 is not outweighed.
		{[]string{"application/taxii+json;version=2.1, application/taxii+json;version=2.1;q=0"}, false},
		// Wildcards alone are not enough (as at the OASIS reference server).
		{[]string{"*/*"}, false},
		{[]string{"application/*"}, false},
		{[]string{"*/*;q=0.1, application/taxii+json"}, true},
		{nil, false},
		// Malformed ranges and weights are ignored.
		{[]string{"application/taxii+json;q=2"}, false},
		{[]string{"application/taxii+json;q=x, application/taxii+json;version=2.1"}, true},
		{[]string{"application/taxii+json;version"}, false},
		{[]string{"text/html, application/taxii+json;version=2.1;q=0.5"}, true},
	} {
		if got := acceptable(tc.accept); got != tc.want {
			t.Errorf("Accept %q: acceptable %v, want %v", tc.accept, got, tc.want)
		}
	}
}
