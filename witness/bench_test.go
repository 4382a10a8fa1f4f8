package witness

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// benchLog is one log's stream of add-checkpoint requests: checkpoints of
// growing size, each with the consistency proof from the previous one.
type benchLog struct {
	vkey   string
	v      note.Verifier
	vs     note.Verifiers // v, built once as the witness does
	bodies [][]byte
	// reqs are the bodies as HTTP/1.1 requests, as a witness server
	// reads them from a connection.
	reqs   [][]byte
	cps    []tlog.Checkpoint
	notes  [][]byte
	texts  [][]byte // the notes' texts, which the cosignatures sign
	proofs [][]tlog.Hash
}

func makeBenchLogs(b *testing.B, logs, perLog int) []*benchLog {
	out := make([]*benchLog, logs)
	for i := range out {
		l := newTestLog(b, fmt.Sprintf("bench.example/log%d", i))
		h := l.newHistory(b, "x", 0, 5000)
		bl := &benchLog{vkey: l.vkey, v: mustV(b, l.vkey)}
		bl.vs = note.VerifierList(bl.v)
		var prev uint64
		for k := 1; k <= perLog; k++ {
			size := uint64(k * 5000 / perLog)
			n := h.checkpointAt(b, size)
			p := h.proof(b, prev, size)
			cp, _ := tlog.OpenCheckpoint(n, bl.v)
			text, _ := tlog.SplitNote(n)
			body := MarshalAddCheckpoint(prev, p, n)
			bl.bodies = append(bl.bodies, body)
			bl.reqs = append(bl.reqs, fmt.Appendf(nil, "POST /add-checkpoint HTTP/1.1\r\nHost: witness.example\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
			bl.cps, bl.notes, bl.proofs = append(bl.cps, cp), append(bl.notes, n), append(bl.proofs, p)
			bl.texts = append(bl.texts, text)
			prev = size
		}
		out[i] = bl
	}
	return out
}

// BenchmarkCosignVsBound measures, in one run, the rate at which a witness
// cosigns (add-checkpoint through its HTTP handler, without a network:
// parsing, the log signature check, the consistency proof, the
// cosignature, and the flushed state write shared by concurrent requests)
// against its bound: the same checkpoints' work with nothing else (one
// Ed25519 verify, one Ed25519 sign and the consistency proof's hashes per
// checkpoint), spread over every CPU, each log's verifier list and each
// checkpoint's text made before the clock starts. It reports both rates
// and their ratio, the witness's CPU time per checkpoint, and the bound's
// CPU time over the witness's (cpu-ratio).
//
// Each sender is a connection: its requests are HTTP/1.1 requests read
// with its own buffered reader (http.ReadRequest, which net/http's server
// runs for each request of a connection) and served on its goroutine.
//
// Each log's requests are in order. In the "logs=64" cases 64 logs submit
// at once, each waiting for a cosignature before sending its next
// checkpoint. In "logs=1" one log does the same: strictly sequential, so
// each checkpoint waits for its own flush and the ratio is mostly the
// disk's. In "logs=1,inflight=8" the one log keeps up to 8 checkpoints in
// flight on 8 connections (checkpoint N+1 sent before N's cosignature
// came back; each connection sends the next checkpoint once its last is
// answered, so they may reach the witness out of order), as a node that
// integrates faster than one flush can; in "logs=1,inflight=32", up to 32.
//
// The "no-fsync" cases run the witness with Config.NoSync (state written
// to the page cache before each cosignature is returned: survives kill -9,
// not power loss).
func BenchmarkCosignVsBound(b *testing.B) {
	b.Run("logs=64", func(b *testing.B) { benchCosign(b, 64, 40, 1, false) })
	b.Run("logs=1", func(b *testing.B) { benchCosign(b, 1, 200, 1, false) })
	b.Run("logs=1,inflight=8", func(b *testing.B) { benchCosign(b, 1, 400, 8, false) })
	b.Run("logs=1,inflight=32", func(b *testing.B) { benchCosign(b, 1, 400, 32, false) })
	b.Run("logs=64,no-fsync", func(b *testing.B) { benchCosign(b, 64, 40, 1, true) })
	b.Run("logs=1,no-fsync", func(b *testing.B) { benchCosign(b, 1, 200, 1, true) })
	b.Run("logs=1,inflight=8,no-fsync", func(b *testing.B) { benchCosign(b, 1, 400, 8, true) })
}

func benchCosign(b *testing.B, logs, perLog, inflight int, noSync bool) {
	bls := makeBenchLogs(b, logs, perLog)
	signer := newCosigner(b, "bench.example/w")
	total := float64(logs * perLog)
	cpus := runtime.GOMAXPROCS(0)
	var boundD, boundCPU, witnessD, witnessCPU time.Duration
	var writes int
	for i := 0; i < b.N; i++ {
		// The bound: per checkpoint, verify the log's signature, check the
		// proof and sign, spread over every CPU.
		start := time.Now()
		cpu0 := processCPU()
		parallel(cpus, func(c int) {
			for x := c; x < logs*perLog; x += cpus {
				bl, k := bls[x%logs], x/logs
				if _, err := note.Open(bl.notes[k], bl.vs); err != nil {
					panic(err)
				}
				if k > 0 {
					if err := tlog.VerifyConsistency(bl.cps[k-1].Size, bl.cps[k].Size, bl.proofs[k], bl.cps[k-1].Hash, bl.cps[k].Hash); err != nil {
						panic(err)
					}
				}
				if _, err := signer.Sign(bl.texts[k]); err != nil {
					panic(err)
				}
			}
		})
		boundD += time.Since(start)
		boundCPU += processCPU() - cpu0

		var keys []string
		for _, bl := range bls {
			keys = append(keys, bl.vkey)
		}
		w, err := Open(Config{Dir: b.TempDir(), Cosigner: signer, Logs: keys, NoSync: noSync})
		if err != nil {
			b.Fatal(err)
		}
		hd := w.Handler()
		// Each sender is a connection: it reads its requests with its
		// own buffered reader, as net/http's server does for an
		// HTTP/1.1 connection, and serves them on one goroutine.
		post := func(c *benchConn, req []byte) {
			c.r.Reset(req)
			c.br.Reset(&c.r)
			hr, err := http.ReadRequest(c.br)
			if err != nil {
				panic(err)
			}
			rec := httptest.NewRecorder()
			hd.ServeHTTP(rec, hr)
			if rec.Code != http.StatusOK {
				panic(rec.Body.String())
			}
		}
		if !noSync {
			// As parley witness serve runs it (UseFlushProcs).
			runtime.GOMAXPROCS(cpus + 1)
		}
		start = time.Now()
		cpu0 = processCPU()
		parallel(logs, func(j int) {
			if inflight <= 1 {
				c := newBenchConn()
				for _, req := range bls[j].reqs {
					post(c, req)
				}
				return
			}
			// inflight connections, each sending the next request as
			// soon as its last one is answered.
			next := make(chan []byte)
			go func() {
				for _, req := range bls[j].reqs {
					next <- req
				}
				close(next)
			}()
			parallel(inflight, func(int) {
				c := newBenchConn()
				for req := range next {
					post(c, req)
				}
			})
		})
		witnessD += time.Since(start)
		witnessCPU += processCPU() - cpu0
		runtime.GOMAXPROCS(cpus)
		w.j.mu.Lock()
		writes += w.j.writes
		w.j.mu.Unlock()
		w.Close()
	}
	bound := total * float64(b.N) / boundD.Seconds()
	wit := total * float64(b.N) / witnessD.Seconds()
	b.ReportMetric(bound, "bound-checkpoints/s")
	b.ReportMetric(wit, "witness-checkpoints/s")
	b.ReportMetric(wit/bound, "ratio")
	b.ReportMetric(total*float64(b.N)/float64(writes), "checkpoints/write")
	b.ReportMetric(float64(witnessCPU.Microseconds())/(total*float64(b.N)), "witness-cpu-µs/checkpoint")
	// The same ratio in CPU time: what the rates' ratio would be if the
	// witness kept every CPU busy. On a loaded machine, where the two
	// rates are measured at different moments of other jobs' load, it
	// is the steadier figure.
	b.ReportMetric(float64(boundCPU)/float64(witnessCPU), "cpu-ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("GOMAXPROCS %d: bound %.0f/s, witness %.0f/s, ratio %.2f, %.1f checkpoints a write, CPU busy %.0f%%", cpus, bound, wit, wit/bound, total*float64(b.N)/float64(writes), 100*witnessCPU.Seconds()/(witnessD.Seconds()*float64(cpus)))
}

// benchConn is what a witness server keeps per connection to read
// requests.
type benchConn struct {
	r  bytes.Reader
	br *bufio.Reader
}

func newBenchConn() *benchConn { return &benchConn{br: bufio.NewReader(nil)} }

// parallel runs f(0..n-1) on n goroutines.
func parallel(n int, f func(int)) {
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		wg.Add(1)
		go func(j int) { defer wg.Done(); f(j) }(j)
	}
	wg.Wait()
}

// BenchmarkJournalFlush measures one durable 300-byte append the old way
// (append to the file, fsync: the size and blocks change, so the flush
// carries metadata) and the journal's way (overwrite preallocated zeros,
// datasync: fdatasync on Linux), alternating the two in one run so that
// both see the same disk load. ns/op is per append.
func BenchmarkJournalFlush(b *testing.B) {
	rec := bytes.Repeat([]byte("x"), 300)
	dir := b.TempDir()
	appendF, err := os.OpenFile(filepath.Join(dir, "append"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer appendF.Close()
	path := filepath.Join(dir, "prealloc")
	if err := writeFileSync(path, make([]byte, 64<<20), 0o600); err != nil {
		b.Fatal(err)
	}
	pre, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer pre.Close()
	var appendD, preD time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := appendF.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := appendF.Sync(); err != nil {
			b.Fatal(err)
		}
		appendD += time.Since(start)
		start = time.Now()
		if _, err := pre.WriteAt(rec, int64(i*len(rec))%(64<<20-int64(len(rec)))); err != nil {
			b.Fatal(err)
		}
		if err := datasync(pre); err != nil {
			b.Fatal(err)
		}
		preD += time.Since(start)
	}
	b.ReportMetric(float64(appendD.Microseconds())/float64(b.N), "append+fsync-µs/op")
	b.ReportMetric(float64(preD.Microseconds())/float64(b.N), "prealloc+datasync-µs/op")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
