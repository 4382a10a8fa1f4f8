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
	refused, err := push(ctx, client, collectionID, key, objs, false)
	if err == nil && len(refused) > 0 {
		err = fmt.Errorf("%w: the node refused %d of %d objects (%s)", ErrPush, len(refused), len(objs), refused[0].Reason)
	}
	return err
}

// Refused is an object that the node refused for what it is (see
// [PushSeparating]): it would refuse it again at every try.
type Refused struct {
	Object map[string]any
	// Reason is the node's answer.
	Reason string
}

// PushSeparating is [Push] that tells the objects the node refuses for
// what they are from the rest, which it stores: an object the node names
// as failed in its status, or the one object of an envelope it refuses
// whole as a bad or too large request (400, 409, 413, 422; an envelope of
// several is split in halves until the refused ones are alone). Those
// are returned, with no error. An envelope refused otherwise (401, 403 or
// 404: the member may not write the collection; 429, 5xx; no connection)
// is an error, as with Push: that is not one object's refusal.
func PushSeparating(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any) ([]Refused, error) {
	return push(ctx, client, collectionID, key, objs, true)
}

func push(ctx context.Context, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, separate bool) ([]Refused, error) {
	raw := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPush, err)
		}
		if b, err = stix.Sign(b, key); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPush, err)
		}
		raw = append(raw, b)
	}
	var refused []Refused
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
		if !separate {
			st, err := client.AddObjects(ctx, collectionID, raw[start:end])
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrPush, err)
			}
			if st.FailureCount > 0 {
				msg := ""
				if len(st.Failures) > 0 {
					msg = " (" + st.Failures[0].Message + ")"
				}
				return nil, fmt.Errorf("%w: the node refused %d of %d objects%s", ErrPush, st.FailureCount, end-start, msg)
			}
		} else {
			var err error
			if refused, err = postSeparating(ctx, client, collectionID, raw[start:end], objs[start:end], refused); err != nil {
				return nil, err
			}
		}
		start = end
	}
	return refused, nil
}

// postSeparating posts raw (the signed objs) in one envelope and appends
// to refused the objects the node refuses for what they are (see
// [PushSeparating]).
func postSeparating(ctx context.Context, client *taxii.Client, collectionID string, raw []json.RawMessage, objs []map[string]any, refused []Refused) ([]Refused, error) {
	st, err := client.AddObjects(ctx, collectionID, raw)
	if err != nil {
		if !objectRefusal(err) {
			return refused, fmt.Errorf("%w: %w", ErrPush, err)
		}
		if len(raw) == 1 {
			return append(refused, Refused{Object: objs[0], Reason: err.Error()}), nil
		}
		// One object (or a few) refuses the whole envelope: the node
		// stores none of it. Halves until the refused ones are alone.
		h := len(raw) / 2
		if refused, err = postSeparating(ctx, client, collectionID, raw[:h], objs[:h], refused); err != nil {
			return refused, err
		}
		return postSeparating(ctx, client, collectionID, raw[h:], objs[h:], refused)
	}
	if st.FailureCount == 0 {
		return refused, nil
	}
	// The status names each failed object by its id.
	byID := make(map[string]int, len(objs))
	for i, o := range objs {
		if id, ok := o["id"].(string); ok {
			byID[id] = i
		}
	}
	named := 0
	for _, f := range st.Failures {
		if i, ok := byID[f.ID]; ok {
			refused = append(refused, Refused{Object: objs[i], Reason: f.Message})
			delete(byID, f.ID)
			named++
		}
	}
	if named < st.FailureCount {
		msg := ""
		if len(st.Failures) > 0 {
			msg = " (" + st.Failures[0].Message + ")"
		}
		return refused, fmt.Errorf("%w: the node refused %d of %d objects%s without naming each", ErrPush, st.FailureCount, len(raw), msg)
	}
	return refused, nil
}

// objectRefusal reports whether the node refused an envelope for what its
// objects are: 400 Bad Request, 409 Conflict, 413 Content Too Large or
// 422 Unprocessable Content. Not a refusal of the member (401, 403), of
// the collection (404) or for the node's state (429, 5xx, 507).
func objectRefusal(err error) bool {
	var re *taxii.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
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
	_, err := pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, false)
	return err
}

// PushRetryingSeparating is [PushRetrying] with [PushSeparating]: it
// returns the objects the node refused for what they are (of the try
// that succeeded), which no retry would store.
func PushRetryingSeparating(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration)) ([]Refused, error) {
	return pushRetrying(ctx, stop, tryTimeout, client, collectionID, key, objs, waiting, true)
}

func pushRetrying(ctx, stop context.Context, tryTimeout time.Duration, client *taxii.Client, collectionID string, key ed25519.PrivateKey, objs []map[string]any, waiting func(err error, wait time.Duration), separate bool) ([]Refused, error) {
	wait := pushRetryFirst
	for {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if tryTimeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, tryTimeout)
		}
		var refused []Refused
		var err error
		if separate {
			refused, err = PushSeparating(tctx, client, collectionID, key, objs)
		} else {
			err = Push(tctx, client, collectionID, key, objs)
		}
		cancel()
		if err == nil || !Unavailable(err) || stop.Err() != nil || ctx.Err() != nil {
			return refused, err
		}
		if waiting != nil {
			waiting(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-stop.Done():
			t.Stop()
			return nil, err
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, pushRetryMax)
	}
}
