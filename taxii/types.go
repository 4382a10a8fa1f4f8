// Package taxii implements TAXII 2.1 (OASIS Standard, 10 June 2021,
// https://docs.oasis-open.org/cti/taxii/v2.1/taxii-v2.1.html): the wire
// resources of section 3 to 5, an [http.Handler] that serves one API root
// over a [Backend], and a [Client].
//
// The server side is split so that the protocol rules (media types, query
// parameters, limits, pagination envelopes, error message resources) live
// here and the policy (who may read what, what is stored, how cursors are
// made) lives behind [Backend], which Parley's node implements over its
// store.
package taxii

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// Media types of TAXII 2.1 (section 1.6.8.1).
const (
	// MediaType is the media type of every TAXII 2.1 resource, including
	// the envelope that carries STIX objects.
	MediaType = "application/taxii+json;version=2.1"
	// STIXMediaType is the media type of a STIX 2.1 object, used in
	// collections' media_types and manifest records.
	STIXMediaType = "application/stix+json;version=2.1"
)

// Discovery is the discovery resource (section 4.1.1) served at /taxii2/.
type Discovery struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Contact     string `json:"contact,omitempty"`
	// Default is the URL of the default API root.
	Default string `json:"default,omitempty"`
	// APIRoots lists the URLs of the API roots.
	APIRoots []string `json:"api_roots,omitempty"`
}

// APIRoot is the API root information resource (section 4.2.1).
type APIRoot struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Versions    []string `json:"versions"`
	// MaxContentLength is the largest request body, in octets, that the
	// API root accepts; larger requests get 413.
	MaxContentLength int64 `json:"max_content_length"`
}

// Collection is the collection resource (section 5.2.1). A [Backend] fills
// CanRead and CanWrite for the principal that asked.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
	// Relay is Parley's custom property (TAXII 2.1 section 3.1 allows x_
	// properties): true for a relay collection, whose objects may have
	// been authored by someone other than the member who shared them
	// (their created_by_ref is a claim the node did not check).
	Relay bool `json:"x_parley_relay,omitempty"`
	// Signatures is Parley's custom property naming the collection's
	// signature policy: "required", or "optional" when it accepts
	// unsigned objects. Other servers send none.
	Signatures string `json:"x_parley_signatures,omitempty"`
	// WriteRefusal is not sent: when CanWrite is false, a [Backend] may
	// say here why, and the handler's 403 to a POST says it instead of
	// its plain "you may not write to this collection".
	WriteRefusal string `json:"-"`
}

// Collections is the collections resource (section 5.1.1).
type Collections struct {
	Collections []Collection `json:"collections,omitempty"`
}

// Envelope is the envelope resource (section 3.7) that carries STIX objects
// in responses and requests.
type Envelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
	// Openings is Parley's custom property (TAXII 2.1 section 3.1 allows
	// x_ properties): for each object, in the same order, its log entry's
	// index and opening, so that a client checks every object against the
	// log ([tlog.CheckObject]) without trusting the node. Nodes that don't
	// keep a log, and other servers, send none.
	Openings []ObjectOpening `json:"x_parley_openings,omitempty"`
	// DateAdded holds the X-TAXII-Date-Added-First/Last headers of the
	// response that carried the envelope; [Client] fills it.
	DateAdded DateAddedRange `json:"-"`
	// Checks and Refused are filled by a [Client] with a Verifier: Checks
	// pairs with Objects (what was established of each), Refused lists
	// the objects that failed and were removed.
	Checks  []Check   `json:"-"`
	Refused []Refusal `json:"-"`
}

// Check is what a verifying [Client] established about one object.
type Check struct {
	tlog.ObjectCheck
	// Unsigned is true for an object accepted unsigned by its collection
	// (its entry and commitment matched; nobody vouches for its content).
	Unsigned bool
}

// ObjectOpening is one object's log entry index and opening in an
// [Envelope].
type ObjectOpening struct {
	LogIndex uint64 `json:"log_index"`
	tlog.Opening
}

// DateAddedRange is the date added of the first and last item of a
// response (the X-TAXII-Date-Added-First/Last headers, section 3.3); both
// are zero when the server sent none. A client that polls passes Last as
// the next added_after.
type DateAddedRange struct {
	First, Last time.Time
}

// ManifestRecord is one entry of a manifest (section 5.3.1). Timestamps are
// kept as the strings that were sent, so that a client can decode a server
// that formats them loosely.
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// Manifest is the manifest resource (section 5.3.1). Next is the cursor
// for the following page; the specification only names it for envelopes,
// but a stateless pager needs it here too, and clients ignore it.
type Manifest struct {
	More    bool             `json:"more"`
	Next    string           `json:"next,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`
	// DateAdded: see [Envelope].
	DateAdded DateAddedRange `json:"-"`
}

// Versions is the versions resource (section 5.7.1): the versions of one
// object, oldest first. Next has the same role as in [Manifest].
type Versions struct {
	More     bool     `json:"more"`
	Next     string   `json:"next,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// DateAdded: see [Envelope].
	DateAdded DateAddedRange `json:"-"`
}

// Status values of a [Status] resource.
const (
	StatusComplete = "complete"
	StatusPending  = "pending"
)

// Status is the status resource (section 4.3.1) returned by add objects
// and by the status endpoint.
type Status struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// RequestTimestamp is the time the request was received, formatted
	// with [FormatTimestamp].
	RequestTimestamp string          `json:"request_timestamp,omitempty"`
	TotalCount       int             `json:"total_count"`
	SuccessCount     int             `json:"success_count"`
	Successes        []StatusDetails `json:"successes,omitempty"`
	FailureCount     int             `json:"failure_count"`
	Failures         []StatusDetails `json:"failures,omitempty"`
	PendingCount     int             `json:"pending_count"`
	Pendings         []StatusDetails `json:"pendings,omitempty"`
}

// StatusDetails describes one object of an add-objects request (section
// 4.3.1.1). Message explains a failure; it is shown to the member who sent
// the object and must not hold secrets.
type StatusDetails struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

// Error is the error message resource (section 3.6.1). It is also a Go
// error: [Client] methods return it (wrapped in a [*ResponseError]) when
// the server answered with one.
type Error struct {
	Title           string `json:"title"`
	Description     string `json:"description,omitempty"`
	ErrorID         string `json:"error_id,omitempty"`
	ErrorCode       string `json:"error_code,omitempty"`
	HTTPStatus      string `json:"http_status,omitempty"`
	ExternalDetails string `json:"external_details,omitempty"`
	// Details holds further machine-readable information.
	Details map[string]any `json:"details,omitempty"`
}

// Error returns the title and, when there is one, the description.
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Title
	}
	return e.Title + ": " + e.Description
}

// UnmarshalJSON accepts http_status as a string, as the specification
// types it, and as a number, as some servers send it.
func (e *Error) UnmarshalJSON(b []byte) error {
	type plain Error
	var v struct {
		plain
		HTTPStatus json.RawMessage `json:"http_status"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Error(v.plain)
	e.HTTPStatus = ""
	if len(v.HTTPStatus) > 0 && string(v.HTTPStatus) != "null" {
		var s string
		if err := json.Unmarshal(v.HTTPStatus, &s); err == nil {
			e.HTTPStatus = s
		} else {
			var n json.Number
			if err := json.Unmarshal(v.HTTPStatus, &n); err != nil {
				return err
			}
			e.HTTPStatus = n.String()
		}
	}
	return nil
}

// timestampLayout formats TAXII timestamps in UTC with microseconds, the
// precision the specification recommends for date_added so that paging by
// added_after neither skips nor repeats objects added within a second.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// FormatTimestamp formats t as a TAXII 2.1 timestamp (section 3.2): RFC
// 3339, UTC, "Z", microsecond precision.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(timestampLayout)
}

// ParseTimestamp parses a TAXII 2.1 timestamp: RFC 3339 with a "Z" zone
// and any number of fractional digits (sub-nanosecond digits are cut).
func ParseTimestamp(s string) (time.Time, error) {
	if !validTimestamp(s) {
		return time.Time{}, &timestampError{s}
	}
	t, err := time.Parse(time.RFC3339Nano, truncateFraction(s))
	if err != nil {
		return time.Time{}, &timestampError{s}
	}
	return t.UTC(), nil
}

type timestampError struct{ s string }

func (e *timestampError) Error() string {
	return "invalid timestamp " + strconv.Quote(truncate(e.s)) + ": want RFC 3339 in UTC, such as 2026-01-02T15:04:05.123Z"
}

// validTimestamp checks the shape YYYY-MM-DDTHH:MM:SS[.f+]Z, which is
// stricter than time.Parse (it requires "T", "Z" and two-digit fields).
func validTimestamp(s string) bool {
	const base = len("2006-01-02T15:04:05")
	if len(s) < base+1 || s[len(s)-1] != 'Z' {
		return false
	}
	for i := 0; i < base; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	rest := s[base : len(s)-1]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// truncateFraction keeps at most nine fractional digits, which is what
// time.Parse accepts.
func truncateFraction(s string) string {
	const base = len("2006-01-02T15:04:05.")
	if len(s) > base+10 { // nine digits plus "Z"
		return s[:base+9] + "Z"
	}
	return s
}
