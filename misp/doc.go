// Package misp reads MISP data — core-format events ({"Event": ...}), the
// {"response": [...]} of MISP's REST search, and MISP feeds (manifest.json
// and one <uuid>.json per event) as the MISP core format
// (MISP/misp-rfc, misp-core-format) and PyMISP's feed generator define
// them — and maps them to STIX 2.1 following MISP's own conventions
// (MISP/misp-stix, misp_stix_converter/misp2stix and its documented
// mapping in documentation/mapping/*_to_stix21.json). It also writes a
// MISP feed from STIX objects ([WriteFeed]), the reverse mapping.
//
// # Mapping
//
//   - A published event becomes a report (published = publish_timestamp),
//     an unpublished one a grouping (context "suspicious-activity"); its
//     name is the event's info. Both are report--<event uuid> or
//     grouping--<event uuid>. Its object_refs are sorted, so that the
//     same objects make the same bytes in whatever order MISP lists
//     them (misp-stix follows the event's order, which differs between
//     instances and does not move the event's timestamp), and so are its
//     labels (the event's tags) and markings; its modified
//     is 4 ms after the event's timestamp, the version after those that
//     imports before 6 December 2026 wrote in the event's order (at it),
//     and after those that sorted only its object_refs (3 ms after it).
//   - An attribute with to_ids becomes indicator--<attribute uuid> with a
//     STIX pattern (pattern_type "stix", pattern_version "2.1"),
//     valid_from = first_seen or the attribute timestamp (the event's when
//     the attribute has none, as for objects), kill_chain_phases
//     [{"kill_chain_name": "misp-category", "phase_name": category}] and
//     labels misp:type="..." and misp:category="..." as misp-stix writes
//     them. Other attributes become observed-data--<attribute uuid> with
//     their observables, whose ids are the deterministic ones of STIX 2.1
//     section 2.9 (see below). yara, snort,
//     sigma and suricata attributes are indicators with that pattern_type;
//     vulnerability and campaign-name attributes are vulnerability and
//     campaign objects; text, comment and other attributes are notes.
//   - A MISP object of a known template (file, domain-ip, url, email,
//     network-connection, network-socket, http-request, ip-port, x509,
//     registry-key (with the registry-key-values it contains), pe and
//     pe-section (a file's windows-pebinary-ext), mutex, asn,
//     user-account, credential, the social
//     network accounts, directory, artifact, android-app, process; the
//     table in the README lists them) becomes one indicator whose pattern ANDs the
//     comparisons of its attributes with to_ids when any attribute has
//     to_ids (as misp-stix's pattern does: the others, such as a file's
//     state, path or size, are context that an observation seldom
//     carries, and ANDed in they would keep the indicator from matching),
//     else one observed-data with the observables of all its attributes;
//     relations the template table does not map become x_misp_<relation>
//     properties, as misp-stix does.
//   - A MISP object's first_seen and last_seen are its observed-data's
//     first_observed and last_observed (as misp-stix writes them) or its
//     indicator's valid_from, as an attribute's are. An indicator has no
//     time it was last seen: the last_seen of an attribute or object with
//     to_ids is listed as unsupported ("last-seen").
//   - An object reference (ObjectReference) between two objects, or from
//     an object to an attribute, that were both written becomes a
//     relationship of its type ("communicates-with"; "Drops" is "drops")
//     between their STIX forms, id UUIDv5 of its ends and type, its
//     comment the description, dated (created and modified) by the
//     reference's timestamp, or its object's when it has none, as
//     misp-stix dates it by its object: not by the event, whose
//     timestamp MISP moves at every edit of the event (which made a new
//     version of each relationship, its created changed, at every
//     import of an event edited elsewhere). A reference of a written object whose
//     target is not written (left out, not mapped, or in another event)
//     is listed as unsupported ("object-reference").
//   - Galaxy clusters become threat-actor, intrusion-set, malware, tool,
//     attack-pattern, course-of-action, vulnerability or campaign
//     objects, sectors identities of identity_class "class", and
//     countries, regions and locations (stix-2.1-location) locations, as
//     misp-stix maps them (a country's meta ISO is its country, a UN M49
//     region's name its region, "154 - Northern Europe" being
//     "northern-europe"; meta country, region, administrative_area and
//     city) — a cluster without a place, which STIX requires, is listed
//     as invalid
//     (<type>--<cluster uuid>; MISP before collection_uuid gave every
//     cluster its collection's uuid, so a uuid of a misp-galaxy
//     collection, or one the event gives to clusters of other values,
//     becomes <type>--UUIDv5 of the galaxy type and value), with the
//     cluster's meta as misp-stix maps it: synonyms are aliases,
//     external_id ATT&CK, CAPEC or CVE external references (and a
//     branded vulnerability's CVE aliases), refs url references, and
//     kill_chain ("mitre-attack:defense-evasion") the kill_chain_phases
//     of attack patterns, malware and tools; a meta value may be a list
//     or one string. A cluster on an attribute or object is
//     linked from its indicator ("indicates") or observed-data
//     ("related-to"; a sector or location is "related-to" an indicator
//     too: an indicator indicates no place); among an event's clusters, threat actors and
//     intrusion sets "use" malware, tools and attack patterns, and malware
//     "uses" attack patterns. Relationship ids are UUIDv5 of their source,
//     type and target, so a second import makes the same ones. Those
//     from an attribute or object are dated by it (the event's timestamp,
//     which MISP moves at every edit of the event, made a new version of
//     each at every import of an event edited elsewhere); those among the
//     event's clusters by the event.
//   - tlp: tags become object_marking_refs to the TLP 2.0 marking
//     definitions (tlp:white is TLP:CLEAR); an attribute without a tlp:
//     tag inherits its event's. Other tags become labels.
//   - Local tags ("local": true, 1 or "1"), which MISP's synchronisation
//     never sends to another instance, are never written, whatever the
//     options, and neither is a cluster a local tag attaches (MISP
//     exports it with "local": true); both are counted in Stats.Local. A
//     local tlp: tag is not written either, but it never loosens what is
//     shared: where it is stricter than every TLP marking its event,
//     attribute or object would have, the objects made of them (all of
//     the event's, for an event tag) are marked with its level instead
//     (a local tlp:clear or tlp:white restricts nothing and adds nothing).
//   - An attribute or object marked deleted becomes a revoked version
//     ("revoked": true, modified = its timestamp, which MISP moves on
//     deletion) of the indicator or observed-data it was, outside the
//     report, so that a node that took the live version withdraws it.
//     The feed export writes revoked objects back as deleted attributes
//     of their event, out of hashes.csv.
//   - Unless Options.KeepRestricted, what MISP's distribution keeps in the
//     organisation ("0") or a sharing group ("4") is left out and counted
//     in Stats.Restricted, as MISP's synchronisation keeps it: an event
//     at those levels whole, an attribute or object at its own level, or
//     its object's or event's when it inherits ("5"); the event's level
//     caps its attributes' (see [Restricted]). Deleted ones too: a revoked
//     version would carry the value. A galaxy cluster has its own level
//     (an organisation's own clusters; misp-galaxy's have "3" and
//     "default": true, and are always written, as every MISP instance
//     has them): a restricted one is left out wherever it is attached,
//     with its relationships and every tag that names it (its tag_name,
//     misp-galaxy:<type>="<value>" or ="<uuid>"), so that neither its
//     value nor its description or synonyms are written.
//   - An event report (EventReport) becomes note--<report uuid>, as
//     misp-stix writes it: abstract its name, content its Markdown, label
//     misp:data-layer="Event Report", object_refs the indicators and
//     observed-data of the attributes and objects it cites
//     (@[attribute](<uuid>), @[object](<uuid>); an object's attribute
//     cites the object; one that several objects give, which a feed
//     may, the object of the lowest uuid, and the note is a version 3 ms
//     after its timestamp, as imports before cited the last listed), or
//     the event's report or grouping when none was
//     written. Its own distribution applies, as an attribute's does; a
//     deleted one is a revoked note.
//   - Sightings of type 0 become sighting--<sighting uuid> of the
//     attribute's indicator or observed-data, sighted where the
//     sighting's organisation is (identity--<org uuid>). The further
//     instances the feed export made of a STIX sighting of count n
//     ([SightingInstanceUUID]) fold back into that one sighting, sighted
//     where their organisations are (each once, in the order of the
//     instances).
//   - The catch-all event of a feed export ([EventFor], see [ExportRest])
//     becomes no report or grouping: only its objects are written.
//   - A sighting's source (the sensor or feed MISP was told it came
//     from) is the STIX sighting's x_misp_source.
//   - Listed as unsupported, never written: proposals (ShadowAttribute,
//     another organisation's suggestion the event's creator has not
//     accepted: written as the creator's it would say what the creator
//     never did); the comment of an attribute or object whose STIX form
//     has no description (observed-data, notes, an object's attributes;
//     misp-stix drops it too), kind "comment"; an attachment's or malware
//     sample's payload (data), kind "attachment"; the decay scores of a
//     REST search with includeDecayingScore (the answering instance's
//     view), kind "decay-score"; an event's extends_uuid (the event is
//     written as one of its own).
//
// The feed export ([FeedFromSTIX]) writes the sightings of the
// indicators and observed-data it exports on their attributes, one MISP
// sighting per counted instance (at least one per organisation in
// where_sighted_refs, which the instances name in turn), with the
// sighting's x_parley_stream (the stream Parley's matcher counted it in)
// or x_misp_source as the MISP sighting's source; a matcher sighting's
// stream sequences have no place in MISP and are listed. It writes an
// object's first_seen and last_seen, and the relationships the import
// made of object references back as the source object's ObjectReference
// (uuid the relationship's) where its event holds both ends; the other
// relationships (an attribute's, one leaving the feed, one made in STIX,
// which would import back under another id) are listed, except those the
// import makes of galaxies, which come back with them. [SameInMISP] tells an import of that
// export that what the node holds says the same.
//
// # Where Parley differs from misp-stix
//
//   - An attribute or object with to_ids is one indicator; misp-stix also
//     writes an observed-data of it, related "based-on". The attributes
//     without to_ids of such an object are therefore not written (nor
//     exported back to a feed).
//   - Several values of a property that holds one (the two domains of a
//     domain-ip object; the address and host name of an ip-port or
//     network-connection, both its dst_ref) are ORed in the pattern;
//     misp-stix ANDs them, which no observable satisfies.
//   - A list property compares element by element: a
//     network-connection's protocols as protocols[*] (misp-stix writes
//     protocols[0], [1] and [2] for layers 3, 4 and 7, which match only
//     where the observable lists them in that order and without gaps), and
//     a relation the object repeats, which the observable holds as a list
//     (an asn's two subnet-announced, a telegram-account's two phones),
//     as x_misp_<relation>[*], one comparison per value, ANDed (misp-stix
//     compares each value with "=", as Parley did before 6 December 2026).
//     A path to a list without an index step is the list, which STIX
//     2.1 (section 9) and the OASIS reference matcher never find equal
//     to a string: such indicators matched nothing, not even the
//     observed-data of the same object. A relation given once is a
//     string in the observable and compares with "=". An indicator whose
//     pattern differs from the one the earlier conversion wrote is a new
//     version: modified is a millisecond after its MISP timestamp
//     (created and valid_from stay), so that importing an event imported
//     before adds that version, where the same id and version with
//     other content would be refused as a conflict. MISP timestamps are
//     whole seconds, so the next edit in MISP is later still.
//   - Integer properties (ports, AS numbers, sizes) compare with integers
//     in patterns; misp-stix quotes them, which a STIX matcher does not
//     equate with the integer.
//   - A host and port make one network-traffic comparison expression
//     (network-traffic:dst_ref); misp-stix ANDs domain-name and
//     network-traffic in one, which STIX forbids.
//   - An address attribute whose value is a CIDR block (ip-src, ip-dst,
//     their |port forms, domain|ip) compares with ISSUBSET, so that every
//     address in the block matches; misp-stix writes "=", which compares
//     the block as a string and matches no observed address. A MISP feed
//     export writes the block back as the attribute's value.
//   - Registry hives are spelled out (HKEY_LOCAL_MACHINE, not HKLM), as
//     STIX requires; a regkey|value's data is x_misp_value.
//   - E-mail header fields keep their header names (Reply-To, X-Mailer);
//     an email-attachment is x_misp_attachment, as body_multipart holds
//     MIME parts, not names.
//   - Attachments and malware samples keep their file name; the payload is
//     not in feeds and search results without attachments.
//   - Observables have the deterministic ids of STIX 2.1 section 2.9
//     ([stix.DeterministicID] over their ID contributing properties, with
//     references renamed first), which makes them anyone's to share on a
//     Parley node (a node keeps a UUIDv4 observable id, but as its first
//     sharer's), not misp-stix's <type>--<attribute uuid>; only an observable without an
//     ID contributing property keeps a uuid-based id. The same value in
//     two attributes is thus one object, written once per [Converter]:
//     of the forms one event gives it (a domain alone, or with the
//     addresses a domain-ip resolves it to), the shortest stays (then
//     the lowest bytes): the form that claims least beyond the value,
//     the same in whatever order MISP lists its attributes and objects
//     (until 6 December 2026 the first written stayed, which is the same
//     where MISP lists a plain attribute of the value first; an
//     observable has no version, so a node that holds another form
//     takes this one as another copy, never a conflict);
//     one an earlier event of the converter wrote stays as it was, and
//     later observed-data reference it (its properties outside the id
//     are those of that form). The attribute and object uuids stay in
//     the indicator and observed-data ids.
//   - MISP's analyst data (the Note, Opinion and Relationship of an
//     event, attribute, object or event report) is listed as
//     unsupported; misp-stix writes notes and opinions of it.
//   - A cluster's name is its value ("Access Token Manipulation -
//     T1134"); misp-stix drops the " - T1134" suffix. Meta fields other
//     than those above (mitre_platforms, ...) are not written; misp-stix
//     writes them as x_misp_* properties.
//   - Templates without a rule here (virustotal-report, the
//     identity-like templates, ...), the
//     attribute types email-header and http-method, and galaxies of
//     other kinds (guidelines, ...) are reported as unsupported.
//   - Some observables are made of several MISP objects, as misp-stix
//     makes them (see merges): the pe a file includes ("includes" or
//     "included-in", from the file) is the file's windows-pebinary-ext,
//     the pe-sections the pe includes its sections in the order of its
//     references, and the registry-key-values a registry-key contains
//     ("contains") its values. The parts make no indicator or
//     observed-data of their own; the whole is an indicator where any
//     part has to_ids, comparing only the to_ids attributes of each, a
//     section or value by its place in the observable (sections[0],
//     values[1]). A pe no file includes is a file of its own, named by
//     its original or internal file name (not compared by its pattern,
//     as misp-stix's is not); a registry-key-value no key contains is a
//     key of that one value; a pe-section no pe includes is reported. A
//     pe two files include is in both (as misp-stix writes it); a file
//     that includes two pe has neither (it is reported; misp-stix merges
//     none either). A pe without its type (windows-pebinary-ext requires
//     pe_type) is no part of an observed-data's file: the file is written
//     without it, as before pe objects were merged; the pe alone, being
//     nothing but that extension, is listed ("no type") with its
//     sections, as misp-stix writes none of it either (an indicator of
//     it, whose pattern needs no type, is written). References are
//     followed from a file to its pe, a pe
//     to its sections and a key to its values by template name, never
//     further, so no cycle or chain costs more than its references; the
//     whole is bounded by [MaxObjectAttributes], parts included: a whole
//     that would pass it is written without its parts (as before they
//     were merged), each part alone or listed, not refused whole. A
//     reference between a part and its whole makes no relationship; one
//     from or to a part is one from or to the whole. References that so
//     make one relationship (a pe's and its file's to the same target,
//     of the same type) make it of the latest dated (its description
//     and version), of equally dated ones the whole's own, then the one
//     of the lowest uuid, whatever order MISP lists them in; where
//     another equally dated has another description, it is a version
//     3 ms after their date, created at it (imports before wrote the
//     first listed at that date, which may be the other). A feed export
//     writes them back as MISP objects with their references (the pe and
//     sections, the values under uuids of their own), which import back
//     as the same. A pe's compilation time (x_misp_compilation_timestamp)
//     is a STIX timestamp, as misp-stix writes it: MISP's datetime with
//     its zone, one without (a PE's TimeDateStamp is UTC), or seconds
//     since 1970; what is no time is not written in an observed-data
//     (listed), and a pattern compares MISP's text, as before. A file or
//     pe with a compilation time is a version 3 ms after the latest
//     timestamp of it and its parts, after the one that wrote MISP's
//     text. (A registry-key's last-modified stays MISP's text: see
//     below.)
//   - The indicator or observed-data of a file, pe or registry-key that
//     has (or had: deleted) parts is a version 2 ms after the latest
//     timestamp of it, its parts and the references between them: MISP
//     moves the timestamp of the part it edits or deletes, not its
//     whole's, and an edited section must be a new version of its file.
//   - What changes what an earlier import wrote for the same MISP object
//     (a file now with its pe, a key with its values, a socket's state
//     as is_listening, an observed-data without the observable of a
//     second value of one reference) is a new version 2 ms after the
//     MISP timestamp (a pattern that now compares a list element by
//     element is 1 ms after it), and so was a report or grouping that
//     now refers to a pe or registry-key-value written alone (now 4 ms
//     after its event: see the report's object_refs), or to an
//     object of a template mapped the same day (android-app, artifact,
//     credential, directory, http-request, network-socket, process, the
//     social accounts), and a note of an event report that now cites one
//     of them or a merged part: MISP does
//     not move its timestamps for a new converter, and a node that holds
//     the earlier import takes these as new versions, not conflicts.
//   - A netflow is a network-traffic (its addresses, ports, protocol,
//     start and end, byte and packet counts, TCP flags as tcp-ext's
//     src_flags_hex, compared as h'...'); each end's autonomous system
//     is x_misp_src_as or x_misp_dst_as, where misp-stix writes the
//     address's belongs_to_refs: that property is not ID contributing,
//     so the same address written by another object without it would
//     be other content under the same id. TCP flags add tcp to the
//     protocols, an ICMP type icmp, as misp-stix adds them, after the
//     protocol the object gives (from the outermost layer in; misp-stix
//     writes them first); such an observed-data is a version 3 ms after
//     the object's timestamp, after the one that wrote the protocol
//     alone. The ICMP type stays x_misp_icmp_type: icmp-ext requires
//     the ICMP code too, which no netflow attribute gives (misp-stix
//     writes an icmp-ext of the type alone, which STIX refuses).
//   - A port that is not a number from 0 to 65535 (network-connection,
//     ip-port, network-socket, netflow) and a netflow's last packet
//     before its first (network-traffic's end before its start) are not
//     written in an observed-data, which STIX would refuse whole: the
//     other values are, and the attribute is listed as not written
//     (kind "object"); the observed-data is a version 3 ms after its
//     timestamp (see a pe's compilation time). An indicator's pattern compares them as MISP
//     gives them, as it did before (a port over 65535, which matches
//     nothing; a port that is no number makes the object unsupported):
//     left out, the pattern would be other content under the version
//     earlier imports wrote, and would match more than MISP says.
//   - This mapping (one object, one observable with the ones it
//     references) does not make a process's parent's image
//     (parent_ref.image_ref): a process object with parent-image,
//     parent-process-path, parent-process-name or parent-guid is listed
//     as unsupported, whole.
//   - An lnk is a file (misp-stix's mapping): its hashes, name, size,
//     lnk times (ctime, mtime, atime) and its path or full path as
//     parent_directory_ref (one directory; a feed export writes it back
//     as the full path); its sample (malware-sample), the payload feeds
//     leave out, is not written, where misp-stix writes it as the
//     content_ref artifact. An image is a file by its name, its URL
//     x_misp_url: misp-stix writes it as the url of the content_ref
//     artifact where the attachment is missing, which STIX forbids
//     without the content's hashes.
//   - A process's parent (parent-pid, parent-command-line) is one
//     process, process--UUIDv5(object, "parent_ref"), and each child
//     (child-pid) process--UUIDv5(object, "child_refs", pid): a process
//     has no ID contributing property, and attribute uuids do not
//     survive a feed export.
//   - A MISP datetime with a time zone (a directory's creation-time) is
//     a STIX timestamp, compared as one in a pattern (t'...'); one
//     without a zone names no instant and is x_misp_<relation>, as is a
//     value outside the STIX property's vocabulary or enumeration (a
//     socket's AF_UNIX, which socket-ext does not list) or an
//     extension's property without the properties the extension
//     requires (an http-request's user agent without its method and
//     URI: http-request-ext requires both).
//   - A social network account (twitter-account, facebook-account,
//     github-user, gitlab-user, parler-account, reddit-account,
//     telegram-account) is a user-account of that account_type, which
//     its pattern compares, as misp-stix's does; a credential is a
//     user-account with the user name as user_id and the password as
//     credential, as misp-stix maps it (a user-account object's
//     username stays its account_login).
//   - An http-request's URL is x_misp_url (misp-stix's observable has
//     it so); misp-stix's pattern compares request_value with both the
//     URI and the URL, ANDed, which no request satisfies. A
//     network-socket's state "listening" or "blocking" is socket-ext's
//     is_listening or is_blocking (true), as misp-stix writes it, where
//     the socket has an address family (socket-ext requires one);
//     another state is x_misp_state. Its protocol compares as
//     protocols[*] (see above). A feed export gives a
//     network-connection's protocols back as the relation of their
//     layer (IP layer3-protocol, TCP layer4-protocol, others
//     layer7-protocol).
//   - A single reference (src_ref) holds the first value of its
//     relation: a second (two ip-src) is reported as not written and
//     makes no observable; the value of another relation for it (a
//     host name beside the address of dst_ref) stands beside it in the
//     observed-data.
//   - A registry-key's last-modified, name, data and data-type stay
//     x_misp_last_modified, x_misp_name, x_misp_data and
//     x_misp_data_type, where misp-stix writes modified_time and values:
//     an event imported before would, imported again, conflict with
//     what the node holds (same id and version, other content): the
//     observable with modified_time, the observed-data with values (they
//     are ID contributing, STIX 2.1 section 2.9: another observable),
//     and the indicator whose pattern compares them. MISP does not move
//     an object's timestamp for a new converter, so no new version
//     could carry the change.
//
// Everything is deterministic: ids come from MISP uuids, timestamps from
// MISP timestamps, so converting the same event twice gives the same
// bytes and re-importing adds nothing. The same event with its
// attributes, objects, galaxies, event reports or tags in another order
// (as another instance lists them) gives the same bytes too. The order
// within one MISP object is kept: its attributes give the order of an
// indicator's comparisons, of an observed-data's object_refs and of
// list properties (to_refs, resolves_to_refs), and a single reference
// (dst_ref) takes the first of its values; a pe's sections follow the
// order of its references, and an attribute's or object's labels and
// markings the order of its tags (and of its event's TLP tags, where
// the event has several). MISP keeps those in the order they
// were added, and sends them so: sorting them would make a new version
// of nearly every object indicator an import before wrote. Ids are not namespaced by the feed
// or source an event came from: a MISP uuid names one event, attribute or
// object wherever it is republished (mirrored feeds, the same event
// exported twice), as MISP itself keeps one event per uuid. Two copies at
// the same MISP timestamp with other content (a mirror that holds fewer
// attributes) make the same ids and versions with other content: a node
// keeps the first, and `parley import misp` reports the second per
// object (a conflict, or an id another member imported first).
//
// # Provenance
//
// Every SDO made from an event carries where it came from, since the
// member who shares it is usually not its author:
//
//   - x_misp_event_uuid: the MISP event's uuid;
//   - x_misp_orgc_uuid and x_misp_orgc_name: the organisation that created
//     the event in MISP (Orgc);
//   - the report or grouping also has an external reference
//     {"source_name": "misp", "external_id": <event uuid>}.
//
// What cannot be mapped (an attribute type or object template without a
// rule, a galaxy of an unknown kind, a value that does not make a valid
// pattern) is reported in [Result.Unsupported], never dropped silently.
// An object of more than [MaxObjectAttributes] live attributes, or with a
// value of more than [MaxObjectValue] bytes, is reported so, whole, and
// nothing is written of it. A reason quotes the event's text bounded and
// with control and bidi characters replaced.
package misp
