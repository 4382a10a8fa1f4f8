package taxii_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// TestClientMaxObjects: a page of at most MaxObjects objects (and
// openings) reads as without the bound; one of more fails with
// ErrTooManyObjects, the objects and the x_parley_openings alike.
func TestClientMaxObjects(t *testing.T) {
	for _, tc := range []struct {
		body    string
		objects int
		err     bool
	}{
		{body: `{"more":true,"next":"n","objects":[{"id":"a"},{"id":"b"}]}`, objects: 2},
		{body: `{"more":false,"objects":null}`},
		{body: `{"more":false}`},
		{body: `{"objects":[{},{},{}]}`, err: true},
		{body: `{"objects":[{}],"x_parley_openings":[{},{},{}]}`, err: true},
		{body: `{"objects":[{},{},{}],"objects":[{}]}`, err: true},
		{body: `{"objects":{"a":1}}`, err: true},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.Write([]byte(tc.body))
		}))
		c := &taxii.Client{BaseURL: hs.URL, MaxObjects: 2}
		env, err := c.Objects(context.Background(), "c", taxii.Query{})
		hs.Close()
		if tc.err {
			if err == nil || tc.body != `{"objects":{"a":1}}` && !errors.Is(err, taxii.ErrTooManyObjects) {
				t.Errorf("%s: err = %v", tc.body, err)
			}
			continue
		}
		if err != nil || len(env.Objects) != tc.objects {
			t.Errorf("%s: %+v, %v", tc.body, env, err)
		}
	}
	// The same page without the bound.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write([]byte(`{"more":true,"next":"n","objects":[{},{},{}]}`))
	}))
	defer hs.Close()
	env, err := (&taxii.Client{BaseURL: hs.URL}).Objects(context.Background(), "c", taxii.Query{})
	if err != nil || len(env.Objects) != 3 || env.Next != "n" || !env.More {
		t.Fatalf("%+v, %v", env, err)
	}
}
