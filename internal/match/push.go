package match

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// ErrPush is wrapped by [Push]'s errors: the node could not be reached,
// or refused some of the objects.
var ErrPush = errors.New("couldn't push the sightings")

// pushBatch keeps envelopes well below the node's default limits.
const pushBatch = 1000

// pushBytes bounds an envelope's objects, in bytes of their JSON: well
// below a node's default max_content_length (10 MiB), room left for the
// envelope around them.
const pushBytes = 8 << 20

// Push signs every object with the Parley signature extension
// (stix.Sign) and posts them to the collection. The sightings and
// observed-data name their creator (created_by_ref, the member whose key
// this is); the observables that observed-data refers to carry no creator,
// and the node accepts such an object only when it is signed by the
// member who sends it, so they are signed too: a node never stores
// observed-data whose observables it refused. The key never appears in
// errors.
func Push(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any) error {
	raw := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPush, err)
		}
		if b, err = stix.Sign(b, key); err != nil {
			return fmt.Errorf("%w: %v", ErrPush, err)
		}
		raw = append(raw, b)
	}
	for start := 0; start < len(raw); {
		// An envelope holds pushBatch objects, or fewer that make
		// pushBytes: a fleet member's sightings name the stream
		// sequences they count, so they can be large, and an envelope
		// over the node's max_content_length is refused (413) every time
		// it is sent again, by any member the messages go to.
		end, size := start+1, len(raw[start])
		for end < len(raw) && end-start < pushBatch && size+len(raw[end]) <= pushBytes {
			size += len(raw[end])
			end++
		}
		st, err := client.AddObjects(ctx, collectionID, raw[start:end])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPush, err)
		}
		if st.FailureCount > 0 {
			msg := ""
			if len(st.Failures) > 0 {
				msg = " (" + st.Failures[0].Message + ")"
			}
			return fmt.Errorf("%w: the node refused %d of %d objects%s", ErrPush, st.FailureCount, end-start, msg)
		}
		start = end
	}
	return nil
}

// Unavailable reports whether a push failed because the node could not
// take it now and may later: it could not be reached (no connection, a
// connection cut, a timeout), or it answered 429 Too Many Requests, 502,
// 503 or 504. A refusal (4xx, a failed object, 507 Insufficient Storage)
// and a certificate that doesn't verify are not: trying again gives the
// same answer until someone changes something.
func Unavailable(err error) bool {
	var re *taxii.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) {
		return false
	}
	var ue *neturl.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Waits between a push's tries while the node is unavailable: the first
// wait, and the longest (each wait doubles the one before). Variables for
// the tests.
var (
	pushRetryFirst = time.Second
	pushRetryMax   = 30 * time.Second
)

// PushRetrying is [Push], tried again while the node is unavailable
// ([Unavailable]) until it succeeds, fails otherwise, or stop is done
// (then it returns the last error). The waits start at a second and
// double up to 30 seconds; waiting, if not nil, is told of each one.
// Each try runs with ctx, bounded by tryTimeout when it is positive, so
// that a try already under way when stop is done can still deliver.
// Trying again is safe: the node answers an object it already holds with
// the same content "already stored", and signing is deterministic, so a
// batch that was taken before the connection broke is not stored twice.
func PushRetrying(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration)) error {
	wait := pushRetryFirst
	for {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if tryTimeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, tryTimeout)
		}
		err := Push(tctx, client, collectionID, key, objs)
		cancel()
		if err == nil || !Unavailable(err) || stop.Err() != nil || ctx.Err() != nil {
			return err
		}
		if waiting != nil {
			waiting(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-stop.Done():
			t.Stop()
			return err
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, pushRetryMax)
	}
}
