package match

import (
	"context"
	"io"
	"sync"
	"time"
)

// Stream runs a [Matcher] over live input: it compiles the indicators of
// Set that are not revoked, recompiles when a poll changes the set, and
// hands the sightings to
// Emit every FlushEvery, all without stopping the stream. Fields are set
// before [Stream.Init] and not changed afterwards.
type Stream struct {
	Matcher *Matcher
	Set     *IndicatorSet
	// Poller, if not nil, is polled every PollEvery (default 1 minute).
	Poller    *Poller
	PollEvery time.Duration
	// FlushEvery is the interval between flushes when following (default
	// 1 minute).
	FlushEvery time.Duration
	// Options tune the compiled engines.
	Options Options
	// Emit receives each flush's objects (possibly none).
	Emit func([]map[string]any) error
	// Warn receives indicators that do not compile and failed polls;
	// they do not stop the stream.
	Warn func(error)
	// Now is the clock (time.Now by default).
	Now func() time.Time

	mu                  sync.Mutex
	lastPoll, lastFlush time.Time
	rebuilds            int
	warned              map[string]bool // the compile errors of the last rebuild, told once
	engine              *Engine

	// emitMu serialises calls of Emit, which are made without mu held so
	// that Emit may call the Stream's own accessors (Rebuilds, Engine)
	// without a lock-order inversion; it also guards emitErr.
	emitMu  sync.Mutex
	emitErr error
}

// Init polls once (if there is a Poller) and compiles the first engine. An
// error is the poll's.
func (s *Stream) Init(ctx context.Context) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.PollEvery <= 0 {
		s.PollEvery = time.Minute
	}
	if s.FlushEvery <= 0 {
		s.FlushEvery = time.Minute
	}
	if s.Poller != nil {
		if _, err := s.Poller.Poll(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.lastPoll, s.lastFlush = now, now
	s.rebuild(now)
	return nil
}

// rebuild compiles every indicator that is not revoked: the matcher
// decides validity by each event's time (see [Matcher.Event]), so the
// engine need not change when a valid_from or valid_until passes.
func (s *Stream) rebuild(now time.Time) {
	e, errs := Compile(s.Set.Usable(), s.Options)
	// Each error is told once while its indicator stays as it is, not
	// again at every rebuild a poll causes; the map holds only the
	// current errors.
	warned := make(map[string]bool, len(errs))
	for _, ce := range errs {
		k := ce.Error()
		if s.Warn != nil && !s.warned[k] {
			s.Warn(ce)
		}
		warned[k] = true
	}
	s.warned = warned
	s.engine = e
	s.rebuilds++
	s.Matcher.SetEngine(e)
}

// OtherPatternTypes counts, by pattern_type, the usable indicators whose
// pattern is not a STIX pattern (sigma, yara, snort, pdq, ...): [Compile]
// leaves them out, so no event matches them.
func (s *Stream) OtherPatternTypes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, ind := range s.Set.Usable() {
		if ind.PatternType != "" && ind.PatternType != "stix" {
			out[ind.PatternType]++
		}
	}
	return out
}

// Rebuilds returns how many engines have been compiled.
func (s *Stream) Rebuilds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuilds
}

// Engine returns the current engine.
func (s *Stream) Engine() *Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine
}

// Tick polls, recompiles and flushes as their times come.
func (s *Stream) Tick(ctx context.Context) {
	now := s.Now()
	changed := false
	if s.Poller != nil && now.Sub(s.lastPoll) >= s.PollEvery {
		// Poll without holding the lock: the stream goes on meanwhile.
		c, err := s.Poller.Poll(ctx)
		if err != nil && s.Warn != nil {
			s.Warn(err)
		}
		changed = c
	}
	s.mu.Lock()
	if s.Poller != nil && now.Sub(s.lastPoll) >= s.PollEvery {
		s.lastPoll = now
	}
	if changed {
		s.rebuild(now)
	}
	flush := now.Sub(s.lastFlush) >= s.FlushEvery
	var objs []map[string]any
	if flush {
		s.lastFlush = now
		objs = s.Matcher.Flush()
	}
	s.mu.Unlock()
	if flush {
		s.emit(objs)
	}
}

// emit hands a flush's sightings to Emit; the caller must not hold mu.
func (s *Stream) emit(objs []map[string]any) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.Emit != nil {
		if err := s.Emit(objs); err != nil && s.emitErr == nil {
			s.emitErr = err
		}
	}
}

// Line matches one line.
func (s *Stream) Line(line []byte) {
	s.mu.Lock()
	s.Matcher.Line(line)
	s.mu.Unlock()
}

// malformed counts a line that was not read (longer than MaxLine).
func (s *Stream) malformed() {
	s.mu.Lock()
	s.Matcher.stats.Malformed++
	s.mu.Unlock()
}

// malformedN counts n events that were not read.
func (s *Stream) malformedN(n int64) {
	s.mu.Lock()
	s.Matcher.stats.Malformed += n
	s.mu.Unlock()
}

// LineSeq matches one line that is message seq of a stream (see
// [Matcher.LineSeq]).
func (s *Stream) LineSeq(seq uint64, line []byte) {
	s.mu.Lock()
	s.Matcher.LineSeq(seq, line)
	s.mu.Unlock()
}

// linesSeq is LineSeq for each of lines, under one hold of the lock: the
// lines of one message, read as a file of their own: an event longer than
// a file's line may be is malformed (see [Matcher.tooLong]). A Zeek TSV header of
// an earlier message is not in force for them: any member of a fleet may
// get any message, and messages of other logs come between.
// It returns how many of them were malformed, and how many showed
// another format than the Matcher's Config.Format (read as that format,
// their observables missed) with the format the last of those showed,
// and the faults of the matcher that events tripped (counted malformed,
// see lineSeqRecover).
func (s *Stream) linesSeq(seq uint64, lines [][]byte) (malformed, misfit int64, shown Format, failed []error) {
	s.mu.Lock()
	s.Matcher.dec.resetTSV()
	before, mis := s.Matcher.stats.Malformed, s.Matcher.stats.Mismatched
	for _, l := range lines {
		if s.Matcher.tooLong(l) {
			s.Matcher.stats.Malformed++
			continue
		}
		if p := s.Matcher.lineSeqRecover(seq, l); p != nil {
			failed = append(failed, p)
		}
	}
	malformed = s.Matcher.stats.Malformed - before
	for f, n := range s.Matcher.stats.Mismatched {
		if d := n - mis[f]; d > 0 {
			misfit += d
			shown = Format(f)
		}
	}
	s.mu.Unlock()
	return malformed, misfit, shown, failed
}

// FlushNow flushes the sightings gathered so far and hands them to Emit at
// once, returning Emit's error: when it returns nil, everything matched
// before the call has been emitted.
func (s *Stream) FlushNow() error {
	s.mu.Lock()
	objs := s.Matcher.Flush()
	s.lastFlush = s.Now()
	s.mu.Unlock()
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	if s.Emit == nil {
		return nil
	}
	return s.Emit(objs)
}

// Follow follows a growing file (see [Follow]) until ctx is done, then
// flushes. It returns the first error of reading or of Emit.
func (s *Stream) Follow(ctx context.Context, path string, poll time.Duration) error {
	err := Follow(ctx, path, poll, s.Matcher.cfg.MaxLine, s.Line, s.malformed, func() { s.Tick(ctx) })
	if ferr := s.Finish(); err == nil {
		err = ferr
	}
	return err
}

// Read matches all of r (no flushing on the way; call Finish).
func (s *Stream) Read(ctx context.Context, r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Matcher.ReadLines(ctx, r)
}

// Finish flushes what is left and returns the first Emit error.
func (s *Stream) Finish() error {
	s.mu.Lock()
	objs := s.Matcher.Flush()
	s.mu.Unlock()
	s.emit(objs)
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	return s.emitErr
}
