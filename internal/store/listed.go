package store

// ListedMembers returns the members that viewer (a member id) is shown in
// the node's member lists (GET /members, the web UI's members page):
// every member but the members of the node's peers and feeds, which only
// readers of the collection they fill see. Such a member's name is the
// operator's, often taken from that collection's title ("peer:intel-from-B"),
// and it would tell the others of a collection they may not read and
// whom the node follows. Nobody else needs it: only readers of the
// collection see the objects it shared.
func ListedMembers(viewer string, members []Member, colls []Collection, peers []Peer, feeds []Feed) []Member {
	into := map[string][]string{} // member id -> the collections it fills
	for _, p := range peers {
		into[p.Member] = append(into[p.Member], p.Into)
	}
	for _, f := range feeds {
		into[f.Member] = append(into[f.Member], f.Into)
	}
	byID := make(map[string]Collection, len(colls))
	for _, c := range colls {
		byID[c.ID] = c
	}
	out := make([]Member, 0, len(members))
	for _, m := range members {
		fills, system := into[m.ID]
		listed := !system || m.ID == viewer
		for _, id := range fills {
			if c, ok := byID[id]; ok && c.CanRead(viewer) {
				listed = true
			}
		}
		if listed {
			out = append(out, m)
		}
	}
	return out
}
