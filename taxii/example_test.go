package taxii_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/parley-exchange/parley/taxii"
)

// ExampleClient_ObjectPages pulls every object of a collection, page by
// page, following the server's cursors.
func ExampleClient_ObjectPages() {
	srv := httptest.NewServer(exampleServer())
	defer srv.Close()

	c := &taxii.Client{BaseURL: srv.URL, Token: "example-token"}
	ctx := context.Background()
	for env, err := range c.ObjectPages(ctx, "c0ffee00-0000-4000-8000-000000000001", taxii.Query{Limit: 2}) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		for _, o := range env.Objects {
			var obj struct{ ID string }
			json.Unmarshal(o, &obj)
			fmt.Println(obj.ID)
		}
	}
	_, err := c.Collection(ctx, "not-mine")
	fmt.Println(err)
	// Output:
	// indicator--00000000-0000-4000-8000-000000000000
	// indicator--00000000-0000-4000-8000-000000000001
	// indicator--00000000-0000-4000-8000-000000000002
	// taxii server answered 404 Not Found: no such resource
}

// exampleServer serves three objects in one readable collection, two per
// page, with a cursor that is the index of the next object.
func exampleServer() http.Handler {
	return taxii.NewHandler(taxii.Config{MaxPageSize: 2}, exampleBackend{})
}

type exampleBackend struct{}

func (exampleBackend) Authenticate(_ context.Context, token string) (taxii.Principal, error) {
	if token != "example-token" {
		return taxii.Principal{}, taxii.ErrUnauthorized
	}
	return taxii.Principal{MemberID: "identity--00000000-0000-4000-8000-000000000001"}, nil
}

func (b exampleBackend) Collections(ctx context.Context, p taxii.Principal) ([]taxii.Collection, error) {
	c, _ := b.Collection(ctx, p, "c0ffee00-0000-4000-8000-000000000001")
	return []taxii.Collection{c}, nil
}

func (exampleBackend) Collection(_ context.Context, _ taxii.Principal, id string) (taxii.Collection, error) {
	if id != "c0ffee00-0000-4000-8000-000000000001" {
		return taxii.Collection{}, taxii.ErrNotFound
	}
	return taxii.Collection{ID: id, Title: "Example", CanRead: true}, nil
}

func (exampleBackend) Objects(_ context.Context, _ taxii.Principal, _ string, q taxii.Query) (taxii.Page, error) {
	start := 0
	if q.Next != "" {
		if _, err := fmt.Sscanf(q.Next, "%d", &start); err != nil {
			return taxii.Page{}, taxii.BadRequest("next: not a cursor this server issued")
		}
	}
	var page taxii.Page
	for i := start; i < 3; i++ {
		if len(page.Items) == q.Limit {
			page.More, page.Next = true, fmt.Sprint(i)
			break
		}
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		page.Items = append(page.Items, taxii.Item{ID: id, Version: "2026-01-01T00:00:00.000Z",
			Object: json.RawMessage(`{"type":"indicator","id":"` + id + `"}`)})
	}
	return page, nil
}

func (exampleBackend) AddObjects(context.Context, taxii.Principal, string, []json.RawMessage) (taxii.Status, error) {
	return taxii.Status{}, taxii.ErrForbidden
}

func (exampleBackend) Status(context.Context, taxii.Principal, string) (taxii.Status, error) {
	return taxii.Status{}, taxii.ErrNotFound
}
