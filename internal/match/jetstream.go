package match

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// JetStreamConsumerConfig returns the durable pull consumer a matcher
// fleet shares: explicit acknowledgement (each matcher acknowledges only
// its own messages, so one that dies leaves its unacknowledged messages to
// be redelivered to the others after ackWait), every message of the
// stream (or of filter, a subject filter, if not empty) from the start,
// and room for maxAckPending messages in flight across the whole fleet.
// Every member of a fleet creates or updates the consumer with the same
// configuration.
func JetStreamConsumerConfig(name, filter string, ackWait time.Duration, maxAckPending int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "parley match fleet",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: filter,
		MaxAckPending: maxAckPending,
	}
}

// CheckJetStreamConsumer compares the configuration of a consumer that
// already exists (have) with the one a member of the fleet would create
// (want, from [JetStreamConsumerConfig]) and returns an error naming each
// difference the member may not change by updating it: a push consumer, an
// acknowledgement policy other than explicit, a delivery policy other than
// every message, a replay policy other than instant, headers only (the
// events would come as empty messages, counted malformed and
// acknowledged), a max_waiting below the two pulls a member keeps
// waiting, and another subject filter. A member keeps all of them (see
// [JetStreamConsumerUpdate]); a filter it could update, but then the messages the old
// filter passed over, earlier than the consumer's position, are never
// delivered, and every other member of the fleet silently gets the new
// filter's messages instead of its own: a fleet shares one filter. The
// settings a member does update (AckWait, MaxAckPending) are not
// compared.
func CheckJetStreamConsumer(have, want jetstream.ConsumerConfig) error {
	var diffs []string
	if have.DeliverSubject != "" {
		diffs = append(diffs, fmt.Sprintf("it is a push consumer (it delivers to %s), not a pull consumer", have.DeliverSubject))
	}
	if have.AckPolicy != want.AckPolicy {
		diffs = append(diffs, fmt.Sprintf("its acknowledgement policy is %s, not %s", have.AckPolicy, want.AckPolicy))
	}
	if have.DeliverPolicy != want.DeliverPolicy {
		diffs = append(diffs, fmt.Sprintf("its delivery policy is %s, not %s", have.DeliverPolicy, want.DeliverPolicy))
	}
	if have.ReplayPolicy != want.ReplayPolicy {
		diffs = append(diffs, fmt.Sprintf("its replay policy is %s, not %s", have.ReplayPolicy, want.ReplayPolicy))
	}
	if have.HeadersOnly {
		diffs = append(diffs, "it delivers its messages' headers only (headers_only), without the events")
	}
	if have.MaxWaiting > 0 && have.MaxWaiting < minMaxWaiting {
		diffs = append(diffs, fmt.Sprintf("its max_waiting is %d, fewer than the %d pulls one member keeps waiting", have.MaxWaiting, minMaxWaiting))
	}
	filters := consumerFilters(have)
	if same := len(filters) == 0 && want.FilterSubject == "" || len(filters) == 1 && filters[0] == want.FilterSubject; !same {
		d := "it has no subject filter"
		if len(filters) > 0 {
			d = "its subject filter is " + strings.Join(filters, ", ")
		}
		if want.FilterSubject == "" {
			d += ", and no --subject was given"
		} else {
			d += ", not " + want.FilterSubject
		}
		diffs = append(diffs, d)
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("consumer %s exists with other settings than a fleet member's: %s", have.Durable, strings.Join(diffs, "; "))
}

// JetStreamConsumerUpdate returns the configuration a member updates
// an existing consumer (have, which [CheckJetStreamConsumer] passed) with:
// have itself, with the settings the fleet sets for all from want (see
// [JetStreamConsumerConfig]): AckWait and MaxAckPending. Everything else
// an operator may have set on the consumer (backoff, max_deliver,
// max_waiting, the max_request limits, inactive_threshold, sample_freq,
// metadata, replicas, memory storage, the description...) is kept: the
// update is the whole configuration, and a field left out of it is
// dropped, silently, by JetStream.
func JetStreamConsumerUpdate(have, want jetstream.ConsumerConfig) jetstream.ConsumerConfig {
	cfg := have
	cfg.AckWait = want.AckWait
	cfg.MaxAckPending = want.MaxAckPending
	if cfg.Description == "" {
		cfg.Description = want.Description
	}
	return cfg
}

// CheckJetStreamPulls returns an error naming each limit of a consumer
// (have) that the pulls of a member (see [JetStreamSource]) would exceed,
// which JetStream would refuse, every one, so that the member would get
// no message: a max_request_batch below batch (--batch), a
// max_request_expires below the pulls' wait (flush, at most 500 ms), and
// a max_request_max_bytes below what a pull asks for to take a message of
// maxPayload (the server's max_payload). JetStreamConsumerUpdate keeps
// such limits (an update without them used to drop them).
func CheckJetStreamPulls(have jetstream.ConsumerConfig, batch int, flush time.Duration, maxPayload int64) error {
	var diffs []string
	if have.MaxRequestBatch > 0 && have.MaxRequestBatch < batch {
		diffs = append(diffs, fmt.Sprintf("its max_request_batch is %d, fewer than --batch %d (give --batch %d)", have.MaxRequestBatch, batch, have.MaxRequestBatch))
	}
	if wait := min(flush, 500*time.Millisecond); have.MaxRequestExpires > 0 && have.MaxRequestExpires < wait {
		diffs = append(diffs, fmt.Sprintf("its max_request_expires is %v, shorter than a member's pulls (%v)", have.MaxRequestExpires, wait))
	}
	if need := max(pullBytes, maxPayload+pullMargin); have.MaxRequestMaxBytes > 0 && int64(have.MaxRequestMaxBytes) < need {
		diffs = append(diffs, fmt.Sprintf("its max_request_max_bytes is %d, less than a member's pulls ask for (%d: room for a message of the server's max_payload, %d)", have.MaxRequestMaxBytes, need, maxPayload))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("consumer %s has limits that a fleet member's pulls exceed, which JetStream would refuse: %s", have.Durable, strings.Join(diffs, "; "))
}

// CheckJetStreamFilter returns an error when filter (a member's
// --subject) can match no subject of a stream whose subjects are
// streamSubjects: a consumer with that filter would never get a message.
// nats-server 2.9 refuses such a consumer, and 2.10 and later create it,
// so that the fleet would wait for ever without a word. A stream without
// subjects of its own (a mirror, or one made of sources) and an empty
// filter pass.
func CheckJetStreamFilter(streamSubjects []string, filter string) error {
	if filter == "" || len(streamSubjects) == 0 {
		return nil
	}
	for _, s := range streamSubjects {
		if subjectsCollide(s, filter) {
			return nil
		}
	}
	return fmt.Errorf("--subject %s matches none of the stream's subjects (%s): the fleet would never get a message", filter, strings.Join(streamSubjects, ", "))
}

// subjectsCollide reports whether some subject matches both NATS subject
// patterns a and b ('*' one token, '>' one or more last tokens).
func subjectsCollide(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i == len(at) && i == len(bt):
			return true
		case i == len(at) || i == len(bt):
			return false
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] != "*" && bt[i] != "*" && at[i] != bt[i]:
			return false
		}
	}
}

// minMaxWaiting is the fewest pull requests a consumer must let wait for
// one member of the fleet: it keeps two in flight (see Run).
const minMaxWaiting = 2

// consumerFilters returns a consumer's subject filters: FilterSubject, or
// FilterSubjects (nats-server 2.10).
func consumerFilters(c jetstream.ConsumerConfig) []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return c.FilterSubjects
}

// pullBytes is about the most bytes one pull asks for: Fluent Bit batches
// are large messages, and a pull of Batch of them would hold them all in
// memory at once.
const pullBytes = 16 << 20

// pullMargin is what a pull's byte limit leaves beside a message of the
// largest payload for its subject, reply subject and headers, which the
// server counts in the limit.
const pullMargin = 64 << 10

// JetStreamSource feeds a [Stream] from a JetStream pull consumer. A
// message holds one sensor event (one log line, any format the matcher
// reads), several events one a line (newline-delimited, as batching
// publishers write them), or the batch of events Fluent Bit's nats output
// writes in one message (see [FluentBitRecords]).
//
// Its guarantee: a message is acknowledged only after the sightings that
// count its events have been emitted, that is after the Stream's Emit
// returned nil for a flush made after the message was matched. A matcher
// that dies (kill -9 included) before that leaves the message
// unacknowledged, and JetStream redelivers it to a member of the fleet
// after the consumer's AckWait: no event is lost. An event can be counted
// twice, when a matcher dies between emitting and acknowledging (or an
// acknowledgement is lost); every sighting names the stream sequences it
// counts (Config.Origin), so a duplicate is identified by its sequences.
// (With one event a message a sighting's count is the number of its
// sequences; a message of several events counts as many as it holds.)
// Malformed messages and those that match nothing are acknowledged with
// the rest of their flush. Every message is acknowledged by itself: the
// consumer's policy is explicit acknowledgement, because an
// acknowledgement of all messages up to one (AckAll) would also
// acknowledge those that other members of the fleet hold and have not
// emitted, which a member that dies would lose.
type JetStreamSource struct {
	// Stream matches the events; its Matcher's Config.Origin should be the
	// stream's name. The source flushes it itself (every FlushEvery, or
	// when MaxPending messages wait for acknowledgement) and calls its
	// Tick for indicator polls, so its own FlushEvery must be longer than
	// the source's (see [Stream.FlushNow]).
	Stream   *Stream
	Consumer jetstream.Consumer
	// FlushEvery bounds how long a message waits for its acknowledgement
	// (default 1 second); it must be well below the consumer's AckWait.
	FlushEvery time.Duration
	// MaxPending is how many messages are held unacknowledged before a
	// flush (default 10,000); a flush also comes when the messages held
	// carry that many events (batches of several events), so that a batch
	// does not wait FlushEvery for its acknowledgement, and as soon as the
	// consumer has caught up (a message came with none left pending; such
	// flushes at most ten times a FlushEvery). Batch is how many
	// messages are pulled at a time (default 500; fewer when they are
	// large, see pullBytes).
	MaxPending int
	Batch      int
	// MaxPayload is the largest message the server takes (the
	// connection's MaxPayload; default 64 MiB, the most a server
	// allows by default). A pull asks for at most pullBytes, or this
	// and a margin for the subject and reply if more: a message larger
	// than a pull's byte limit is never delivered to it.
	MaxPayload int64
	// PayloadLimit, when set, is read before every pull: the largest
	// message the server connected to now takes (nats.Conn.MaxPayload,
	// which a reconnect updates: the nodes of a cluster may have
	// different max_payload). A pull's byte limit is then made for the
	// largest of MaxPayload and every answer so far (a message that a
	// node with a larger limit took stays in the stream when the source
	// reconnects to one with a smaller limit), so that a larger message
	// does not stall the consumer after a reconnect, as one limit worked
	// out at the start did.
	PayloadLimit func() int64
	// Warn receives errors that do not stop the source.
	Warn func(error)

	// Malformed events, and events that show another format than
	// the Matcher's Config.Format (read as it, their observables
	// missed), not yet reported.
	bad, misfit, over seqReport

	// faults counts the events that tripped a fault of the matcher (see
	// Matcher.lineSeqRecover); the first maxFaultReports are reported.
	faults int

	pending  []jetstream.Msg
	events   int            // events of the messages in pending
	inflight map[uint64]int // stream sequence -> index in pending
	acked    atomic.Int64
	// progressed counts the rounds of in-progress acknowledgements sent
	// while a flush waited (see flush).
	progressed atomic.Int64

	// A large message is split into its events by a goroutine, the
	// splitter, while the messages taken before it are matched (see
	// take). The splitter runs up to depth messages ahead; each of those
	// and the one being matched has its own reader, the next one handed
	// to the splitter readers[next]. ahead holds the stream sequences of
	// the messages handed to the splitter, taken (in pending) but not yet
	// matched, in order; their events come on split in the same order.
	readers   []batchReader
	next      int
	toSplit   chan splitJob
	split     chan splitEvents
	ahead     []uint64
	depth     int // default splitDepth
	aheadSize int // messages of at least this many bytes are split ahead (default aheadBytes)
	small     batchReader
}

// consumerCheck is how often a matcher that receives nothing checks that
// its consumer still exists (a variable for the tests).
var consumerCheck = 5 * time.Second

// aheadBytes is the size from which a message is split ahead: below it the
// hand-over to the splitter costs more than the splitting (one event a
// message is a few hundred bytes).
const aheadBytes = 4 << 10

// splitDepth is how many messages the splitter may read ahead of the one
// being matched: more than one, so that a message that takes the splitter
// long (or a moment it does not get a CPU) does not stop the matching.
const splitDepth = 4

// splitJob is a taken message whose events the splitter reads.
type splitJob struct {
	data []byte
	r    *batchReader
}

// Acked returns how many messages the source has acknowledged so far; it
// may be called while Run runs.
func (j *JetStreamSource) Acked() int64 { return j.acked.Load() }

// Run consumes until ctx is done or an error stops it, then flushes and
// acknowledges what it holds. Messages pulled but not yet matched when ctx
// ends are left to be redelivered after the consumer's AckWait. It returns
// nil when ctx ended it; an Emit error stops it at once, leaving the
// messages of that flush unacknowledged for redelivery. A consumer (or
// stream) that is deleted, or that a restarted server no longer has,
// stops it with an error once it flushed what it holds: pulls on it would
// otherwise get nothing, for ever, without an error.
func (j *JetStreamSource) Run(ctx context.Context) error {
	if j.FlushEvery <= 0 {
		j.FlushEvery = time.Second
	}
	if j.MaxPending <= 0 {
		j.MaxPending = 10000
	}
	if j.Batch <= 0 {
		j.Batch = 500
	}
	if j.aheadSize <= 0 {
		j.aheadSize = aheadBytes
	}
	if j.depth <= 0 {
		j.depth = splitDepth
	}
	j.inflight = map[uint64]int{}
	j.readers = make([]batchReader, j.depth+1)
	j.next, j.ahead = 0, j.ahead[:0]
	j.toSplit, j.split = make(chan splitJob, j.depth), make(chan splitEvents, j.depth)
	go func(in <-chan splitJob, out chan<- splitEvents) {
		for job := range in {
			out <- job.r.splitRecover(job.data)
		}
	}(j.toSplit, j.split)
	// Messages still being split are dropped with the rest of what was not
	// acknowledged; the splitter's results fit in its channel.
	defer close(j.toSplit)
	lastFlush := time.Now()
	var lastCaughtUp time.Time
	wait := min(j.FlushEvery, 500*time.Millisecond)
	// Two pulls are in flight: the server fills the next while the
	// messages of the current one are matched. They are short (at most
	// FlushEvery, and 500 ms) and read one after the other: reading both
	// at once with pulls of 5 s was faster at 100,000 events but, at a
	// million events in batches of 500 a message, nats-server 2.9.10 left
	// a few messages delivered and never sent in every run, each then held
	// until its AckWait (30 s) and counted twice. A pull asks for a count
	// of messages (a byte limit makes the server hold a pull that the
	// next message would overflow until it expires), as many as make
	// about pullBytes at the sizes seen so far, at most Batch.
	// Until sizes are seen, a pull asks for as many messages of the
	// largest size NATS allows by default (1 MiB) as make pullBytes: a
	// first pull of Batch messages of Fluent Bit's 200 KB (100 MB) lost
	// most of them at nats-server 2.9.10 (13–22 MB came, then neither
	// message nor timeout status: the pull ended by the library's own
	// timer, FetchMaxWait + 1 s, the "stall of a second"), the rest
	// delivered, never received, each waiting for its AckWait.
	count := min(j.Batch, pullBytes>>20)
	lastCheck, gone := time.Now(), 0
	var seenMsgs, seenBytes int64
	// A pull is bounded in bytes too: after a run of small messages it
	// asks for Batch of them, and a burst of large ones (batches, or
	// oversized events) would then come hundreds of megabytes in one
	// pull, more than the client buffers for a subscription (64 MiB):
	// NATS drops the rest as a slow consumer's, silently, and they come
	// again only after AckWait, to be counted twice if another member
	// held them meanwhile. The bound is no smaller than the largest
	// message: the server never delivers a message larger than a pull's
	// byte limit (it answers 409, which the library ends the pull on
	// without an error), and the fleet would stop on it for ever.
	// The largest payload is read again before every pull (PayloadLimit):
	// a reconnect may reach a server that takes larger messages.
	maxPayload := j.MaxPayload
	if maxPayload <= 0 && j.PayloadLimit == nil {
		maxPayload = 64 << 20
	}
	fetch := func() (jetstream.MessageBatch, error) {
		if j.PayloadLimit != nil {
			maxPayload = max(maxPayload, j.PayloadLimit())
		}
		if maxPayload <= 0 {
			maxPayload = 64 << 20
		}
		maxBytes := int(max(pullBytes, maxPayload+pullMargin))
		return j.Consumer.Fetch(count, jetstream.FetchMaxWait(wait), jetstream.FetchMaxBytes(maxBytes))
	}
	next, nextErr := fetch()
	for n := 0; ctx.Err() == nil; n++ {
		cur, err := next, nextErr
		next, nextErr = fetch()
		got := 0
		if err == nil {
			for msg := range cur.Messages() {
				got++
				seenMsgs++
				seenBytes += int64(len(msg.Data()))
				if err := j.take(msg); err != nil {
					return err
				}
				// Flush when enough is held, without waiting for the rest
				// of the pull. A message sent when none was left for the
				// consumer (it has caught up) is flushed at once too, not
				// after the rest of its pull, which the server holds until
				// it expires: there is nothing to gather with it. Such
				// flushes come at most ten times a FlushEvery, so that a
				// trickle of messages does not flush (and emit) each one
				// by itself.
				full := len(j.pending) >= j.MaxPending || j.events >= j.MaxPending
				caughtUp := false
				if !full {
					if p, ok := streamPending(msg.Reply()); ok && p == 0 && time.Since(lastCaughtUp) >= j.FlushEvery/10 {
						caughtUp = true
					}
				}
				if full || caughtUp {
					if err := j.flush(); err != nil {
						return err
					}
					lastFlush = time.Now()
					if caughtUp {
						lastCaughtUp = lastFlush
					}
				}
			}
			err = cur.Error()
			if seenMsgs > 0 {
				count = int(min(max(pullBytes*seenMsgs/max(seenBytes, 1), 1), int64(j.Batch)))
			}
		}
		if (err == nil || errors.Is(err, nats.ErrTimeout)) && got == 0 && time.Since(lastCheck) >= consumerCheck {
			// A pull on a consumer that is gone gets nothing, no error:
			// without this the matcher would wait for ever.
			lastCheck = time.Now()
			if _, ierr := j.Consumer.Info(ctx); errors.Is(ierr, jetstream.ErrConsumerNotFound) || errors.Is(ierr, jetstream.ErrStreamNotFound) {
				// Twice in a row, a check apart: not a server that is
				// still restoring its streams.
				if gone++; gone >= 2 {
					err = ierr
				}
			} else if ierr == nil {
				gone = 0
			}
		}
		switch {
		case err == nil, errors.Is(err, nats.ErrTimeout):
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrStreamNotFound):
			if ferr := j.flush(); ferr != nil {
				return ferr
			}
			return fmt.Errorf("couldn't consume from JetStream: the consumer is gone (deleted, or the server lost its state); started again, a matcher creates it and reads the stream from its start: %w", err)
		case errors.Is(err, nats.ErrConnectionClosed):
			if ferr := j.flush(); ferr != nil {
				return ferr
			}
			return fmt.Errorf("couldn't consume from JetStream: %w", err)
		default:
			if j.Warn != nil {
				j.Warn(fmt.Errorf("couldn't fetch from JetStream: %w", err))
			}
			if got == 0 {
				// Do not spin on a failing server.
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if len(j.pending) >= j.MaxPending || j.events >= j.MaxPending || len(j.pending) > 0 && time.Since(lastFlush) >= j.FlushEvery {
			if err := j.flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
		if got == 0 || n&15 == 0 {
			// Indicator polls and recompiles need no finer grain.
			j.Stream.Tick(ctx)
		}
	}
	return j.flush()
}

// take matches one message and holds it for the next flush. A message
// redelivered while this matcher still holds it (its AckWait passed) is
// not matched again. A large message is handed to the splitter and
// matched when depth more have been handed to it, or at the next small
// message or flush, whichever comes first: messages are matched in the
// order they were taken, and all of them before a flush.
func (j *JetStreamSource) take(msg jetstream.Msg) error {
	seq, ok := streamSeq(msg.Reply())
	if !ok {
		md, err := msg.Metadata()
		if err != nil {
			// Not a JetStream message: nothing to acknowledge or match.
			if j.Warn != nil {
				j.Warn(fmt.Errorf("couldn't read a message's metadata: %w", err))
			}
			return nil
		}
		seq = md.Sequence.Stream
	}
	if i, ok := j.inflight[seq]; ok {
		j.pending[i] = msg
		return nil
	}
	j.inflight[seq] = len(j.pending)
	j.pending = append(j.pending, msg)
	data := msg.Data()
	if len(bytes.TrimSpace(data)) == 0 {
		// A message without an event (an empty publish, blank lines) is
		// no record: counted and reported as malformed, not acknowledged
		// unseen.
		j.Stream.malformed()
		j.malformed(seq, 1)
		return nil
	}
	if len(data) < j.aheadSize {
		j.matchAhead()
		j.match(seq, j.small.splitRecover(data))
		return nil
	}
	// With depth messages ahead, the oldest is matched while the
	// splitter reads the others and this one. The reader handed out now
	// was last used depth+1 messages ago, by one already matched.
	var oldest uint64
	var recs splitEvents
	full := len(j.ahead) == j.depth
	if full {
		oldest, recs = j.ahead[0], <-j.split
		j.ahead = append(j.ahead[:0], j.ahead[1:]...)
	}
	j.toSplit <- splitJob{data: data, r: &j.readers[j.next]}
	j.next = (j.next + 1) % len(j.readers)
	j.ahead = append(j.ahead, seq)
	if full {
		j.match(oldest, recs)
	}
	return nil
}

// matchAhead matches the messages handed to the splitter, in order.
func (j *JetStreamSource) matchAhead() {
	for _, seq := range j.ahead {
		j.match(seq, <-j.split)
	}
	j.ahead = j.ahead[:0]
}

// match matches the events of the message at stream sequence seq; those
// past messageEvents (over) are counted as malformed.
func (j *JetStreamSource) match(seq uint64, evs splitEvents) {
	if evs.fault != "" {
		// The message is one malformed event, as an event that trips a
		// fault is (see Matcher.lineSeqRecover).
		j.Stream.malformed()
		if j.Warn != nil && j.faults < maxFaultReports {
			j.Warn(fmt.Errorf("the message at stream sequence %d made the matcher fail while it was split into its events (%s); counted as one malformed event, and acknowledged with the rest", seq, evs.fault))
		}
		j.faults++
		j.malformed(seq, 1)
		j.events++
		return
	}
	events := evs.events
	n, misfit, shown, failed := j.Stream.linesSeq(seq, events)
	for _, err := range failed {
		if j.Warn != nil && j.faults < maxFaultReports {
			j.Warn(err)
		}
		j.faults++
	}
	if evs.over > 0 {
		j.Stream.malformedN(int64(evs.over))
		n += int64(evs.over)
	}
	if n > 0 {
		j.malformed(seq, n)
	}
	if evs.over > 0 {
		j.overBound(seq, evs)
	}
	if misfit > 0 {
		j.misfits(seq, misfit, shown)
	}
	j.events += len(events) + evs.over
}

// maxFaultReports is how many faults of the matcher, each with its
// stack, a member reports; the rest are counted as malformed events.
const maxFaultReports = 10

// malformedReport is how often malformed events are reported (the first
// at once): a fleet member runs until stopped, and its summary line,
// which counts them, comes only then.
const malformedReport = time.Minute

// seqReport gathers events of one kind in a member's messages between
// two reports of them on stderr: the first at once, then at most once
// every malformedReport.
type seqReport struct {
	n           int64
	first, last uint64
	reported    time.Time
}

// add counts n events in the message at stream sequence seq. When a
// report is due it returns true with the count and the sequences since
// the last one, and starts counting again.
func (r *seqReport) add(seq uint64, n int64) (due bool, count int64, seqs string) {
	if r.n == 0 {
		r.first = seq
	}
	r.n += n
	r.last = seq
	if time.Since(r.reported) < malformedReport {
		return false, 0, ""
	}
	r.reported = time.Now()
	count, r.n = r.n, 0
	if r.first == r.last {
		return true, count, fmt.Sprintf("the message at stream sequence %d", r.last)
	}
	return true, count, fmt.Sprintf("messages at stream sequences %d to %d", r.first, r.last)
}

// malformed counts n malformed events in the message at stream sequence
// seq (acknowledged with the rest: a redelivery would not read them
// better) and reports them through Warn (see [seqReport]).
func (j *JetStreamSource) malformed(seq uint64, n int64) {
	if due, count, seqs := j.bad.add(seq, n); due && j.Warn != nil {
		j.Warn(fmt.Errorf("%d malformed events (not a record of a format read, or longer than a line may be) in %s, acknowledged with the rest", count, seqs))
	}
}

// overBound reports through Warn (see [seqReport]) the events of the
// message at stream sequence seq past messageEvents: not read, counted as
// malformed (by match) and acknowledged with the rest. They are named for
// what they are, apart from malformed events: a message cut at the bound
// is no bad record, and a publisher that batches more should be told.
func (j *JetStreamSource) overBound(seq uint64, evs splitEvents) {
	if due, count, seqs := j.over.add(seq, int64(evs.over)); due && j.Warn != nil {
		j.Warn(fmt.Errorf("%d events past the bound of %d events a message in %s: not read, counted as malformed, and acknowledged with the rest (publish smaller batches)", count, messageEvents, seqs))
	}
}

// misfits counts n events in the message at stream sequence seq whose
// content shows format shown, not the Matcher's --format: they were read
// as that format, their observables missed, and are acknowledged with the
// rest (a redelivery would read them no better). They are reported through
// Warn as they come (see [seqReport]): over files such input is an error
// with counts, and a member that runs until stopped would otherwise
// acknowledge them without a word.
func (j *JetStreamSource) misfits(seq uint64, n int64, shown Format) {
	if due, count, seqs := j.misfit.add(seq, n); due && j.Warn != nil {
		f := j.Stream.Matcher.cfg.Format
		j.Warn(fmt.Errorf("%d events in %s look like %v, not --format %v: read as %v, their observables missed; acknowledged with the rest (leave out --format, or give --format %v)", count, seqs, shown, f, f, shown))
	}
}

// batchReader splits a message into its events: the records of a Fluent
// Bit batch, the lines of newline-delimited events, or the message itself.
// The events are valid until its next use; it is not safe for concurrent
// use.
type batchReader struct {
	fb  fluentBitReader
	one [1][]byte
}

// messageEvents bounds the events read of one message: a message of
// many short lines or records (64 MiB of "a\n" is 32 million lines) would
// otherwise take a slice of 24 bytes an event, twelve times the message,
// for each of the messages split ahead. The events past it are not read,
// and are counted as malformed. A variable for the tests.
var messageEvents = 1 << 20

// splitEvents are the events of a message (see batchReader.split): the
// first messageEvents of them, and how many more it has (over), not read.
type splitEvents struct {
	events [][]byte
	over   int
	// fault, when not empty, is a fault of the matcher that splitting
	// the message tripped (see splitRecover): its panic and stack. The
	// message has no events then.
	fault string
}

// splitRecover is split that recovers a panic (a fault of the matcher
// that the message trips, a bug): the message is then one malformed
// event, reported with its stream sequence and the stack by
// JetStreamSource.match, as a fault while an event is read or matched is
// (see Matcher.lineSeqRecover). Otherwise the splitter, a goroutine of
// its own, would end the whole process without a word of the message,
// and every member the message is redelivered to after it. The reader is
// reset: its buffers may be half written.
func (r *batchReader) splitRecover(data []byte) (evs splitEvents) {
	defer func() {
		if p := recover(); p != nil {
			*r = batchReader{}
			evs = splitEvents{fault: untrusted.Text(fmt.Sprint(p), 200) + ": " + untrusted.Text(string(debug.Stack()), 2000)}
		}
	}()
	if splitHook != nil {
		splitHook(data)
	}
	return r.split(data)
}

// splitHook, when not nil, is called with every message before it is
// split (for the tests, to trip a fault there).
var splitHook func(data []byte)

func (r *batchReader) split(data []byte) splitEvents {
	r.fb.max = messageEvents
	if recs, ok := r.fb.records(data); ok {
		return splitEvents{events: recs, over: r.fb.over}
	}
	if lines, over, ok := r.lines(data); ok {
		return splitEvents{events: lines, over: over}
	}
	r.one[0] = data
	return splitEvents{events: r.one[:]}
}

// FluentBitRecords returns the events of a message that Fluent Bit's nats
// output published: for every flush, one JSON array of [time, record]
// pairs, each record a map to which the plugin adds the tag under "tag".
// A record that holds its line under "log" (the tail input without a
// parser) yields that line; any other record yields its own JSON, which is
// the event when a parser (json, for Zeek JSON and EVE) decoded the line.
// ok is false for anything else, which is then one event as it is.
func FluentBitRecords(data []byte) (recs [][]byte, ok bool) {
	// (No bound on the records: that is the JetStreamSource's.)
	var r fluentBitReader
	recs, ok = r.records(data)
	if !ok {
		return nil, false
	}
	return recs, true
}

// fluentBitRecordsGeneral is [FluentBitRecords] by encoding/json: the
// reference the fast reader ([fluentBitReader]) falls back to and is
// tested against.
func fluentBitRecordsGeneral(data []byte) (recs [][]byte, ok bool) {
	recs, _, ok = fluentBitRecordsGeneralMax(data, 0)
	return recs, ok
}

// fluentBitRecordsGeneralMax is fluentBitRecordsGeneral that keeps the
// first max records (all of them when max is 0) and counts the rest
// (over).
func fluentBitRecordsGeneralMax(data []byte, max int) (recs [][]byte, over int, ok bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return nil, 0, false
	}
	var pairs []json.RawMessage
	if json.Unmarshal(data, &pairs) != nil || len(pairs) == 0 {
		return nil, 0, false
	}
	for _, p := range pairs {
		var pair []json.RawMessage
		if json.Unmarshal(p, &pair) != nil || len(pair) != 2 {
			return nil, 0, false
		}
		var ts float64
		if json.Unmarshal(pair[0], &ts) != nil {
			return nil, 0, false
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(pair[1], &fields) != nil || fields == nil {
			return nil, 0, false
		}
		if max > 0 && len(recs) >= max {
			over++
			continue
		}
		var line string
		if raw, ok := fields["log"]; ok && len(fields) <= 2 && json.Unmarshal(raw, &line) == nil {
			if _, tagged := fields["tag"]; tagged || len(fields) == 1 {
				recs = append(recs, []byte(line))
				continue
			}
		}
		recs = append(recs, bytes.TrimSpace(pair[1]))
	}
	return recs, over, true
}

// flush emits the sightings of the held messages, then acknowledges them.
// While the emitting takes longer than FlushEvery (a node that is down,
// waited for; a slow reader of stdout), the held messages are told to be
// in progress every FlushEvery, which restarts their AckWait: JetStream
// does not hand them to another member of the fleet while this one still
// counts them.
func (j *JetStreamSource) flush() error {
	j.matchAhead()
	done := make(chan struct{})
	var kept sync.WaitGroup
	var keepErr error
	if len(j.pending) > 0 {
		kept.Add(1)
		go func() {
			defer kept.Done()
			keepErr = j.keepInProgress(j.pending, done)
		}()
	}
	err := j.Stream.FlushNow()
	close(done)
	kept.Wait()
	if keepErr != nil && j.Warn != nil {
		j.Warn(fmt.Errorf("couldn't hold the messages while their sightings waited to be emitted (they may be counted twice): %w", keepErr))
	}
	if err != nil {
		return err
	}
	for _, m := range j.pending {
		if err := m.Ack(); err != nil && j.Warn != nil {
			// The message comes again after AckWait; its recount is
			// identified by its sequence.
			j.Warn(fmt.Errorf("couldn't acknowledge a message: %w", err))
		}
	}
	j.acked.Add(int64(len(j.pending)))
	j.pending = j.pending[:0]
	j.events = 0
	clear(j.inflight)
	return nil
}

// keepInProgress tells JetStream every FlushEvery that msgs are still
// being worked on, until done is closed. It stops at the first error and
// returns it. (Warn is not called from here: it runs beside the
// emitting, which may warn too.)
func (j *JetStreamSource) keepInProgress(msgs []jetstream.Msg, done <-chan struct{}) error {
	t := time.NewTicker(j.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
		}
		for _, m := range msgs {
			select {
			case <-done:
				return nil
			default:
			}
			if err := m.InProgress(); err != nil {
				return err
			}
		}
		j.progressed.Add(1)
	}
}

// lines splits a message that holds several events one a line
// (newline-delimited, as batching publishers write them) into its lines,
// as a file of them is read: each line with its newline,
// the last without one if the message ends without it. ok is false for a
// message of one line (a final newline and blank lines after it aside) and
// for one JSON document spread over lines (its first line an incomplete
// JSON value): such a message is one event. The lines are valid until the
// next call.
func (r *batchReader) lines(data []byte) (lines [][]byte, over int, ok bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 || len(bytes.TrimSpace(data[i+1:])) == 0 {
		return nil, 0, false
	}
	if first := bytes.TrimSpace(data[:i]); len(first) > 0 && (first[0] == '{' || first[0] == '[') && !json.Valid(first) {
		return nil, 0, false
	}
	lines = r.fb.recs[:0]
	for len(data) > 0 {
		if len(lines) >= messageEvents {
			// The lines past the bound are counted, not held.
			over = bytes.Count(data, []byte{'\n'})
			if data[len(data)-1] != '\n' {
				over++
			}
			break
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	r.fb.recs = lines[:0]
	return lines, over, true
}

// streamSeq reads the stream sequence of a message from its reply subject
// (the subject its acknowledgement goes to) without the allocation of
// Msg.Metadata: $JS.ACK.<stream>.<consumer>.<delivered>.<stream
// sequence>.<consumer sequence>.<time>.<pending> (9 tokens), or with the
// domain and account hash after ACK (11 tokens or more, newer servers).
// ok is false for anything else, left to Metadata.
func streamSeq(reply string) (seq uint64, ok bool) {
	const prefix = "$JS.ACK."
	if !strings.HasPrefix(reply, prefix) {
		return 0, false
	}
	var at int
	switch n := strings.Count(reply, ".") + 1; {
	case n == 9:
		at = 5
	case n >= 11:
		at = 7
	default:
		return 0, false
	}
	t := reply
	for range at {
		t = t[strings.IndexByte(t, '.')+1:]
	}
	if i := strings.IndexByte(t, '.'); i >= 0 {
		t = t[:i]
	}
	seq, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, false
	}
	return seq, seq > 0
}

// streamPending reads from a message's reply subject (see [streamSeq]) how
// many messages were left for the consumer when the server sent it.
func streamPending(reply string) (n uint64, ok bool) {
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return 0, false
	}
	var at int
	switch n := strings.Count(reply, ".") + 1; {
	case n == 9:
		at = 8
	case n >= 11:
		at = 10
	default:
		return 0, false
	}
	t := reply
	for range at {
		t = t[strings.IndexByte(t, '.')+1:]
	}
	if i := strings.IndexByte(t, '.'); i >= 0 {
		t = t[:i]
	}
	n, err := strconv.ParseUint(t, 10, 64)
	return n, err == nil
}
