package witness

import (
	"runtime"
	"testing"
)

// TestUseFlushProcs: a witness server gets one P more than the runtime's
// default, once however often it is called, and a GOMAXPROCS chosen in
// the environment wins.
func TestUseFlushProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	t.Setenv("GOMAXPROCS", "")
	if got, want := FlushProcs(), defaultProcs+1; got != want {
		t.Fatalf("FlushProcs() = %d, want %d", got, want)
	}
	for range 2 {
		if got := UseFlushProcs(); got != defaultProcs+1 || runtime.GOMAXPROCS(0) != defaultProcs+1 {
			t.Fatalf("UseFlushProcs() = %d, GOMAXPROCS %d, want %d", got, runtime.GOMAXPROCS(0), defaultProcs+1)
		}
	}
	runtime.GOMAXPROCS(1)
	t.Setenv("GOMAXPROCS", "1")
	if got := UseFlushProcs(); got != 1 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("with GOMAXPROCS=1 in the environment: UseFlushProcs() = %d, GOMAXPROCS %d, want 1", got, runtime.GOMAXPROCS(0))
	}
}
