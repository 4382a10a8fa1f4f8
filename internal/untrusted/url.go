package untrusted

import "net/url"

// URLHasSecret reports whether u carries what may be a secret, and so
// must not be repeated where others read it: a user or password, or a
// query (an API key).
func URLHasSecret(u *url.URL) bool {
	return u.User != nil || u.RawQuery != "" || u.ForceQuery
}

// URLWithoutSecret returns u without its user information, query and
// fragment: fit to name the URL in an error, a log line or a description
// others read.
func URLWithoutSecret(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment = nil, "", false, ""
	return v.String()
}
