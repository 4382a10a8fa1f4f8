package pdq

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// benchJPEG returns the 1600x1004 photograph of the test data, or a
// synthetic JPEG of the same size when it can't be read.
func benchJPEG(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(sharedDir, "images", "dih", "bridge-1-original.jpg"))
	if err == nil {
		return data
	}
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1004))
	rng := rand.New(rand.NewPCG(1, 1))
	for y := range 1004 {
		for x := range 1600 {
			img.Set(x, y, color.RGBA{uint8(x/7 + rng.IntN(30)), uint8(y/5 + rng.IntN(30)), uint8((x + y) / 11), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// The comparisons below time both sides in the same loop iteration and
// keep the fastest time of each, so that the ratio is not skewed by other
// work on a shared machine.

// BenchmarkHashVsDecode times, in the same loop, decoding a JPEG and
// hashing its decoded pixels. The goal: hash/decode <= 0.5.
func BenchmarkHashVsDecode(b *testing.B) {
	data := benchJPEG(b)
	decode, hash := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for b.Loop() {
		t0 := time.Now()
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		HashImage(img)
		t2 := time.Now()
		decode = min(decode, t1.Sub(t0))
		hash = min(hash, t2.Sub(t1))
	}
	b.ReportMetric(float64(decode.Nanoseconds()), "decode-ns")
	b.ReportMetric(float64(hash.Nanoseconds()), "hash-ns")
	b.ReportMetric(float64(hash)/float64(decode), "hash/decode")
}

// BenchmarkHashDihedral hashes decoded pixels into all 8 variants.
func BenchmarkHashDihedral(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(benchJPEG(b)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		HashDihedral(img)
	}
}

// benchHashes returns n reproducible hashes in clusters of near-duplicates.
func benchHashes(n int) []Hash {
	return randomHashes(rand.New(rand.NewPCG(42, 1729)), n, 10, 24)
}

// sumWords is the baseline for a scan: reading the same bytes and adding
// them up.
func sumWords(hs []Hash) uint64 {
	var s0, s1, s2, s3 uint64
	for i := range hs {
		h := &hs[i]
		s0 += h[0]
		s1 += h[1]
		s2 += h[2]
		s3 += h[3]
	}
	return s0 + s1 + s2 + s3
}

var sink uint64

// BenchmarkScanVsSum times, in the same loop, the brute-force radius scan
// and a plain sum over the same packed hashes (1e6 hashes, 32 MB: out of
// cache, as a large set is). The goal: scan at >= 0.7x the sum's speed,
// that is sum/scan time >= 0.7.
func BenchmarkScanVsSum(b *testing.B) {
	hs := benchHashes(1_000_000)
	q := flipBits(rand.New(rand.NewPCG(5, 5)), hs[12345], 10)
	scanT, sumT := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	found := 0
	for b.Loop() {
		t0 := time.Now()
		found += len(scan(hs, 0, q, DefaultRadius, nil))
		t1 := time.Now()
		sink += sumWords(hs)
		t2 := time.Now()
		scanT = min(scanT, t1.Sub(t0))
		sumT = min(sumT, t2.Sub(t1))
	}
	if found == 0 {
		b.Fatal("query matched nothing")
	}
	mb := float64(len(hs)*32) / 1e6
	b.ReportMetric(mb/scanT.Seconds(), "scan-MB/s")
	b.ReportMetric(mb/sumT.Seconds(), "sum-MB/s")
	b.ReportMetric(float64(sumT)/float64(scanT), "scan-speed/sum-speed")
}

// BenchmarkIndex1e7 compares the multi-index with brute force over 10
// million hashes (clusters of near-duplicates), checks that they return
// the same matches for every query, and reports the memory the index
// holds. Queries are near-duplicates of stored hashes (0..24 bits
// flipped), so most have matches, plus unrelated random hashes. Each side
// is timed in its own steady loop over the same queries, in the same run:
// the index for the benchmark's iterations, brute force over the first 20
// queries afterwards (each is a full scan of 320 MB).
func BenchmarkIndex1e7(b *testing.B) {
	n := 10_000_000
	if testing.Short() {
		n = 1_000_000
	}
	rng := rand.New(rand.NewPCG(9, 9))
	hs := benchHashes(n)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	x := NewIndex()
	x.AddAll(hs)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	queries := make([]Hash, 200)
	for i := range queries {
		if i%4 == 3 {
			queries[i] = Hash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		} else {
			queries[i] = flipBits(rng, hs[rng.IntN(n)], rng.IntN(25))
		}
	}
	matches := 0
	for _, q := range queries {
		want := scan(hs, 0, q, DefaultRadius, nil)
		if got := x.Search(q, DefaultRadius); !equalMatches(got, want) {
			b.Fatalf("index and brute force differ for %s: %v vs %v", q, got, want)
		}
		matches += len(want)
	}
	if matches == 0 {
		b.Fatal("no query matched")
	}
	i := 0
	t0 := time.Now()
	for b.Loop() {
		x.Search(queries[i%len(queries)], DefaultRadius)
		i++
	}
	idxNs := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
	t1 := time.Now()
	for _, q := range queries[:20] {
		scan(hs, 0, q, DefaultRadius, nil)
	}
	bruteNs := float64(time.Since(t1).Nanoseconds()) / 20
	b.ReportMetric(bruteNs, "brute-ns/query")
	b.ReportMetric(idxNs, "index-ns/query")
	b.ReportMetric(bruteNs/idxNs, "speedup")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/1e6, "index-MB")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(n), "bytes/hash")
	b.ReportMetric(float64(matches)/float64(len(queries)), "matches/query")
	runtime.KeepAlive(hs)
}
