package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/taxii"
)

// procCPU is the CPU time (user + system) process pid has used so far, from
// /proc/PID/stat (clock ticks of 10 ms, USER_HZ on Linux), or 0 when it
// can't be read (another OS, a process that has gone).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start at the last ')'. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// backendPIDs returns the pids of the PostgreSQL server processes serving
// connections named app (application_name).
func backendPIDs(ctx context.Context, tb testing.TB, conn *pgx.Conn, app string) []int {
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		pids = append(pids, int(pid))
	}
	return pids
}

// BenchmarkFrontEnds compares ingest through two front ends of one node on
// one PostgreSQL database with ingest through one, in the same run: two
// child processes serve the same data directory (node key, config.json),
// four clients post envelopes of 100 pre-signed indicators, either all to
// front end A ("one") or two to A and two to B ("two"); the two modes
// alternate round by round, in an order that rotates, so that they share
// the machine's load. B runs in both modes (in "one" it only stands by as
// integrator or integrates A's entries: whichever holds the lease).
// ratio = two / one. It also reports what each acknowledged object cost
// in CPU: in the front ends (both child processes), in the PostgreSQL
// server processes serving them (by application_name; the server's WAL
// writer and checkpointer are not counted) and in the clients (this
// process: HTTP and JSON only, the signing is done before timing). Run
// with -benchtime 1x; PARLEY_BENCH_ROUNDS sets the rounds (default 10).
func BenchmarkFrontEnds(b *testing.B) {
	ctx := context.Background()
	app := fmt.Sprintf("parley-fe-bench-%d", os.Getpid())
	url := pgtest.SchemaURL(b) + "&application_name=" + app
	dirA := b.TempDir()
	if _, err := Init(ctx, dirA, Config{Store: url}, nil); err != nil {
		b.Fatal(err)
	}
	n, err := Open(ctx, dirA, Options{})
	if err != nil {
		b.Fatal(err)
	}
	m, key, coll := addAliceShared(b, n)
	n.Close()
	a := &frontEnd{name: "A", dir: dirA}
	fb := &frontEnd{name: "B", dir: copyDataDir(b, dirA)}
	b.Cleanup(func() { a.kill(); fb.kill() })
	a.start(b, 0, m.Token)
	fb.start(b, 0, m.Token)

	rounds := 10
	if r, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	const clients, batch, envelopes = 4, 100, 2 // per client and round
	perMode := clients * batch * envelopes
	// Pre-sign everything, so that the clients' signing is not timed.
	objs := make([][][]json.RawMessage, 2*rounds) // [round*2+mode][envelope]
	for i := range objs {
		for e := range clients * envelopes {
			objs[i] = append(objs[i], signedIndicators(b, m.ID, key, batch, fmt.Sprintf("r%d e%d", i, e)))
		}
	}
	// Warm up both front ends (connections, caches) untimed.
	for _, f := range []*frontEnd{a, fb} {
		if _, err := f.client.AddObjects(ctx, coll, signedIndicators(b, m.ID, key, batch, "warm-up "+f.name)); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, pgtest.ServerURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)

	type cost struct{ wall, node, pg, client time.Duration }
	var one, two cost
	run := func(mode int, envs [][]json.RawMessage) {
		targets := []*taxii.Client{a.client, a.client, a.client, a.client}
		if mode == 1 {
			targets = []*taxii.Client{a.client, fb.client, a.client, fb.client}
		}
		pgPIDs := backendPIDs(ctx, b, conn, app)
		cpu := func() (node, pg, client time.Duration) {
			node = procCPU(a.cmd.Process.Pid) + procCPU(fb.cmd.Process.Pid)
			for _, pid := range pgPIDs {
				pg += procCPU(pid)
			}
			return node, pg, cpuTime()
		}
		n0, p0, c0 := cpu()
		start := time.Now()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range envelopes {
					st, err := targets[c].AddObjects(ctx, coll, envs[c*envelopes+e])
					if err != nil {
						b.Error(err)
						return
					}
					if len(st.Successes) != batch {
						b.Errorf("%d of %d objects acknowledged", len(st.Successes), batch)
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		n1, p1, c1 := cpu()
		x := &one
		if mode == 1 {
			x = &two
		}
		x.wall += wall
		x.node += n1 - n0
		x.pg += p1 - p0
		x.client += c1 - c0
	}
	b.ResetTimer()
	for r := range rounds {
		for k := range 2 {
			mode := (r + k) % 2
			run(mode, objs[r*2+mode])
		}
	}
	b.StopTimer()
	total := float64(rounds * perMode)
	oneRate, twoRate := total/one.wall.Seconds(), total/two.wall.Seconds()
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / total }
	b.ReportMetric(oneRate, "one-obj/s")
	b.ReportMetric(twoRate, "two-obj/s")
	b.ReportMetric(twoRate/oneRate, "ratio")
	b.ReportMetric(us(one.node), "one-node-cpu-µs/obj")
	b.ReportMetric(us(two.node), "two-node-cpu-µs/obj")
	b.ReportMetric(us(one.pg), "one-pg-cpu-µs/obj")
	b.ReportMetric(us(two.pg), "two-pg-cpu-µs/obj")
	b.ReportMetric(us(one.client+two.client)/2, "client-cpu-µs/obj")
	b.ReportMetric(0, "ns/op")
}
