// Package match streams security logs against STIX 2.1 indicators and
// produces STIX 2.1 sightings (docs/design.md, "Detect").
//
// Decoders ([Decoder]) turn Zeek logs (its default TSV with "#" headers,
// or JSON), Suricata EVE JSON, Elastic Common Schema documents and STIX
// 2.1 observed-data into events: the STIX cyber observables each record
// mentions ([Event], [Attr]), with values normalised exactly as private
// sets normalise them ([private.Normalize]); an IPv4-mapped IPv6 address
// is IPv4 throughout (see unmapPrefix in compile.go). The format of each
// line is told by its content ([Decoder.Detect]). An indicator counts for
// an event when the event's time is inside its validity.
// [Compile] turns indicators whose pattern is a STIX 2.1 pattern (STIX 2.1
// section 9, evaluated by package pattern) into an [Engine]: equality
// comparisons become hash lookups keyed by (attribute, normalised value),
// ISSUBSET ranges a table per prefix length, LIKE and MATCHES literals one
// grouped substring pass, and patterns over several observations are
// evaluated by the pattern evaluator over a bounded, expiring window of
// candidate events. A [Matcher] counts, per indicator, the events that
// matched and flushes them as sightings; a [Stream] keeps a matcher
// running over a followed file ([Follow]) while a [Poller] brings new,
// changed, revoked and expired indicators from a TAXII 2.1 collection.
// [ImageIndex] matches PDQ image hashes against "pdq" indicators, and
// [ExportValues], [WriteZeekIntel] and [SuricataDatasets] hand the
// indicators a sensor can match on its own to Zeek's intel framework and
// Suricata datasets.
package match
