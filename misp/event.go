package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// Event is a MISP event in the core format. Fields MISP writes as strings
// or numbers (timestamps, ids) and as booleans or "0"/"1" are accepted in
// either form.
type Event struct {
	UUID             string      `json:"uuid"`
	Info             string      `json:"info"`
	Date             string      `json:"date"`
	Timestamp        Timestamp   `json:"timestamp"`
	Published        Bool        `json:"published"`
	PublishTimestamp Timestamp   `json:"publish_timestamp"`
	Analysis         Text        `json:"analysis"`
	ThreatLevelID    Text        `json:"threat_level_id"`
	Distribution     Text        `json:"distribution,omitempty"`
	Orgc             Org         `json:"Orgc"`
	AttributeCount   Text        `json:"attribute_count,omitempty"`
	Attribute        []Attribute `json:"Attribute"`
	Object           []Object    `json:"Object"`
	Galaxy           []Galaxy    `json:"Galaxy"`
	Tag              []Tag       `json:"Tag"`
	// EventReport holds the event's reports: Markdown prose that cites
	// attributes and objects as @[attribute](<uuid>) and @[object](<uuid>).
	EventReport []EventReport `json:"EventReport,omitempty"`
	// ExtendsUUID names the event this one extends (MISP's extended
	// events); the converter lists the link as unsupported.
	ExtendsUUID string `json:"extends_uuid,omitempty"`
	// ShadowAttribute holds the proposals to add an attribute to the
	// event (see [Proposal]).
	ShadowAttribute []Proposal `json:"ShadowAttribute,omitempty"`
	AnalystData
}

// Proposal is a MISP proposal (a "shadow attribute"): another
// organisation's suggestion to add an attribute to an event, or to
// change or delete one of its attributes, which the event's creator has
// not accepted (an accepted one is an attribute). It is no part of the
// event: the converter lists it as unsupported.
type Proposal struct {
	UUID             string `json:"uuid,omitempty"`
	Type             string `json:"type"`
	ProposalToDelete Bool   `json:"proposal_to_delete,omitempty"`
	Org              *Org   `json:"Org,omitempty"`
}

// AnalystData is the analyst data MISP 2.4.190 and later attaches to
// events, attributes and objects (notes, opinions, relationships). It
// has no mapping here: the converter lists it as unsupported.
type AnalystData struct {
	Note         []AnalystDatum `json:"Note,omitempty"`
	Opinion      []AnalystDatum `json:"Opinion,omitempty"`
	Relationship []AnalystDatum `json:"Relationship,omitempty"`
}

// AnalystDatum is one note, opinion or relationship of [AnalystData].
type AnalystDatum struct {
	UUID string `json:"uuid"`
}

// EventReport is a MISP event report (MISP 2.4.140 and later).
type EventReport struct {
	UUID         string    `json:"uuid"`
	Name         string    `json:"name"`
	Content      string    `json:"content"`
	Timestamp    Timestamp `json:"timestamp"`
	Distribution Text      `json:"distribution,omitempty"`
	Deleted      Bool      `json:"deleted,omitempty"`
	AnalystData
}

// Org is a MISP organisation.
type Org struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Attribute is one MISP attribute, of an event or of an object.
type Attribute struct {
	UUID           string     `json:"uuid"`
	Type           string     `json:"type"`
	Category       string     `json:"category"`
	Value          string     `json:"value"`
	Comment        string     `json:"comment,omitempty"`
	ToIDs          Bool       `json:"to_ids"`
	Timestamp      Timestamp  `json:"timestamp"`
	FirstSeen      string     `json:"first_seen,omitempty"`
	LastSeen       string     `json:"last_seen,omitempty"`
	ObjectRelation string     `json:"object_relation,omitempty"`
	Deleted        Bool       `json:"deleted,omitempty"`
	Distribution   Text       `json:"distribution,omitempty"`
	Data           string     `json:"data,omitempty"`
	Tag            []Tag      `json:"Tag,omitempty"`
	Galaxy         []Galaxy   `json:"Galaxy,omitempty"`
	Sighting       []Sighting `json:"Sighting,omitempty"`
	// ShadowAttribute holds the proposals to change or delete the
	// attribute (see [Proposal]).
	ShadowAttribute []Proposal `json:"ShadowAttribute,omitempty"`
	// DecayScore is what MISP's REST search adds with
	// includeDecayingScore: the attribute's score under each decaying
	// model of the instance that answered. It is that instance's view,
	// not the attribute's data: the converter lists it as unsupported.
	DecayScore []DecayScore `json:"decay_score,omitempty"`
	AnalystData
}

// DecayScore is one decaying model's score of an attribute.
type DecayScore struct {
	Score         float64 `json:"score"`
	Decayed       Bool    `json:"decayed"`
	DecayingModel struct {
		Name string `json:"name"`
	} `json:"DecayingModel"`
}

// UnmarshalJSON accepts a value of any JSON scalar type (templates such
// as parler-account hold booleans and numbers).
func (a *Attribute) UnmarshalJSON(b []byte) error {
	type plain Attribute
	var v struct {
		plain
		Value Text `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Attribute(v.plain)
	a.Value = string(v.Value)
	return nil
}

// Object is a MISP object: attributes grouped by a template.
type Object struct {
	UUID         string    `json:"uuid"`
	Name         string    `json:"name"`
	MetaCategory string    `json:"meta-category,omitempty"`
	Comment      string    `json:"comment,omitempty"`
	Timestamp    Timestamp `json:"timestamp"`
	Deleted      Bool      `json:"deleted,omitempty"`
	Distribution Text      `json:"distribution,omitempty"`
	// FirstSeen and LastSeen are the object's first_seen and last_seen
	// (MISP 2.4.128 and later), as an attribute's.
	FirstSeen string      `json:"first_seen,omitempty"`
	LastSeen  string      `json:"last_seen,omitempty"`
	Attribute []Attribute `json:"Attribute"`
	// ObjectReference links this object to another object or attribute.
	ObjectReference []ObjectReference `json:"ObjectReference,omitempty"`
	AnalystData
}

// ObjectReference is a typed link from an object to another object or
// attribute of the event.
type ObjectReference struct {
	UUID string `json:"uuid,omitempty"`
	// ObjectUUID is the referencing object's uuid, as MISP's feeds
	// write it beside the object's own.
	ObjectUUID       string    `json:"object_uuid,omitempty"`
	ReferencedUUID   string    `json:"referenced_uuid"`
	RelationshipType string    `json:"relationship_type"`
	Timestamp        Timestamp `json:"timestamp,omitempty"`
	Comment          string    `json:"comment,omitempty"`
	Deleted          Bool      `json:"deleted,omitempty"`
}

// Galaxy is a MISP galaxy with the clusters used in the event.
type Galaxy struct {
	UUID          string    `json:"uuid"`
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	Description   string    `json:"description,omitempty"`
	GalaxyCluster []Cluster `json:"GalaxyCluster"`
}

// Cluster is one galaxy cluster (a threat actor, a malware family, an
// ATT&CK technique...).
type Cluster struct {
	UUID string `json:"uuid"`
	// CollectionUUID is the uuid of the cluster's collection (its
	// misp-galaxy clusters/*.json file); MISP exports older than this
	// field give it as uuid instead (see Converter's clusterID).
	CollectionUUID string         `json:"collection_uuid,omitempty"`
	Type           string         `json:"type,omitempty"`
	Value          string         `json:"value"`
	Description    string         `json:"description,omitempty"`
	Meta           map[string]any `json:"meta,omitempty"`
	// TagName is the tag that attaches the cluster to events and
	// attributes: misp-galaxy:<type>="<value>" for misp-galaxy's
	// clusters, misp-galaxy:<type>="<uuid>" for an organisation's own.
	TagName string `json:"tag_name,omitempty"`
	// Distribution is the cluster's own MISP distribution level, "0"
	// (your organisation only) to "4" (a sharing group); misp-galaxy's
	// default clusters have "3" (see [Restricted]).
	Distribution   Text `json:"distribution,omitempty"`
	SharingGroupID Text `json:"sharing_group_id,omitempty"`
	// Default is set on misp-galaxy's clusters, as opposed to those an
	// organisation made.
	Default Bool `json:"default,omitempty"`
	// Local is set on a cluster that a local tag attaches (MISP copies
	// the tag's "local" onto the cluster it exports): see [Tag.Local].
	Local Bool `json:"local,omitempty"`
}

// Tag is a MISP tag.
type Tag struct {
	Name   string `json:"name"`
	Colour string `json:"colour,omitempty"`
	// Local marks a tag an organisation keeps on its own MISP instance:
	// MISP's synchronisation never sends it to another instance, so
	// [Converter] never writes it (a local tlp: tag may still tighten
	// a marking, never loosen one).
	Local Bool `json:"local,omitempty"`
}

// Sighting is a MISP sighting of an attribute. Type "0" is a sighting,
// "1" a false positive, "2" an expiration. One element is one instance
// of a sighting (MISP core format, "Sighting"); an anonymised one has no
// Organisation.
type Sighting struct {
	UUID          string    `json:"uuid"`
	AttributeUUID string    `json:"attribute_uuid,omitempty"`
	DateSighting  Timestamp `json:"date_sighting"`
	Type          Text      `json:"type"`
	Source        string    `json:"source,omitempty"`
	Organisation  *Org      `json:"Organisation,omitempty"`
}

// Timestamp is a MISP timestamp: Unix seconds as a JSON string or number.
type Timestamp int64

// UnmarshalJSON accepts "1603642920", 1603642920 and "" (zero).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*t = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 253402300799 {
		return fmt.Errorf("bad timestamp %s", shown(b))
	}
	*t = Timestamp(n)
	return nil
}

// MarshalJSON writes the string form MISP writes.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(t), 10) + `"`), nil
}

// maxShown bounds the feed's text that an error quotes (a value, a uuid).
const maxShown = 64

// shown returns the JSON b of a document's value, fit to quote in an
// error: bounded, without control characters ([untrusted.Text]).
func shown(b []byte) string { return untrusted.Text(string(b), maxShown) }

// Time returns t as a UTC time.
func (t Timestamp) Time() time.Time { return time.Unix(int64(t), 0).UTC() }

// Bool is a MISP boolean: true/false, "1"/"0" or 1/0.
type Bool bool

// UnmarshalJSON accepts the forms MISP writes.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(b), `"`) {
	case "true", "1", "True":
		*v = true
	case "false", "0", "False", "", "null":
		*v = false
	default:
		return fmt.Errorf("bad boolean %s", shown(b))
	}
	return nil
}

// Text is a MISP field that is a string or a number ("threat_level_id":
// "3" or 3).
type Text string

// UnmarshalJSON accepts a string, a number or null.
func (v *Text) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Text(s)
		return nil
	}
	switch string(b) {
	case "null":
		*v = ""
		return nil
	case "true", "false":
		*v = Text(b)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("bad value %s", shown(b))
	}
	*v = Text(n)
	return nil
}

// MaxDocument is the largest MISP JSON document (one event, one feed file
// or one search response) the readers accept: an event bigger than this
// is almost surely not an event, and the bound keeps memory bounded.
const MaxDocument = 256 << 20

// ErrFormat is wrapped by the errors of documents that are not MISP
// events.
var ErrFormat = errors.New("not MISP JSON")

// ReadEvents reads MISP events from r: one event ({"Event": {...}}), a
// REST search response ({"response": [{"Event": ...}, ...]}), a JSON array
// of {"Event": ...}, or a bare event object (with "uuid" and "info"). It
// calls fn for each event as it is decoded, so that a large response is
// never held whole; an error from fn stops the reading and is returned.
// A document over [MaxDocument] bytes or of another shape fails with an
// error wrapping [ErrFormat].
func ReadEvents(r io.Reader, fn func(*Event) error) error {
	lr := &io.LimitedReader{R: r, N: MaxDocument + 1}
	dec := json.NewDecoder(lr)
	err := readEvents(dec, lr, func(ev *Event) error {
		if err := fn(ev); err != nil {
			return callerError{err}
		}
		return nil
	})
	if ce, ok := err.(callerError); ok {
		return ce.err
	}
	return err
}

// callerError carries an error of ReadEvents' fn up through the readers,
// which add the position of the event only to their own errors.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

func readEvents(dec *json.Decoder, lr *io.LimitedReader, fn func(*Event) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, tooBig(lr, err))
	}
	switch tok {
	case json.Delim('['):
		if err := eventArray(dec, fn); err != nil {
			return tooBig(lr, err)
		}
	case json.Delim('{'):
		if err := eventObject(dec, fn); err != nil {
			return tooBig(lr, err)
		}
	default:
		return fmt.Errorf("%w: the document is not a JSON object or array", ErrFormat)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: text after the JSON document", ErrFormat)
	}
	return nil
}

func tooBig(lr *io.LimitedReader, err error) error {
	if _, ok := err.(callerError); !ok && lr.N <= 0 {
		return fmt.Errorf("%w: the document is larger than %d MiB", ErrFormat, MaxDocument>>20)
	}
	return err
}

// eventObject reads the members of an object whose '{' was read: an
// "Event" or "response" wrapper, or a bare event.
func eventObject(dec *json.Decoder, fn func(*Event) error) error {
	bare := map[string]json.RawMessage{}
	sawWrapper := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		key, _ := kt.(string)
		switch key {
		case "Event":
			sawWrapper = true
			var ev Event
			if err := dec.Decode(&ev); err != nil {
				return fmt.Errorf("%w: Event: %v", ErrFormat, err)
			}
			if err := checkEvent(&ev); err != nil {
				return err
			}
			if err := fn(&ev); err != nil {
				return err
			}
		case "response":
			sawWrapper = true
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrFormat, err)
			}
			switch t {
			case json.Delim('['):
				if err := eventArray(dec, fn); err != nil {
					return err
				}
			case json.Delim('{'):
				if err := eventObject(dec, fn); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%w: \"response\" is not a list of events", ErrFormat)
			}
		default:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("%w: %v", ErrFormat, err)
			}
			if !sawWrapper {
				bare[key] = raw
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if sawWrapper {
		return nil
	}
	if _, ok := bare["uuid"]; !ok {
		if _, ok := bare["Attribute"]; ok {
			// {"response": {"Attribute": [...]}}: what MISP's
			// /attributes/restSearch returns.
			return fmt.Errorf("%w: a list of attributes without their event (MISP's /attributes/restSearch); export events instead (/events/restSearch or a feed)", ErrFormat)
		}
		if o := bytes.TrimSpace(bare["Object"]); len(o) > 0 && o[0] == '{' {
			// {"response": [{"Object": {...}}, ...]}: MISP's
			// /objects/restSearch.
			return fmt.Errorf("%w: a list of objects without their event (MISP's /objects/restSearch); export events instead (/events/restSearch or a feed)", ErrFormat)
		}
		if string(bytes.TrimSpace(bare["type"])) == `"bundle"` {
			return fmt.Errorf("%w: a STIX bundle (parley push takes it)", ErrFormat)
		}
		return fmt.Errorf("%w: no \"Event\", \"response\" or event uuid", ErrFormat)
	}
	// A bare event has its info (MISP requires one); other MISP documents
	// have a uuid too.
	if _, ok := bare["info"]; !ok {
		switch {
		case bare["GalaxyCluster"] != nil:
			return fmt.Errorf("%w: a galaxy, not an event", ErrFormat)
		case bare["attributes"] != nil && bare["meta-category"] != nil:
			return fmt.Errorf("%w: an object template, not an event", ErrFormat)
		}
		return fmt.Errorf("%w: an object with a uuid but no \"info\": not an event", ErrFormat)
	}
	// MISP's /events/index also has a lower-case "orgc" (a string),
	// which encoding/json would take for "Orgc".
	delete(bare, "orgc")
	b, _ := json.Marshal(bare)
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if err := checkEvent(&ev); err != nil {
		return err
	}
	return fn(&ev)
}

// eventArray reads the elements of an array whose '[' was read.
// An error names the event by its place in the list (from 1) and the
// byte offset where it starts, so that one bad event among thousands can
// be found.
func eventArray(dec *json.Decoder, fn func(*Event) error) error {
	for i := 1; dec.More(); i++ {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("event %d of the list: %w: %v", i, ErrFormat, err)
		}
		at := dec.InputOffset() - 1 // the '{' just read
		if t != json.Delim('{') {
			return fmt.Errorf("event %d of the list (at byte %d): %w: not an object", i, at, ErrFormat)
		}
		if err := eventObject(dec, fn); err != nil {
			if _, ok := err.(callerError); ok {
				return err
			}
			return fmt.Errorf("event %d of the list (at byte %d): %w", i, at, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return nil
}

// checkEvent rejects events without the fields the mapping needs.
func checkEvent(ev *Event) error {
	if !validUUID(ev.UUID) {
		return fmt.Errorf("%w: event uuid %q is not a UUID", ErrFormat, untrusted.Text(ev.UUID, maxShown))
	}
	// An event that counts attributes but holds none (no Attribute or
	// Object list) is a listing: its report would take the event's
	// version with nothing in it, and the whole event, imported later at
	// that version, would conflict with it.
	if n, err := strconv.Atoi(string(ev.AttributeCount)); err == nil && n > 0 && ev.Attribute == nil && ev.Object == nil {
		return fmt.Errorf("%w: event %s counts %d attributes but holds none: an event index (MISP's /events/index, or a search with metadata only); export the events (/events/restSearch or a feed)", ErrFormat, ev.UUID, n)
	}
	return nil
}

// ParseEvents is [ReadEvents] over a byte slice, collecting the events.
func ParseEvents(data []byte) ([]*Event, error) {
	var out []*Event
	err := ReadEvents(bytes.NewReader(data), func(e *Event) error {
		out = append(out, e)
		return nil
	})
	return out, err
}
