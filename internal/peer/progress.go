package peer

import (
	"net/http"
	"time"

	"github.com/parley-exchange/parley/internal/slowlink"
)

// DefaultStallTimeout is how long a request to a peer may make no
// progress before it is abandoned (see [Config.StallTimeout] and
// [slowlink.DefaultStallTimeout]).
const DefaultStallTimeout = slowlink.DefaultStallTimeout

// DefaultMinRate is the slowest a response body from a peer may come once
// its request has run for longer than the client's Timeout (see
// [Config.MinRate] and [slowlink.DefaultMinRate]).
const DefaultMinRate = slowlink.DefaultMinRate

// ErrStalled is returned (wrapped in a [*StallError]) by a request to a
// peer that made no progress for the stall timeout.
var ErrStalled = slowlink.ErrStalled

// StallError says which request to a peer made no progress, and for how
// long ([slowlink.StallError]).
type StallError = slowlink.StallError

// withProgressDeadline returns hc as a [slowlink.Client] for requests to
// a peer: abandoned after d without progress, and past hc's Timeout only
// while the body comes at minRate bytes a second.
func withProgressDeadline(hc *http.Client, d time.Duration, minRate int64) *http.Client {
	return slowlink.Client(hc, d, minRate, "the peer")
}
