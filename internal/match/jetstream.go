package match

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// pullBytes is about the most bytes one pull asks for: Fluent Bit batches
// are large messages, and a pull of Batch of them would hold them all in
// memory at once.
const pullBytes = 16 << 20

// JetStreamSource feeds a [Stream] from a JetStream pull consumer, one
// sensor event (one log line, any format the matcher reads) a message, or
// the batch of events Fluent Bit's nats output writes in one message (see
// [FluentBitRecords]).
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
// sequences; a Fluent Bit batch counts as many events as it holds.)
// Malformed messages and those that match nothing are acknowledged with
// the rest of their flush.
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
	// carry that many events (Fluent Bit batches), so that a batch does
	// not wait FlushEvery for its acknowledgement. Batch is how many
	// messages are pulled at a time (default 500; fewer when they are
	// large, see pullBytes).
	MaxPending int
	Batch      int
	// Warn receives errors that do not stop the source.
	Warn func(error)

	pending  []jetstream.Msg
	events   int            // events of the messages in pending
	inflight map[uint64]int // stream sequence -> index in pending
	fb       fluentBitReader
	acked    atomic.Int64
}

// Acked returns how many messages the source has acknowledged so far; it
// may be called while Run runs.
func (j *JetStreamSource) Acked() int64 { return j.acked.Load() }

// Run consumes until ctx is done or an error stops it, then flushes and
// acknowledges what it holds. Messages pulled but not yet matched when ctx
// ends are left to be redelivered after the consumer's AckWait. It returns nil when ctx ended it; an Emit
// error stops it at once, leaving the messages of that flush
// unacknowledged for redelivery.
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
	j.inflight = map[uint64]int{}
	lastFlush := time.Now()
	wait := min(j.FlushEvery, 500*time.Millisecond)
	// Two pulls are in flight: the server fills the next while the
	// messages of the current one are matched. A pull asks for a count
	// of messages (a byte limit makes the server hold a pull that the
	// next message would overflow until it expires), as many as make
	// about pullBytes at the sizes seen so far, at most Batch.
	count := j.Batch
	var seenMsgs, seenBytes int64
	fetch := func() (jetstream.MessageBatch, error) {
		return j.Consumer.Fetch(count, jetstream.FetchMaxWait(wait))
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
			}
			err = cur.Error()
			if seenMsgs > 0 {
				count = int(min(max(pullBytes*seenMsgs/max(seenBytes, 1), 1), int64(j.Batch)))
			}
		}
		switch {
		case err == nil, errors.Is(err, nats.ErrTimeout):
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
// not matched again.
func (j *JetStreamSource) take(msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to acknowledge or match.
		if j.Warn != nil {
			j.Warn(fmt.Errorf("couldn't read a message's metadata: %w", err))
		}
		return nil
	}
	seq := md.Sequence.Stream
	if i, ok := j.inflight[seq]; ok {
		j.pending[i] = msg
		return nil
	}
	j.inflight[seq] = len(j.pending)
	j.pending = append(j.pending, msg)
	if recs, ok := j.fb.records(msg.Data()); ok {
		for _, r := range recs {
			j.Stream.LineSeq(seq, r)
		}
		j.events += len(recs)
		return nil
	}
	j.Stream.LineSeq(seq, msg.Data())
	j.events++
	return nil
}

// FluentBitRecords returns the events of a message that Fluent Bit's nats
// output published: for every flush, one JSON array of [time, record]
// pairs, each record a map to which the plugin adds the tag under "tag".
// A record that holds its line under "log" (the tail input without a
// parser) yields that line; any other record yields its own JSON, which is
// the event when a parser (json, for Zeek JSON and EVE) decoded the line.
// ok is false for anything else, which is then one event as it is.
func FluentBitRecords(data []byte) (recs [][]byte, ok bool) {
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
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return nil, false
	}
	var pairs []json.RawMessage
	if json.Unmarshal(data, &pairs) != nil || len(pairs) == 0 {
		return nil, false
	}
	for _, p := range pairs {
		var pair []json.RawMessage
		if json.Unmarshal(p, &pair) != nil || len(pair) != 2 {
			return nil, false
		}
		var ts float64
		if json.Unmarshal(pair[0], &ts) != nil {
			return nil, false
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(pair[1], &fields) != nil || fields == nil {
			return nil, false
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
	return recs, true
}

// flush emits the sightings of the held messages, then acknowledges them.
func (j *JetStreamSource) flush() error {
	if err := j.Stream.FlushNow(); err != nil {
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
