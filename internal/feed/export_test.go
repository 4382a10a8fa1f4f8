package feed

import "time"

// SetRequestTimeout sets the bound of one request to a feed's server for a
// test, and returns what restores it.
func SetRequestTimeout(d time.Duration) (restore func()) {
	old := requestTimeout
	requestTimeout = d
	return func() { requestTimeout = old }
}

// SetStallTimeout sets how long a request to a feed's server may make no
// progress, and the slowest its response body may come past the request
// timeout, for a test, and returns what restores them.
func SetStallTimeout(d time.Duration, rate int64) (restore func()) {
	oldD, oldRate := stallTimeout, minRate
	stallTimeout, minRate = d, rate
	return func() { stallTimeout, minRate = oldD, oldRate }
}

// SetMaxRoundTime sets how long a round goes on for a test, and returns
// what restores it.
func SetMaxRoundTime(d time.Duration) (restore func()) {
	old := maxRoundTime
	maxRoundTime = d
	return func() { maxRoundTime = old }
}

// ResumeAfter is resumeAfter, for the tests.
var ResumeAfter = resumeAfter
