package feed

import "time"

// SetRequestTimeout sets the bound of one request to a feed's server for a
// test, and returns what restores it.
func SetRequestTimeout(d time.Duration) (restore func()) {
	old := requestTimeout
	requestTimeout = d
	return func() { requestTimeout = old }
}
