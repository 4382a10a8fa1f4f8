package pdq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// pngHeader returns a PNG that declares w x h pixels and holds no pixel
// data: a decompression bomb's header.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func testJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeLimits(t *testing.T) {
	small := testJPEG(t, 100, 60)
	var gifBomb bytes.Buffer
	gif.Encode(&gifBomb, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}), nil)
	gb := gifBomb.Bytes()
	binary.LittleEndian.PutUint16(gb[6:], 65535) // logical screen 65535x65535
	binary.LittleEndian.PutUint16(gb[8:], 65535)

	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"ok", small, Limits{}, nil},
		{"png bomb header", pngHeader(100000, 100000), Limits{}, ErrTooLarge},
		{"png one long side", pngHeader(1<<16, 1), Limits{}, ErrTooLarge},
		{"gif bomb screen", gb, Limits{}, ErrTooLarge},
		{"pixel limit", small, Limits{MaxPixels: 100*60 - 1}, ErrTooLarge},
		{"side limit", small, Limits{MaxSide: 99}, ErrTooLarge},
		{"byte limit", small, Limits{MaxBytes: int64(len(small)) - 1}, ErrTooLarge},
		{"at the limits", small, Limits{MaxPixels: 6000, MaxSide: 100, MaxBytes: int64(len(small))}, nil},
		{"truncated jpeg", small[:len(small)/2], Limits{}, ErrCorrupt},
		{"png header only", pngHeader(10, 10), Limits{}, ErrCorrupt},
		{"zero width", pngHeader(0, 10), Limits{}, ErrCorrupt},
		{"text", []byte("this is not an image\n"), Limits{}, ErrUnsupportedFormat},
		{"empty", nil, Limits{}, ErrUnsupportedFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := Decode(bytes.NewReader(tt.data), tt.lim)
			if tt.want == nil {
				if err != nil || img == nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if img != nil {
				t.Error("image returned with an error")
			}
		})
	}
}

// TestDecodeBombAllocatesNothing: refusing a bomb costs no pixel memory.
func TestDecodeBombAllocatesNothing(t *testing.T) {
	bomb := pngHeader(50000, 50000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := Decode(bytes.NewReader(bomb), Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing a 2.5 gigapixel header allocated %d bytes", d)
	}
}

func TestHashFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := HashFile(filepath.Join(dir, "missing.jpg"), Limits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.png")
	os.WriteFile(big, pngHeader(1, 1), 0o644)
	if _, _, err := HashFile(big, Limits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxBytes: %v", err)
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3)))
	ok := filepath.Join(dir, "ok.png")
	os.WriteFile(ok, b.Bytes(), 0o644)
	if _, q, err := HashFile(ok, Limits{}); err != nil || q != 0 {
		t.Errorf("HashFile(flat png) = %d, %v", q, err)
	}
}

// TestDecodeUnsupportedMessage checks that a file that is no image says
// what would have worked, and that an empty one says it is empty.
func TestDecodeUnsupportedMessage(t *testing.T) {
	for _, tt := range []struct {
		data []byte
		want string
	}{
		{nil, "unsupported image format: the file is empty"},
		{[]byte("this is not an image\n"), "unsupported image format: not a JPEG, PNG, GIF, WebP, BMP or TIFF file"},
	} {
		_, _, err := Decode(bytes.NewReader(tt.data), Limits{})
		if !errors.Is(err, ErrUnsupportedFormat) || err.Error() != tt.want {
			t.Errorf("Decode(%q) error = %v, want %q", tt.data, err, tt.want)
		}
	}
}
