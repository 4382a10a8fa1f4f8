package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
)

// TestObjectPageOpinionsBeforeLatestVersion: an opinion names an object,
// not one of its versions, so the opinions agreeing with a report still
// count after its author changes what it says; the object page marks
// those dated before the object's latest version, and only those.
func TestObjectPageOpinionsBeforeLatestVersion(t *testing.T) {
	ctx := context.Background()
	s, me := oneMemberStore(t, "c")
	const id = "report--00000000-0000-4000-8000-000000000001"
	raw := []byte(`{"id":"` + id + `","name":"the report","type":"report"}`)
	sub := store.Submission{StatusID: "st", Collection: "c", Member: me.ID, Received: time.Now(), Items: []store.Item{{
		Object: store.Object{ID: id, Type: "report", SpecVersion: "2.1", Version: time.Now(), Raw: raw},
		Salt:   make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return raw, nil }}}}
	if _, err := s.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	answer := opinion.Concurrence{
		Tally: opinion.Tally{Object: id, Counts: map[opinion.Value]int{opinion.Agree: 2}, Votes: []opinion.Vote{
			{Member: "identity--00000000-0000-4000-8000-00000000000a", Value: opinion.Agree, OpinionID: "opinion--00000000-0000-4000-8000-00000000000a", Version: "2026-09-17T09:10:00.000Z"},
			{Member: "identity--00000000-0000-4000-8000-00000000000b", Value: opinion.Agree, OpinionID: "opinion--00000000-0000-4000-8000-00000000000b", Version: "2026-09-21T00:00:00.000Z"},
		}},
		Voices: 2, MembersWithAccess: 2, ObjectLatestVersion: "2026-09-20T00:00:00.000Z",
	}
	u := &heavyUI{}
	var err error
	u.h, err = New(Deps{Store: s, MaxObjectSize: maxObject,
		Authenticate: func(context.Context, string) (store.Member, error) { return me, nil },
		Reserve:      func(context.Context, store.Member, int64) (func(), error) { return func() {}, nil },
		Concurrence: func(context.Context, store.Member, string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return 0, func(context.Context) (opinion.Concurrence, error) { return answer, nil }, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	u.cookie = u.login(t)
	w, _, _ := u.get("/ui/objects/"+id, "1 of these opinions are dated before the latest version of this object (2026-09-20T00:00:00.000Z)", "given before the latest version</small>")
	if w.status != http.StatusOK || !w.found[0] || !w.found[1] {
		t.Errorf("status %d; the note on opinions dated before the latest version shown: %v, a vote marked: %v", w.status, w.found[0], w.found[1])
	}
	answer.ObjectLatestVersion = "2026-09-01T00:00:00.000Z"
	if w, _, _ = u.get("/ui/objects/"+id, "dated before the latest version", "given before the latest version"); w.status != http.StatusOK || w.found[0] || w.found[1] {
		t.Errorf("status %d; with every opinion dated after the latest version, the note shown: %v, a vote marked: %v", w.status, w.found[0], w.found[1])
	}
}
