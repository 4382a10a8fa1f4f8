package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/image/tiff"

	"github.com/parley-exchange/parley/pdq"
)

// TestHashBoundsMemory: parley hash decodes on every core, but no more
// images at once than its memory bound holds (by their headers: the
// encoded bytes and 13 bytes a pixel). With the bound at one image, four
// 3000x3000 images of 16-bit RGBA (72 MB decoded each) hashed on four
// cores take about what hashing them one by one takes at the peak
// (measured against hashing one: twice that, with the garbage the last
// one left); all four were decoded at once, whatever their size, four
// times one image's peak.
func TestHashBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes five images of 9 million pixels")
	}
	if !ownProcess(t) {
		return
	}
	const side = 3000
	img := image.NewRGBA64(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.SetRGBA64(x, y, color.RGBA64{uint16(x * 21), uint16(y * 21), uint16(x ^ y), 0xffff})
		}
	}
	path := filepath.Join(t.TempDir(), "big.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	img = nil
	one := imageCost(path, pdq.Limits{}, 1<<40)
	if one < side*side*bytesPerPixel {
		t.Fatalf("imageCost = %d, want at least %d", one, side*side*bytesPerPixel)
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	single := hashPeak(t, one, path)
	four := hashPeak(t, one, path, path, path, path)
	t.Logf("heap growth at the peak: %d MB for one image, %d MB for four", single>>20, four>>20)
	// One at a time, the peak is about twice one image's (one image
	// decoded while the last one's garbage waits for the collector); four
	// at once, about four times.
	if four > single*3 {
		t.Errorf("hashing 4 images (%d MB decoded each) on 4 cores, bounded to one at a time, grew the heap by %d MB at the peak, %.1f times one image's %d MB; want at most 3 times", side*side*8>>20, four>>20, float64(four)/float64(single), single>>20)
	}
}

// hashPeak runs parley hash on files with the memory bound mem and
// returns how far the heap grew above its size before, at the peak
// (sampled every millisecond).
func hashPeak(t *testing.T, mem int64, files ...string) uint64 {
	t.Helper()
	runtime.GC()
	grew := heapGrowth()
	var errb strings.Builder
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, getenv: func(string) string { return "" }, hashMemory: mem}
	code := c.main(context.Background(), append([]string{"hash"}, files...))
	g := grew()
	if code != 0 {
		t.Fatalf("hash: exit %d: %s", code, errb.String())
	}
	return g
}

// heapGrowth samples the heap every millisecond from now; the function it
// returns stops the sampling and says how far the heap grew, at its peak,
// above its size at the start.
func heapGrowth() (stop func() uint64) {
	// (Heap figures are of the whole process: a test that bounds them
	// runs in a process of its own, see ownProcess.)
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-sampled
		return peak.Load() - min(peak.Load(), base.HeapAlloc)
	}
}

// TestImageCostCoversWideTIFF: a 16-bit colour TIFF holds its raw
// samples and the decoded image at once (8 bytes a pixel each), more than
// the 13 bytes a pixel that a progressive JPEG needs; imageCost counted
// 13 for every format, so a folder of such files (49 million pixels in a
// 381 KB file took 1.4 GB to hash) ran past the memory bound.
func TestImageCostCoversWideTIFF(t *testing.T) {
	const side = 1500
	img := image.NewNRGBA64(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 31), uint16(y * 17), uint16(x ^ y), 0xffff})
		}
	}
	path := filepath.Join(t.TempDir(), "wide.tiff")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(f, img, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	img = nil
	cost := imageCost(path, pdq.Limits{}, 1<<40)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	peak := hashPeak(t, 1<<40, path)
	t.Logf("heap growth at the peak: %d MB; imageCost %d MB", peak>>20, cost>>20)
	if peak > uint64(cost) {
		t.Errorf("hashing a %dx%d 16-bit RGBA TIFF grew the heap by %d MB at the peak, more than imageCost's %d MB", side, side, peak>>20, cost>>20)
	}
}

// ownProcessEnv names, in the environment of a test binary started by
// ownProcess, the test that binary runs.
const ownProcessEnv = "PARLEY_TEST_OWN_PROCESS"

// ownProcess runs the calling test again in a test binary of its own and
// reports false, the test's verdict being that process's; in that process
// it reports true, and the test goes on. A test that bounds the heap's
// growth (heapGrowth) measures the whole process: beside the tests run
// before it in one binary (servers and goroutines they left, a live heap
// whose garbage, under SetGCPercent(10), is a tenth of its size before a
// collection) its figure varied by more than its margin (23 MiB alone,
// 32 MiB after cmd/parley's other tests, against a bound of 30).
//
//	if !ownProcess(t) {
//		return
//	}
func ownProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(ownProcessEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), ownProcessEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s in a process of its own: %v\n%s", t.Name(), err, out)
	}
	t.Logf("in a process of its own:\n%s", out)
	return false
}
