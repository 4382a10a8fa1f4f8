package pdq

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	// The decoders PDQ input may come in. The standard library has JPEG,
	// PNG and GIF; golang.org/x/image adds WebP, BMP and TIFF.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Default limits for [Limits] fields left zero.
const (
	// DefaultMaxPixels bounds width*height. Decoding needs up to about 13
	// bytes per pixel (a progressive JPEG keeps its coefficients), so the
	// default caps one decode at well under a gigabyte, except for TIFF,
	// whose decoder holds the raw samples beside the image: up to about
	// 43 bytes a pixel for 16-bit colour, 2 GB at this limit.
	DefaultMaxPixels = 50_000_000
	// DefaultMaxSide bounds the width and the height on their own.
	DefaultMaxSide = 1 << 15
	// DefaultMaxBytes bounds the encoded size of one image.
	DefaultMaxBytes = 256 << 20
)

// Limits bounds what [Decode] accepts. A zero field means its default
// (DefaultMaxPixels, DefaultMaxSide, DefaultMaxBytes); the zero Limits is
// ready to use.
type Limits struct {
	// MaxPixels is the largest width*height accepted.
	MaxPixels int64
	// MaxSide is the largest width or height accepted.
	MaxSide int
	// MaxBytes is the largest encoded image accepted, in bytes.
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Errors that [Decode] wraps; callers branch on them with [errors.Is].
var (
	// ErrTooLarge: the image's declared size, or its encoded size, is over
	// the [Limits]. Nothing was decoded.
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupportedFormat: not a JPEG, PNG, GIF, WebP, BMP or TIFF file.
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrCorrupt: the file claims a supported format but cannot be
	// decoded.
	ErrCorrupt = errors.New("corrupt image")
)

// Formats lists the image formats that [Decode] accepts, by the names that
// [image.DecodeConfig] reports.
var Formats = []string{"jpeg", "png", "gif", "webp", "bmp", "tiff"}

func supported(format string) bool {
	for _, f := range Formats {
		if f == format {
			return true
		}
	}
	return false
}

// Decode reads one image of at most lim.MaxBytes bytes from r. It first
// reads only the header and refuses, with [ErrTooLarge], an image whose
// declared width, height or pixel count is over lim, so that pixel memory
// is allocated only for images within the limits. It returns the image and
// its format name. Only the first frame of an animated GIF is decoded, and
// EXIF orientation is ignored, as in the reference implementations.
func Decode(r io.Reader, lim Limits) (image.Image, string, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("couldn't read image: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return decodeBytes(data, lim)
}

func decodeBytes(data []byte, lim Limits) (image.Image, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		// Say what the file is not, so that a user knows what would work.
		if len(data) == 0 {
			return nil, "", fmt.Errorf("%w: the file is empty", ErrUnsupportedFormat)
		}
		return nil, "", fmt.Errorf("%w: not a JPEG, PNG, GIF, WebP, BMP or TIFF file", ErrUnsupportedFormat)
	}
	if err != nil {
		return nil, format, fmt.Errorf("%w: couldn't read the %s header: %v", ErrCorrupt, formatName(format), err)
	}
	if !supported(format) {
		return nil, format, fmt.Errorf("%w: %s", ErrUnsupportedFormat, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, format, fmt.Errorf("%w: %s header declares %dx%d pixels", ErrCorrupt, format, cfg.Width, cfg.Height)
	}
	if cfg.Width > lim.MaxSide || cfg.Height > lim.MaxSide || int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return nil, format, fmt.Errorf("%w: %dx%d pixels is over the limit of %d pixels (%d per side)",
			ErrTooLarge, cfg.Width, cfg.Height, lim.MaxPixels, lim.MaxSide)
	}
	img, format2, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, format, fmt.Errorf("%w: couldn't decode %s: %v", ErrCorrupt, formatName(format), err)
	}
	if format2 != format {
		return nil, format, fmt.Errorf("%w: header says %s, data says %s", ErrCorrupt, format, format2)
	}
	// A decoder may return a different size than its header declared (a
	// GIF frame smaller than its screen); it must never be larger.
	if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height || b.Empty() {
		return nil, format, fmt.Errorf("%w: decoded %dx%d pixels, header declared %dx%d", ErrCorrupt, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return img, format, nil
}

func formatName(f string) string {
	if f == "" {
		return "image"
	}
	return f
}

// HashReader decodes one image from r within lim and returns its PDQ hash
// and quality.
func HashReader(r io.Reader, lim Limits) (Hash, int, error) {
	img, _, err := Decode(r, lim)
	if err != nil {
		return Hash{}, 0, err
	}
	h, q := HashImage(img)
	return h, q, nil
}

// HashFile decodes the image file at path within lim and returns its PDQ
// hash and quality (0..100). Errors wrap [ErrTooLarge],
// [ErrUnsupportedFormat], [ErrCorrupt] or the file system's error.
func HashFile(path string, lim Limits) (Hash, int, error) {
	img, err := decodeFile(path, lim)
	if err != nil {
		return Hash{}, 0, err
	}
	h, q := HashImage(img)
	return h, q, nil
}

// HashFileDihedral is [HashFile] for the 8 dihedral variants: see
// [HashDihedral].
func HashFileDihedral(path string, lim Limits) ([8]Hash, int, error) {
	img, err := decodeFile(path, lim)
	if err != nil {
		return [8]Hash{}, 0, err
	}
	hs, q := HashDihedral(img)
	return hs, q, nil
}

func decodeFile(path string, lim Limits) (image.Image, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrTooLarge, fi.Size(), lim.MaxBytes)
	}
	img, _, err := Decode(f, lim)
	return img, err
}
