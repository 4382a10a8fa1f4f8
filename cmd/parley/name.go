package main

import "strings"

// maxFollowName is the longest peer or feed name (peer.CheckName,
// feed.CheckName).
const maxFollowName = 64

// nameFromTitle derives the default name of a peer or a feed from the
// title of its local collection (--into), which may hold spaces and any
// other character: every run of characters other than ASCII letters,
// digits, '-', '_' and '.' becomes one '-', leading and trailing '-' are
// dropped, and the result is cut to maxFollowName bytes. "intel from B"
// gives "intel-from-B". It returns "" when nothing is left (a title of
// only other characters): the caller then asks for --name.
func nameFromTitle(title string) string {
	var b strings.Builder
	dash := false
	for _, c := range title {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > maxFollowName {
		name = strings.TrimRight(name[:maxFollowName], "-")
	}
	return name
}
