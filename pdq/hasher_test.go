package pdq

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

type refImage struct {
	File string
	Refs []struct {
		Impl    string
		Hash    string
		Quality *int
	}
}

// hashCache memoizes HashFile of the shared images: the reference and
// dihedral tests hash the same large JPEGs, slowly under -race.
var hashCache sync.Map // path -> cachedHash

type cachedHash struct {
	h   Hash
	q   int
	err error
}

func hashFileCached(path string) (Hash, int, error) {
	if c, ok := hashCache.Load(path); ok {
		c := c.(cachedHash)
		return c.h, c.q, c.err
	}
	h, q, err := HashFile(path, Limits{})
	hashCache.Store(path, cachedHash{h, q, err})
	return h, q, err
}

func loadRefs(t *testing.T) []refImage {
	var doc struct{ Images []refImage }
	if err := json.Unmarshal(readShared(t, "hashes.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) == 0 {
		t.Fatal("hashes.json lists no images")
	}
	return doc.Images
}

// TestReferenceImages hashes every shared image and compares with the
// reference implementations' hashes, with ThreatExchange's tolerance: the
// nearest reference within 10 bits for quality >= 80 and 16 otherwise,
// and the quality equal where a reference gives one.
func TestReferenceImages(t *testing.T) {
	for _, im := range loadRefs(t) {
		t.Run(im.File, func(t *testing.T) {
			t.Parallel()
			h, q, err := hashFileCached(filepath.Join(sharedDir, im.File))
			if err != nil {
				t.Fatal(err)
			}
			best, bestImpl := 257, ""
			for _, r := range im.Refs {
				if d := Distance(h, mustParse(t, r.Hash)); d < best {
					best, bestImpl = d, r.Impl
				}
				if r.Quality != nil && *r.Quality != q {
					// The references themselves round differently by a
					// point or two; a real disagreement is large.
					if diff := *r.Quality - q; diff > 2 || diff < -2 {
						t.Errorf("quality %d, %s says %d", q, r.Impl, *r.Quality)
					}
				}
			}
			limit := 16
			if q >= 80 {
				limit = 10
			}
			if best > limit {
				t.Errorf("hash %s quality %d is %d bits from the nearest reference (%s), want <= %d", h, q, best, bestImpl, limit)
			}
			t.Logf("%s q=%d: %d bits from %s", h, q, best, bestImpl)
		})
	}
}

// TestDihedralVectors checks the 8 variants computed from one pass against
// the Java port's, and against the hashes of the physically transformed
// files.
func TestDihedralVectors(t *testing.T) {
	var doc struct {
		Image   string
		Quality int
		Hashes  map[string]string
	}
	if err := json.Unmarshal(readShared(t, "dihedral_bridge1_java.json"), &doc); err != nil {
		t.Fatal(err)
	}
	hs, q, err := HashFileDihedral(filepath.Join(sharedDir, doc.Image), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if q != doc.Quality {
		t.Errorf("quality %d, want %d", q, doc.Quality)
	}
	orig, _, _ := hashFileCached(filepath.Join(sharedDir, doc.Image))
	if orig != hs[Original] {
		t.Errorf("HashFile %s != HashFileDihedral orig %s", orig, hs[Original])
	}
	for _, v := range Variants {
		want := mustParse(t, doc.Hashes[v.String()])
		// The Java port decodes the JPEG differently: our original is 6
		// bits from its original, and each variant is the same signed
		// transposition of the same coefficients.
		if d := Distance(hs[v], want); d > 10 {
			t.Errorf("%s: %s is %d bits from the Java port's %s", v, hs[v], d, want)
		}
		if hs[v].Norm() != 128 && hs[v].Norm() != 127 {
			t.Errorf("%s: norm %d, want about 128 (median threshold)", v, hs[v].Norm())
		}
	}
	// Physically transformed files hash close to the computed variant and
	// far from the others.
	files := map[Variant]string{
		Rotate180: "images/dih/bridge-3-rotate-180.jpg",
		Rotate270: "images/dih/bridge-4-rotate-270.jpg",
		FlipY:     "images/dih/bridge-6-flipy.jpg",
		FlipPlus:  "images/dih/bridge-7-flip-plus-1.jpg",
		FlipMinus: "images/dih/bridge-8-flip-minus-1.jpg",
	}
	for v, f := range files {
		h, _, err := hashFileCached(filepath.Join(sharedDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range Variants {
			d := Distance(h, hs[w])
			if w == v && d > 16 {
				t.Errorf("%s: %d bits from the computed %s", f, d, v)
			}
			if w != v && d <= DefaultRadius {
				t.Errorf("%s: matches computed %s (%d bits)", f, w, d)
			}
		}
	}
}

// TestDihedralExact checks the DCT symmetries on an image whose dihedral
// transforms are exact: a 64x64 image, where the sampling grid maps onto
// itself under every rotation and mirror.
func TestDihedralExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			// smooth structure plus noise, so coefficients are distinct
			src.Pix[y*64+x] = uint8((x*3+y*y/20)%200 + rng.IntN(50))
		}
	}
	xform := map[Variant]func(x, y int) (int, int){ // source pixel of output (x, y)
		Original:  func(x, y int) (int, int) { return x, y },
		Rotate90:  func(x, y int) (int, int) { return 63 - y, x }, // counter-clockwise
		Rotate180: func(x, y int) (int, int) { return 63 - x, 63 - y },
		Rotate270: func(x, y int) (int, int) { return y, 63 - x }, // clockwise
		FlipX:     func(x, y int) (int, int) { return x, 63 - y }, // upside down
		FlipY:     func(x, y int) (int, int) { return 63 - x, y }, // left-right
		FlipPlus:  func(x, y int) (int, int) { return y, x },
		FlipMinus: func(x, y int) (int, int) { return 63 - y, 63 - x },
	}
	hs, _ := HashDihedral(src)
	for v, f := range xform {
		dst := image.NewGray(src.Rect)
		for y := range 64 {
			for x := range 64 {
				sx, sy := f(x, y)
				dst.Pix[y*64+x] = src.Pix[sy*64+sx]
			}
		}
		h, _ := HashImage(dst)
		if d := Distance(h, hs[v]); d != 0 {
			t.Errorf("%s: hash of transformed image is %d bits from the computed variant", v, d)
		}
	}
}

func TestVariantNames(t *testing.T) {
	for _, v := range Variants {
		p, err := ParseVariant(v.String())
		if err != nil || p != v {
			t.Errorf("ParseVariant(%s) = %v, %v", v, p, err)
		}
	}
	if _, err := ParseVariant("rot45"); err == nil {
		t.Error("ParseVariant(rot45) succeeded")
	}
}

// TestFormats hashes the same picture stored in each supported format.
func TestFormats(t *testing.T) {
	ref, _, err := HashFile(filepath.Join("testdata", "images", "blue-purple-pink.png"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file    string
		maxDist int
	}{
		{"blue-purple-pink.lossless.webp", 0},
		{"blue-purple-pink.lzwcompressed.tiff", 0},
		{"blue-purple-pink.lossy.webp", 16},
	} {
		h, _, err := HashFile(filepath.Join("testdata", "images", tt.file), Limits{})
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if d := Distance(h, ref); d > tt.maxDist {
			t.Errorf("%s: %d bits from the PNG, want <= %d", tt.file, d, tt.maxDist)
		}
	}
	if _, _, err := HashFile(filepath.Join("testdata", "images", "video-001-gray-16bit.tiff"), Limits{}); err != nil {
		t.Errorf("16-bit TIFF: %v", err)
	}

	// Re-encode a photograph into each format with an encoder.
	data := readShared(t, "images/bridge-mods/square-256x256.jpg")
	img, format, err := Decode(bytes.NewReader(data), Limits{})
	if err != nil || format != "jpeg" {
		t.Fatalf("Decode: %v %s", err, format)
	}
	want, _ := HashImage(img)
	rgba := image.NewNRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	encoders := map[string]struct {
		enc     func(*bytes.Buffer) error
		maxDist int
	}{
		"png":  {func(b *bytes.Buffer) error { return png.Encode(b, rgba) }, 2},
		"bmp":  {func(b *bytes.Buffer) error { return bmp.Encode(b, rgba) }, 2},
		"tiff": {func(b *bytes.Buffer) error { return tiff.Encode(b, rgba, nil) }, 2},
		"gif":  {func(b *bytes.Buffer) error { return gif.Encode(b, rgba, nil) }, 16},
	}
	for name, e := range encoders {
		var buf bytes.Buffer
		if err := e.enc(&buf); err != nil {
			t.Fatal(err)
		}
		_, f, err := Decode(bytes.NewReader(buf.Bytes()), Limits{})
		if err != nil || f != name {
			t.Errorf("%s: Decode = %s, %v", name, f, err)
			continue
		}
		h, _, err := HashReader(&buf, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if d := Distance(h, want); d > e.maxDist {
			t.Errorf("%s: %d bits from the decoded JPEG, want <= %d", name, d, e.maxDist)
		}
	}
}

// TestSmallAndFlat covers images smaller than the 64x64 grid and images
// with no structure.
func TestSmallAndFlat(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {1, 100}, {63, 2}, {64, 64}, {65, 129}} {
		img := image.NewGray(image.Rectangle{Max: size})
		for i := range img.Pix {
			img.Pix[i] = 77
		}
		h, q := HashImage(img)
		if q != 0 {
			t.Errorf("flat %v: quality %d, want 0", size, q)
		}
		_ = h // a flat image's hash is arbitrary but must not panic
	}
	if h, q := HashImage(image.NewGray(image.Rect(0, 0, 0, 5))); h != (Hash{}) || q != 0 {
		t.Error("empty image should hash to zero")
	}
	// Offset bounds hash like the same pixels at the origin.
	a := image.NewRGBA(image.Rect(0, 0, 80, 50))
	b := image.NewRGBA(image.Rect(-7, 13, 73, 63))
	for y := range 50 {
		for x := range 80 {
			c := color.RGBA{uint8(x * 3), uint8(y * 5), uint8(x * y), 255}
			a.Set(x, y, c)
			b.Set(x-7, y+13, c)
		}
	}
	ha, qa := HashImage(a)
	hb, qb := HashImage(b)
	if ha != hb || qa != qb {
		t.Errorf("offset image hashes differently: %s %d vs %s %d", ha, qa, hb, qb)
	}
}

// TestJaroszTaps checks the fused filter weights against a direct run of
// the reference box filter (two passes, clipped windows) on unit impulses.
func TestJaroszTaps(t *testing.T) {
	for _, n := range []int{1, 2, 63, 64, 100, 128, 129, 256, 300, 1004, 1600} {
		window := (n + 127) / 128
		taps := axisTaps(n)
		box := func(in []float64) []float64 {
			out := make([]float64, n)
			for i := range n {
				lo, hi := boxWindow(i, n, window)
				var s float64
				for k := lo; k <= hi; k++ {
					s += in[k]
				}
				out[i] = s / float64(hi-lo+1)
			}
			return out
		}
		row := make([]float64, n)
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		for i := range row {
			row[i] = rng.Float64() * 255
		}
		two := box(box(row))
		row32 := make([]float32, n)
		for i := range row {
			row32[i] = float32(row[i])
		}
		for s := range 64 {
			p := int((float64(s) + 0.5) * float64(n) / 64)
			got := taps[s].dot(row32)
			if d := got - two[p]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("n=%d sample %d: taps give %v, box filter %v", n, s, got, two[p])
			}
		}
	}
	// The reference window clips: window 7 averages 3 left and 3 right,
	// window 8 averages 3 left and 4 right.
	for _, tt := range []struct{ i, n, w, lo, hi int }{
		{10, 100, 7, 7, 13}, {10, 100, 8, 7, 14}, {0, 100, 8, 0, 4}, {99, 100, 8, 96, 99}, {0, 1, 1, 0, 0},
	} {
		if lo, hi := boxWindow(tt.i, tt.n, tt.w); lo != tt.lo || hi != tt.hi {
			t.Errorf("boxWindow(%d, %d, %d) = %d, %d, want %d, %d", tt.i, tt.n, tt.w, lo, hi, tt.lo, tt.hi)
		}
	}
}

// TestYCbCrConversion checks the inlined conversion against the standard
// library's on every input.
func TestYCbCrConversion(t *testing.T) {
	for y := 0; y < 256; y += 3 {
		for cb := range 256 {
			for cr := 0; cr < 256; cr += 5 {
				r, g, b := ycbcrToRGB(uint8(y), uint8(cb), uint8(cr))
				wr, wg, wb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if r != wr || g != wg || b != wb {
					t.Fatalf("ycbcrToRGB(%d,%d,%d) = %d,%d,%d, want %d,%d,%d", y, cb, cr, r, g, b, wr, wg, wb)
				}
			}
		}
	}
}

func TestSubsampledJPEGLayouts(t *testing.T) {
	// Every subsample ratio hashes the same as the generic color path.
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, r := range ratios {
		m := image.NewYCbCr(image.Rect(3, 5, 203, 155), r)
		for i := range m.Y {
			m.Y[i] = uint8(i/7 + rng.IntN(40))
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(rng.IntN(256)), uint8(i%256)
		}
		fill := lumaFiller(m)
		row := make([]float32, m.Rect.Dx())
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			fill(y, row)
			for x := range row {
				c := m.YCbCrAt(m.Rect.Min.X+x, y)
				if want := luma(color.YCbCrToRGB(c.Y, c.Cb, c.Cr)); row[x] != want {
					t.Fatalf("%v: luma at (%d,%d) = %v, want %v", r, x, y, row[x], want)
				}
			}
		}
		h, q := HashImage(m)
		g, gq := HashImage(genericImage{m})
		if d := Distance(h, g); d > 2 || q != gq {
			t.Errorf("%v: fast path %s %d, color-model path %s %d", r, h, q, g, gq)
		}
	}
}

// genericImage hides the concrete type so that HashImage takes the
// color-model path.
type genericImage struct{ image.Image }
