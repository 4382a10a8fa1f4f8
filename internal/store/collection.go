package store

import (
	"fmt"
	"time"
)

// MemberAccess is one member's rights in a collection.
type MemberAccess struct {
	Member      string
	Read, Write bool
}

// PrepareNew checks c for [Store.AddCollection] and fills its defaults
// (signatures required, Created = now when zero). It returns the access
// list to store: each member of Readers and Writers once, in the order it
// first appears there (readers first), with its rights. Every store calls
// it, so that what a collection may be is decided in one place.
func (c *Collection) PrepareNew(now time.Time) ([]MemberAccess, error) {
	if c.ID == "" || c.Title == "" {
		return nil, fmt.Errorf("couldn't add collection: empty id or title: %w", ErrInvalid)
	}
	if c.Signatures == "" {
		c.Signatures = SignaturesRequired
	}
	if c.Signatures != SignaturesRequired && c.Signatures != SignaturesOptional {
		return nil, fmt.Errorf("couldn't add collection: unknown signature policy %q: %w", c.Signatures, ErrInvalid)
	}
	if c.Created.IsZero() {
		c.Created = now
	}
	var list []MemberAccess
	pos := map[string]int{}
	entry := func(m string) *MemberAccess {
		i, seen := pos[m]
		if !seen {
			i = len(list)
			pos[m] = i
			list = append(list, MemberAccess{Member: m})
		}
		return &list[i]
	}
	for _, m := range c.Readers {
		entry(m).Read = true
	}
	for _, m := range c.Writers {
		entry(m).Write = true
	}
	return list, nil
}
