package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/taxii"
)

func init() {
	register(command{
		name:  "match",
		usage: "match  (--url U --token T --collection C | --indicators FILE) [--format zeek|eve|ecs|stix] [--follow] [FILE...]",
		run:   runMatch,
	})
}

// runMatch streams logs against indicators and prints sightings.
//
// Exit status: 0 when the input was read (whether or not anything
// matched), 2 for bad usage or unreadable indicators, 3 when reading the
// input failed, 4 when the node refused a poll.
func runMatch(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("match")
	indicators := fs.String("indicators", "", "STIX bundle `FILE` of indicators")
	url := fs.String("url", "", "node `URL` to poll indicators from over TAXII")
	token := fs.String("token", "", "API `TOKEN` for --url")
	collection := fs.String("collection", "", "TAXII collection `ID` of the indicators")
	format := fs.String("format", "auto", "input format: zeek, eve, ecs, stix or auto (per line)")
	follow := fs.Bool("follow", false, "keep reading FILE as it grows (survives rotation)")
	flush := fs.Duration("flush", time.Minute, "with --follow, emit sightings every `DURATION`")
	pollEvery := fs.Duration("poll", time.Minute, "with --url, poll for indicator changes every `DURATION`")
	as := fs.String("as", "", "STIX identity `ID` of the sighting member (where_sighted_refs)")
	observed := fs.Bool("observed-data", false, "include observed-data for matching events")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	f, err := match.ParseFormat(*format)
	if err != nil {
		return usageErrorf("", "%v", err)
	}
	files := fs.Args()
	if *follow && len(files) != 1 {
		return usageErrorf("give the one log file to follow", "--follow needs exactly one FILE")
	}
	if (*indicators == "") == (*url == "") {
		return usageErrorf("give --indicators FILE, or --url, --token and --collection", "need one source of indicators")
	}
	set := match.NewIndicatorSet()
	var poller *match.Poller
	if *indicators != "" {
		fh, err := os.Open(*indicators)
		if err != nil {
			return usageErrorf("", "couldn't open the indicators: %v", err)
		}
		inds, err := match.ReadIndicators(fh)
		fh.Close()
		if err != nil {
			return usageErrorf("the file must be a STIX bundle or JSON lines of STIX objects", "%v", err)
		}
		for _, ind := range inds {
			set.Put(ind)
		}
	} else {
		if *collection == "" {
			return usageErrorf("", "--url needs --collection")
		}
		poller = &match.Poller{Client: &taxii.Client{BaseURL: *url, Token: *token}, Collection: *collection, Set: set}
		if _, err := poller.Poll(ctx); err != nil {
			return withExit(4, "check --url, --token and --collection", err)
		}
	}
	build := func() (*match.Engine, time.Time) {
		active, next := set.Active(time.Now())
		e, errs := match.Compile(active, match.Options{})
		for _, ce := range errs {
			fmt.Fprintf(c.stderr, "parley: warning: %v\n", ce)
		}
		return e, next
	}
	engine, nextChange := build()
	m := match.NewMatcher(engine, match.Config{Format: f, Identity: *as, ObservedData: *observed})
	start := time.Now()
	var mu sync.Mutex // guards m between the reader and the flush/poll ticker
	emit := func() error {
		return match.WriteObjects(c.stdout, m.Flush())
	}
	summary := func() {
		s := m.Stats()
		secs := time.Since(start).Seconds()
		rate := 0.0
		if secs > 0 {
			rate = float64(s.Events) / secs
		}
		fmt.Fprintf(c.stderr, "parley: match: %d events, %d matched, %d malformed, %d sightings, %d indicators, %.0f events/s\n",
			s.Events, s.Matched, s.Malformed, s.Sightings, engine.Len(), rate)
	}
	if *follow {
		lastFlush, lastPoll := time.Now(), time.Now()
		tick := func() {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			rebuild := !nextChange.IsZero() && !now.Before(nextChange)
			if poller != nil && now.Sub(lastPoll) >= *pollEvery {
				lastPoll = now
				changed, err := poller.Poll(ctx)
				if err != nil {
					fmt.Fprintf(c.stderr, "parley: warning: %v\n", err)
				}
				rebuild = rebuild || changed
			}
			if rebuild {
				engine, nextChange = build()
				m.SetEngine(engine)
			}
			if now.Sub(lastFlush) >= *flush {
				lastFlush = now
				if err := emit(); err != nil {
					fmt.Fprintf(c.stderr, "parley: warning: %v\n", err)
				}
			}
		}
		err := match.Follow(ctx, files[0], 0, func(line []byte) {
			mu.Lock()
			m.Line(line)
			mu.Unlock()
		}, tick)
		mu.Lock()
		defer mu.Unlock()
		if err2 := emit(); err == nil {
			err = err2
		}
		summary()
		return withExit(3, "", err)
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		var r io.Reader = c.stdin
		if name != "-" {
			fh, err := os.Open(name)
			if err != nil {
				return withExit(3, "", fmt.Errorf("couldn't open input: %w", err))
			}
			defer fh.Close()
			r = fh
		}
		if err := m.ReadLines(ctx, r); err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			return withExit(3, "", err)
		}
	}
	if err := emit(); err != nil {
		return withExit(3, "", err)
	}
	summary()
	return nil
}
