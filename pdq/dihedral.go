package pdq

import (
	"fmt"
	"image"
)

// Variant names one of the 8 dihedral transformations of an image (its
// rotations and mirror images). The order and names are those of the
// reference tools' dihedral output.
type Variant int

// The dihedral variants, in the reference order. The geometric meanings
// were checked against the reference test files: the reference's "flipy"
// (bridge-6-flipy.jpg) is a left-right mirror image, and its "rot270"
// (bridge-4-rotate-270.jpg) is a clockwise quarter turn.
const (
	Original  Variant = iota // the image as it is ("orig")
	Rotate90                 // rotated a quarter turn counter-clockwise ("rot90")
	Rotate180                // rotated a half turn ("rot180")
	Rotate270                // rotated a quarter turn clockwise ("rot270")
	FlipX                    // mirrored about the x axis: upside down ("flipx")
	FlipY                    // mirrored about the y axis: left to right ("flipy")
	FlipPlus                 // mirrored about the main diagonal: transposed ("flipp")
	FlipMinus                // mirrored about the anti-diagonal ("flipm")
)

var variantNames = [...]string{"orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm"}

// Variants lists the 8 dihedral variants in the reference order.
var Variants = [8]Variant{Original, Rotate90, Rotate180, Rotate270, FlipX, FlipY, FlipPlus, FlipMinus}

// String returns the reference tools' name of the variant ("orig",
// "rot90", ..., "flipm").
func (v Variant) String() string {
	if v < 0 || int(v) >= len(variantNames) {
		return fmt.Sprintf("Variant(%d)", int(v))
	}
	return variantNames[v]
}

// ParseVariant returns the variant named by [Variant.String].
func ParseVariant(s string) (Variant, error) {
	for i, n := range variantNames {
		if n == s {
			return Variant(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dihedral variant %q", s)
}

// transform returns the DCT coefficients of the transformed image, derived
// from those of the original. With basis functions cos(pi/128 (u)(2x+1)),
// mirroring an axis multiplies frequency u by (-1)^u, and swapping the axes
// transposes the matrix; index i here is frequency i+1, so "i even" means
// an odd frequency, whose sign flips.
func (v Variant) transform(a *[16][16]float64) *[16][16]float64 {
	var b [16][16]float64
	for i := range 16 {
		for j := range 16 {
			x := a[i][j]
			switch v {
			case Original:
				b[i][j] = x
			case Rotate90:
				b[j][i] = sign(j, x)
			case Rotate180:
				if (i+j)&1 == 1 {
					x = -x
				}
				b[i][j] = x
			case Rotate270:
				b[j][i] = sign(i, x)
			case FlipX:
				b[i][j] = sign(i, x)
			case FlipY:
				b[i][j] = sign(j, x)
			case FlipPlus:
				b[j][i] = x
			case FlipMinus:
				if (i+j)&1 == 1 {
					x = -x
				}
				b[j][i] = x
			}
		}
	}
	return &b
}

// sign negates x when index k is even (an odd frequency).
func sign(k int, x float64) float64 {
	if k&1 == 0 {
		return -x
	}
	return x
}

// HashDihedral returns the hashes of the 8 dihedral variants of img,
// indexed by [Variant], and the quality (the same for all 8). They come
// from one decode and one DCT: each variant's coefficients are a signed
// transposition of the original's. They are close to, but not always
// identical with, the hashes of physically rotated or mirrored files,
// because the sampling grid does not transform exactly.
func HashDihedral(img image.Image) ([8]Hash, int) {
	var hs [8]Hash
	if img.Bounds().Empty() {
		return hs, 0
	}
	grid := downsample(img)
	c := dct16(grid)
	for _, v := range Variants {
		hs[v] = bitsFromDCT(v.transform(c))
	}
	return hs, quality(grid)
}
