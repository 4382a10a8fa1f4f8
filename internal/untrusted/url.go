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

// URLRedacted returns u as [url.URL.Redacted] does, but with its whole
// user information, not only the password, replaced by "xxxxx": a user
// name may be a token itself (https://parley_TOKEN@host). The query is
// kept: it names what was asked.
func URLRedacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = url.User("xxxxx")
	return v.String()
}
