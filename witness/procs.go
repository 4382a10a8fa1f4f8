package witness

import (
	"os"
	"runtime"
)

// defaultProcs is GOMAXPROCS as the runtime chose it when the process
// started (the CPUs it may use, or the GOMAXPROCS environment variable).
var defaultProcs = runtime.GOMAXPROCS(0)

// FlushProcs is the GOMAXPROCS a witness server runs with: one more than
// the runtime's default. A journal flush (fdatasync, a fraction of a
// millisecond) is a system call that keeps its goroutine's P: the runtime
// hands a P stuck in a system call to other goroutines only once its
// monitor has seen the same call on two of its ticks, and a busy server
// whose calls are short lets the monitor sleep up to 10 ms between ticks,
// so it seldom does. With one P per CPU, a witness of two CPUs then
// cosigns on one CPU for as long as each flush lasts; the extra P keeps
// every CPU cosigning while one flush (the journal writes one at a time)
// waits for the disk.
func FlushProcs() int { return defaultProcs + 1 }

// UseFlushProcs sets GOMAXPROCS to [FlushProcs] unless the GOMAXPROCS
// environment variable chose it, and returns the GOMAXPROCS in force. It
// is for the start of parley witness serve when it flushes its journal
// (not with --no-fsync, whose writes return at once); calling it again
// changes nothing.
func UseFlushProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(FlushProcs())
	return FlushProcs()
}
