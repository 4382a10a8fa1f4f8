package pdq

import (
	"image"
	"image/color"
	"math"
	"slices"
)

// Luma coefficients (ITU-R BT.601), as in every PDQ reference
// implementation.
const (
	lumaR = 0.299
	lumaG = 0.587
	lumaB = 0.114
)

// jaroszDivisor gives the reference box-filter window: ceil(dimension/128)
// per pass. Two passes along each axis accumulate 1/64th of the image, one
// cell of the 64x64 grid.
const jaroszDivisor = 128

// MinQuality is the quality below which a hash should be discarded rather
// than matched (ThreatExchange's threshold: quality <= 49 is unreliable).
const MinQuality = 50

// dctMatrix is the 16x64 matrix of the DCT-II basis functions 1..16 (the DC
// row 0 is skipped because it carries only the mean brightness). The
// constant scale factor sqrt(2/64) is left out: it changes neither the
// median nor the comparisons against it.
var dctMatrix = func() (d [16][64]float64) {
	for i := range 16 {
		for k := range 64 {
			d[i][k] = math.Cos(math.Pi / 128 * float64(i+1) * float64(2*k+1))
		}
	}
	return d
}()

// tap is one output sample of the separable filter along one axis: the
// weights of the input samples start, start+1, ... that it is made of.
type tap struct {
	start int
	w     []float64
}

// boxWindow returns the input range [lo, hi] that the reference 1-D box
// filter of the given window size averages for output i of an axis of n
// samples. The reference filter runs a window of size `window` that is
// clipped at the ends of the axis (the average is over the samples that
// exist): (window+2)/2-1 samples to the right and the rest to the left.
func boxWindow(i, n, window int) (lo, hi int) {
	half := (window + 2) / 2
	lo, hi = i-(window-half), i+half-1
	return max(lo, 0), min(hi, n-1)
}

// axisTaps returns, for an axis of n samples, the weights that produce the
// 64 decimated outputs of two passes of the reference box filter. Box
// filters along rows and along columns are linear maps acting on different
// indices, so they commute: the reference order X,Y,X,Y equals X,X,Y,Y, and
// only the 64 sampled outputs per axis need computing.
func axisTaps(n int) [64]tap {
	window := (n + jaroszDivisor - 1) / jaroszDivisor
	var taps [64]tap
	for s := range 64 {
		// The reference samples output floor((s+0.5)*n/64).
		p := int((float64(s) + 0.5) * float64(n) / 64)
		lo, hi := boxWindow(p, n, window)
		first, _ := boxWindow(lo, n, window)
		_, last := boxWindow(hi, n, window)
		w := make([]float64, last-first+1)
		for k := lo; k <= hi; k++ {
			klo, khi := boxWindow(k, n, window)
			c := 1 / float64(hi-lo+1) / float64(khi-klo+1)
			for m := klo; m <= khi; m++ {
				w[m-first] += c
			}
		}
		taps[s] = tap{start: first, w: w}
	}
	return taps
}

// dot returns the weighted sum of row at t.
func (t *tap) dot(row []float32) float64 {
	var s float64
	r := row[t.start : t.start+len(t.w)]
	for i, w := range t.w {
		s += w * float64(r[i])
	}
	return s
}

// downsample returns the 64x64 grid of the image's luminance after the
// reference Jarosz filter and decimation.
func downsample(img image.Image) *[64][64]float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	xt, yt := axisTaps(w), axisTaps(h)
	var out [64][64]float64
	row := make([]float32, w)
	var cols [64]float64
	fill := lumaFiller(img)
	for y := range h {
		used := false
		for s := range yt {
			if y >= yt[s].start && y < yt[s].start+len(yt[s].w) {
				used = true
				break
			}
		}
		if !used {
			continue
		}
		fill(b.Min.Y+y, row)
		for j := range xt {
			cols[j] = xt[j].dot(row)
		}
		for s := range yt {
			t := &yt[s]
			if y < t.start || y >= t.start+len(t.w) {
				continue
			}
			c := t.w[y-t.start]
			for j := range cols {
				out[s][j] += c * cols[j]
			}
		}
	}
	return &out
}

// lumaFiller returns a function that writes the luminance of image row y
// into row (len(row) == width). Common decoded layouts are read directly;
// anything else goes through the color model.
func lumaFiller(img image.Image) func(y int, row []float32) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		return yCbCrFiller(m)
	case *image.Gray:
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				row[x] = float32(pix[x])
			}
		}
	case *image.Gray16:
		// 16-bit greyscale saturates at 255 rather than keeping the high
		// byte: that is what the reference toolchain does (Pillow converts
		// mode I;16 to RGB by clipping, and the C++ reference then hashes
		// those bytes), so hashes of such files agree with the references.
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				if pix[2*x] != 0 {
					row[x] = 255
				} else {
					row[x] = float32(pix[2*x+1])
				}
			}
		}
	case *image.NYCbCrA:
		// Alpha is ignored, as when the reference tools convert to RGB.
		return yCbCrFiller(&m.YCbCr)
	case *image.NRGBA64:
		// 16-bit colour keeps its high byte, as the reference decoders do.
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				p := pix[8*x : 8*x+5 : 8*x+5]
				row[x] = luma(p[0], p[2], p[4])
			}
		}
	case *image.NRGBA:
		// Alpha is ignored, as when the reference tools convert to RGB.
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				p := pix[4*x : 4*x+3 : 4*x+3]
				row[x] = luma(p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		// Premultiplied; un-premultiply like color.NRGBAModel where alpha
		// is not opaque.
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				p := pix[4*x : 4*x+4 : 4*x+4]
				if p[3] == 0xff {
					row[x] = luma(p[0], p[1], p[2])
				} else {
					c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
					row[x] = luma(c.R, c.G, c.B)
				}
			}
		}
	case *image.Paletted:
		var lut [256]float32
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			lut[i] = luma(n.R, n.G, n.B)
		}
		return func(y int, row []float32) {
			pix := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range row {
				row[x] = lut[pix[x]]
			}
		}
	}
	return func(y int, row []float32) {
		for x := range row {
			n := color.NRGBAModel.Convert(img.At(b.Min.X+x, y)).(color.NRGBA)
			row[x] = luma(n.R, n.G, n.B)
		}
	}
}

// lumaTables hold each channel's weighted contribution to luminance, so
// that a pixel costs three loads and two additions.
var lumaTables = func() (t [3][256]float64) {
	for v := range 256 {
		t[0][v] = lumaR * float64(v)
		t[1][v] = lumaG * float64(v)
		t[2][v] = lumaB * float64(v)
	}
	return t
}()

// luma is the luminance of an 8-bit RGB pixel.
func luma(r, g, b uint8) float32 {
	return float32(lumaTables[0][r] + lumaTables[1][g] + lumaTables[2][b])
}

// yCbCrFiller converts JPEG's YCbCr to 8-bit RGB exactly as
// [color.YCbCrToRGB] does (the RGB a decoder hands to the reference
// implementation), then to luminance.
func yCbCrFiller(m *image.YCbCr) func(y int, row []float32) {
	b := m.Bounds()
	hshift, vshift := 0, 0 // log2 of the chroma subsampling
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hshift = 1
	case image.YCbCrSubsampleRatio420:
		hshift, vshift = 1, 1
	case image.YCbCrSubsampleRatio440:
		vshift = 1
	case image.YCbCrSubsampleRatio411:
		hshift = 2
	case image.YCbCrSubsampleRatio410:
		hshift, vshift = 2, 1
	}
	if b.Min.X < 0 || b.Min.Y < 0 {
		// Shifts round negative coordinates differently from the
		// divisions of [image.YCbCr.COffset]; such images are rare.
		return func(y int, row []float32) {
			for x := range row {
				c := m.YCbCrAt(b.Min.X+x, y)
				r, g, bl := ycbcrToRGB(c.Y, c.Cb, c.Cr)
				row[x] = luma(r, g, bl)
			}
		}
	}
	return func(y int, row []float32) {
		yp := m.Y[m.YOffset(b.Min.X, y):]
		yp = yp[:len(row)]
		cbase := (y>>vshift - b.Min.Y>>vshift) * m.CStride
		x0 := b.Min.X >> hshift
		// The chroma terms of the conversion are shared by the 1, 2 or 4
		// pixels of a chroma sample: compute them when it changes.
		last := -1
		var rc, gc, bc int32
		for x, yv := range yp {
			ci := cbase + (b.Min.X+x)>>hshift - x0
			if ci != last {
				last = ci
				cb1, cr1 := int32(m.Cb[ci])-128, int32(m.Cr[ci])-128
				rc, gc, bc = 91881*cr1, -22554*cb1-46802*cr1, 116130*cb1
			}
			yy1 := int32(yv) * 0x10101
			row[x] = luma(clamp16(yy1+rc), clamp16(yy1+gc), clamp16(yy1+bc))
		}
	}
}

// ycbcrToRGB is the JFIF conversion in the fixed-point arithmetic of
// [color.YCbCrToRGB], written out so that the per-pixel loop inlines it.
func ycbcrToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy1 + 91881*cr1
	g := yy1 - 22554*cb1 - 46802*cr1
	b := yy1 + 116130*cb1
	return clamp16(r), clamp16(g), clamp16(b)
}

func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// quality is the reference image-domain quality metric: the sum of the
// absolute differences between neighbouring samples of the 64x64 grid, each
// quantized to whole percent of the luminance range so that only
// significant gradients count, divided by 90 and capped at 100.
func quality(a *[64][64]float64) int {
	sum := 0
	for i := range 63 {
		for j := range 64 {
			sum += absInt(int((a[i][j] - a[i+1][j]) * 100 / 255))
		}
	}
	for i := range 64 {
		for j := range 63 {
			sum += absInt(int((a[i][j] - a[i][j+1]) * 100 / 255))
		}
	}
	return min(sum/90, 100)
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// dct16 returns the DCT coefficients 1..16 x 1..16 of the 64x64 grid: B =
// D A D^T. Index [i][j] is vertical frequency i+1, horizontal frequency j+1.
func dct16(a *[64][64]float64) *[16][16]float64 {
	var t [16][64]float64 // D A
	for i := range 16 {
		for k := range 64 {
			d := dctMatrix[i][k]
			for j := range 64 {
				t[i][j] += d * a[k][j]
			}
		}
	}
	var out [16][16]float64
	for i := range 16 {
		for j := range 16 {
			var s float64
			for k := range 64 {
				s += t[i][k] * dctMatrix[j][k]
			}
			out[i][j] = s
		}
	}
	return &out
}

// bitsFromDCT thresholds the 16x16 coefficients at their median: bit
// 16*i+j is set when coefficient [i][j] is strictly greater than the
// median. Like the reference (Torben's method over 256 values), the median
// is the lower one, the 128th smallest value.
func bitsFromDCT(c *[16][16]float64) Hash {
	vals := make([]float64, 0, 256)
	for i := range c {
		vals = append(vals, c[i][:]...)
	}
	slices.Sort(vals)
	median := vals[127]
	var h Hash
	for i := range 16 {
		for j := range 16 {
			if c[i][j] > median {
				h.setBit(16*i + j)
			}
		}
	}
	return h
}

// HashImage returns the PDQ hash of img and its quality (0..100). Images
// smaller than 64 pixels on a side are hashed as the reference does, by
// sampling the same pixels more than once. An empty image hashes to the
// zero hash with quality 0.
func HashImage(img image.Image) (Hash, int) {
	if img.Bounds().Empty() {
		return Hash{}, 0
	}
	grid := downsample(img)
	return bitsFromDCT(dct16(grid)), quality(grid)
}
