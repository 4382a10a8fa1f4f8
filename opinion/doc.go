// Package opinion turns signed STIX 2.1 opinion objects (OASIS STIX 2.1,
// section 4.11, with the opinion-enum of section 10.8) into a tally of
// concurrence that anyone can recompute: "how many members agree" as a
// checkable fact rather than a claim.
//
// It is the rule a Parley node applies when it answers GET /concurrence
// and the rule a client or an auditor applies to check that answer. It
// has no network or storage code; an auditor can import it alone.
//
// # The tally rule
//
// [Compute] tallies the opinions on one object X from a set of opinion
// object versions:
//
//  1. Only verified versions take part: the version parses as a valid
//     STIX 2.1 opinion and carries a Parley object signature that
//     verifies with the registered Ed25519 key of its member, the one
//     named by created_by_ref ([Verify]); an opinion without
//     created_by_ref belongs to the member whose log entry shared it
//     ([VerifyShared]). For logged versions the key is the one in force
//     for that member when the version was logged ([VerifyLogged]). Unsigned and forged versions are ignored as if
//     they did not exist, so a forged later version can neither cast nor
//     withdraw anyone's opinion.
//  2. An opinion is identified by its member and its id. Versions of the
//     same id by another member are not versions of that opinion (STIX
//     lets only the creator make new versions), so one member can never
//     revoke or amend another member's opinion.
//  3. Per opinion, the latest version (greatest modified) stands. Two
//     verified versions with the same modified but different content are
//     ordered by their canonical bytes, so every party picks the same one.
//  4. A standing version that is revoked withdraws the opinion: it counts
//     for nothing, and its earlier versions don't come back.
//  5. A standing version counts for X only if its object_refs contains X
//     (so removing X from object_refs in a new version withdraws it too).
//  6. Per member, only the latest remaining opinion on X counts (greatest
//     modified, then greatest id): a member who posts ten opinions has
//     one voice.
//  7. Counts are per opinion value, from strongly-disagree to
//     strongly-agree ([Values]); each counted opinion is listed as a
//     [Vote] with its member, id, version, value and the member's
//     confidence (from 0 to 100), if given.
//
// [Check] recomputes the tally from verified opinions and reports every
// difference from a claimed tally, so a node cannot inflate (or deflate)
// a count with the opinions it shows. [VerifyConcurrence] does the whole
// client-side check of a node's answer: the log evidence (checkpoint
// signature, inclusion proofs, commitments), each opinion's signature,
// and the tally.
//
// # Opinions from peers
//
// The members of the tally are the members of the node that answers,
// with the keys its log holds. A Parley node that follows another
// (docs/federation.md) stores that node's objects, its opinions
// included, under its own keyless member peer:NAME; they are not its
// members' opinions, and its log holds no key that signed them. So the
// node leaves them out of the tally and the evidence, whatever they name
// in created_by_ref, and doesn't count peer:NAME (nor a feed's
// feed:NAME) in members_with_access: a peer gets no voice, neither one
// for all its members nor one per member, and can neither inflate nor
// withdraw a member's count. A client's check needs no change for it:
// an opinion shared by peer:NAME could never verify with this log's
// keys, so a node that put one in its evidence would only show it as
// not counting. The peer's opinions are read as objects, each proved by
// the peer's log (GET /peers/bundle), and tallied by the peer itself.
//
// What the rule cannot show is an opinion it is not given: a node (or a
// member's access rights) may leave opinions out. A Parley node tallies,
// for each member, only the opinions in collections that member may
// read, of members who may read the object there, and members audit the
// log for what it holds.
package opinion
