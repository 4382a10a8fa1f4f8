package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-exchange/parley/internal/match"
)

// fleetOptions are match's --nats flags.
type fleetOptions struct {
	url, stream, subject, consumer string
	batch, maxPending              int
	flush, ackWait                 time.Duration
	// probe, when not nil, is the member's match.Probe (--push), kept
	// under probeKey in the fleet's key-value bucket.
	probe    *match.Probe
	probeKey string
}

// fleetMaxAckPending is the consumer's limit on messages delivered and
// not yet acknowledged, across every matcher of the fleet: room for a
// hundred matchers each holding --max-pending (default) messages.
const fleetMaxAckPending = 1_000_000

// natsServers names the servers of a --nats URL (one, or several
// separated by commas) without their user information, which holds a user
// and password or a token (nats://TOKEN@host), for an error message.
func natsServers(urls string) string {
	var out []string
	for _, s := range strings.Split(urls, ",") {
		out = append(out, shownURL(strings.TrimSpace(s)))
	}
	return strings.Join(out, ",")
}

// runFleetMember joins the fleet of matchers sharing the durable consumer
// and matches its messages with s until ctx is done. Every member creates
// or updates the consumer with the same configuration, so the fleet needs
// no set-up beyond the stream. The acknowledgements of the last flush are
// flushed to the server before it returns.
func runFleetMember(ctx context.Context, c *cli, s *match.Stream, o fleetOptions) error {
	nc, err := nats.Connect(o.url, nats.Name("parley match"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("couldn't connect to NATS at %s: %w", natsServers(o.url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("couldn't use JetStream: %w", err)
	}
	// A --subject that matches none of the stream's subjects: nats-server
	// 2.10 and later create the consumer, which never gets a message.
	// A stream that doesn't exist is the first thing a new fleet meets:
	// the members make their consumer, never the stream, so the error
	// says how to make it rather than JetStream's "stream not found".
	switch str, err := js.Stream(ctx, o.stream); {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		subjects := o.subject
		if subjects == "" {
			subjects = "sensor.>"
		}
		return withExit(3, fmt.Sprintf("create it where the sensors publish (nats stream add %s --subjects '%s' --storage file --defaults), or give --stream the stream they publish to", o.stream, subjects),
			fmt.Errorf("stream %s doesn't exist on the NATS server at %s", o.stream, natsServers(o.url)))
	case err == nil:
		if err := match.CheckJetStreamFilter(str.CachedInfo().Config.Subjects, o.subject); err != nil {
			return usageErrorf("give a --subject within the stream's subjects (nats stream info "+o.stream+")", "stream %s: %v", o.stream, err)
		}
	}
	cfg := match.JetStreamConsumerConfig(o.consumer, o.subject, o.ackWait, fleetMaxAckPending)
	// A consumer made otherwise (by hand, or by members with another
	// --subject) is not taken over: an update of its filter would skip
	// messages and change what every other member gets.
	const otherHint = "every matcher of a fleet gives the same --subject; for other settings use another --consumer name, or delete this consumer"
	switch have, err := js.Consumer(ctx, o.stream, o.consumer); {
	case errors.Is(err, jetstream.ErrNotPullConsumer):
		return usageErrorf(otherHint, "stream %s: consumer %s exists and is a push consumer; a fleet shares a pull consumer", o.stream, o.consumer)
	case err == nil:
		if err := match.CheckJetStreamConsumer(have.CachedInfo().Config, cfg); err != nil {
			return usageErrorf(otherHint, "stream %s: %v", o.stream, err)
		}
		hc := have.CachedInfo().Config
		if err := match.CheckJetStreamPulls(hc, o.batch, o.flush, nc.MaxPayload()); err != nil {
			return usageErrorf("change the consumer's limits (nats consumer edit), or use another --consumer name", "stream %s: %v", o.stream, err)
		}
		// The update keeps what the operator set on the consumer
		// (backoff, max_deliver, max_waiting, ...): JetStream drops what
		// an update leaves out. The consumer has one AckWait: the member
		// started last sets it for all, and a member whose --flush is
		// near it or longer gets its messages counted twice.
		cfg = match.JetStreamConsumerUpdate(hc, cfg)
		// A consumer made with max_deliver (by hand) keeps it: it is the
		// operator's, but JetStream then drops a message after that many
		// deliveries, and its events with it, without a sighting. The
		// fleet needs none: a message whose objects the node refuses for
		// what they are is acknowledged, not redelivered for ever.
		if md := hc.MaxDeliver; md > 0 {
			fmt.Fprintf(c.stderr, "parley: warning: consumer %s has max_deliver %d: JetStream drops a message delivered that often without an acknowledgement (members that died or stopped with it), and its events are then lost without a sighting; the fleet needs no max_deliver (set it to -1 to lose none)\n", o.consumer, md)
		}
		// A backoff takes the ack wait's place: the n-th delivery of a
		// message waits the n-th interval for its acknowledgement, and
		// JetStream sets the ack wait to the first.
		if bo := hc.BackOff; len(bo) > 0 {
			short := ""
			if slices.Min(bo) < 2*o.flush {
				short = fmt.Sprintf("; an interval shorter than twice --flush (%v) redelivers messages a member still holds, to be counted twice", o.flush)
			}
			fmt.Fprintf(c.stderr, "parley: warning: consumer %s has backoff %v, which JetStream waits for an acknowledgement instead of --ack-wait%s\n", o.consumer, bo, short)
		} else if w := hc.AckWait; w != cfg.AckWait {
			fmt.Fprintf(c.stderr, "parley: warning: consumer %s's ack wait was %v; it is now %v for every member of the fleet (give every member the same --flush and --ack-wait)\n", o.consumer, w, cfg.AckWait)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, o.stream, cfg)
	if err != nil {
		return fmt.Errorf("couldn't create consumer %s on stream %s: %w", o.consumer, o.stream, err)
	}
	// The probe of the member's pushes is kept in JetStream, where a
	// member that starts again finds it, and the fleet shares it with
	// the guard's times: otherwise the first flush after a start whose
	// every object the node fails on has no probe, and is waited on for
	// ever as a node that is down (see match.Probe.Keep).
	if o.probe != nil {
		warn := func(err error) { fmt.Fprintf(c.stderr, "parley: warning: %v\n", err) }
		// Bounded: a request the user may not publish is never answered
		// (nats.go reports the violation aside), and a ctx without a
		// deadline would wait on it for ever.
		kctx, kcancel := context.WithTimeout(ctx, probeBucketTimeout)
		k, err := match.JetStreamProbeKeeper(kctx, js, o.probeKey)
		kcancel()
		if err != nil {
			warn(fmt.Errorf("%w; the probe of the pushes is held in memory only: a member started again waits on a first flush whose every object the node fails on, as for a node that is down (let the members create the bucket, or create it: nats kv add %s --history 1 --max-value-size 131072)", err, match.ProbeBucket))
		} else {
			o.probe.Keep(k, warn)
		}
	}
	// The source flushes the stream itself; Tick only polls indicators.
	s.FlushEvery = 100 * 365 * 24 * time.Hour
	src := &match.JetStreamSource{
		Stream: s, Consumer: cons,
		FlushEvery: o.flush, MaxPending: o.maxPending, Batch: o.batch,
		MaxPayload: nc.MaxPayload(), PayloadLimit: nc.MaxPayload,
		Warn: func(err error) { fmt.Fprintf(c.stderr, "parley: warning: %v\n", err) },
	}
	err = src.Run(ctx)
	if ferr := nc.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("couldn't send the last acknowledgements: %w", ferr)
	}
	fmt.Fprintf(c.stderr, "parley: match: %d messages acknowledged on %s/%s\n", src.Acked(), o.stream, o.consumer)
	return err
}

// probeBucketTimeout bounds the opening (or creation) of the probe's
// key-value bucket when a fleet member starts.
const probeBucketTimeout = 10 * time.Second

// fleetTryTimeout bounds one try of a fleet member's push (see
// match.PushRetryingSeparating): long enough for a push that sets apart
// an object the node hangs on (its halving and 16 rounds, each waiting
// 10 s and more for an answer that does not come). A member asked to stop
// gives its try under way at most match's stopping grace (2 minutes).
const fleetTryTimeout = 15 * time.Minute
