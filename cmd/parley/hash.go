package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/parley-exchange/parley/pdq"
)

func init() {
	register(command{
		name:  "hash",
		usage: "hash [--dihedral] [--max-pixels N] FILE_OR_DIR|-...   PDQ hashes: \"<64 hex> <quality> <file>\" per image",
		run:   runHash,
	})
}

// imageExts are the file name extensions hashed when walking a folder.
// Files named on the command line are hashed whatever their name.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".gif": true,
	".webp": true, ".bmp": true, ".dib": true, ".tif": true, ".tiff": true,
}

// hashResult is the outcome of hashing one file.
type hashResult struct {
	hashes  [8]pdq.Hash // only [0] without --dihedral
	quality int
	err     error
}

// runHash prints the PDQ hash and quality of each image, one line per file
// ("<64 hex> <quality> <file>"), or with --dihedral eight lines per file
// with the variant's name last. Folders are walked in lexical order. A
// file that cannot be hashed gets an error line on stderr and the others
// are still hashed; the exit status is then 2.
func runHash(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("hash")
	dihedral := fs.Bool("dihedral", false, "print the hashes of the 8 rotations and mirror images, the variant's name last")
	maxPixels := fs.Int64("max-pixels", pdq.DefaultMaxPixels, "refuse images of more than `N` pixels (width*height) before decoding them")
	// Flags may follow the files too (parley hash photo.jpg --dihedral);
	// after "--" all are files.
	args, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageErrorf("parley hash photo.jpg pictures/", "hash needs at least one file or folder")
	}
	if *maxPixels <= 0 {
		return usageErrorf("", "--max-pixels must be positive, got %d", *maxPixels)
	}
	lim := pdq.Limits{MaxPixels: *maxPixels}

	files, unreadable := c.collectImages(args)
	if len(files) == 0 && unreadable == 0 {
		// Folders without one image file: say so, rather than print
		// nothing and exit 0 as if they had been hashed.
		return usageErrorf("images are found by their extension: "+imageExtList(), "no image file in %s", strings.Join(args, ", "))
	}
	failed := unreadable
	hint := ""
	progress := c.progress(len(files))

	// Hash on every core, print in order: result i is printed once files
	// 0..i-1 are.
	results := make([]chan hashResult, len(files))
	for i := range results {
		results[i] = make(chan hashResult, 1)
	}
	jobs := make(chan int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	budget := newMemBudget(c.hashMemory)
	for range min(runtime.GOMAXPROCS(0), max(len(files), 1)) {
		go func() {
			for i := range jobs {
				n := imageCost(files[i], lim, budget.capacity)
				budget.acquire(n)
				r := c.hashOne(files[i], *dihedral, lim)
				budget.release(n)
				results[i] <- r
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i, f := range files {
		var r hashResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			progress(-1)
			return withExit(3, "", ctx.Err())
		}
		progress(-1) // clear the progress line before printing
		switch {
		case r.err != nil:
			failed++
			c.printFileError(f, r.err)
			if errors.Is(r.err, pdq.ErrTooLarge) {
				hint = "raise --max-pixels for images that are trusted"
			}
		case *dihedral:
			for _, v := range pdq.Variants {
				fmt.Fprintf(c.stdout, "%s %d %s %s\n", r.hashes[v], r.quality, f, v)
			}
		default:
			fmt.Fprintf(c.stdout, "%s %d %s\n", r.hashes[0], r.quality, f)
		}
		progress(i + 1)
	}
	progress(-1)
	if failed > 0 {
		return withExit(2, hint, fmt.Errorf("%d of %d files could not be hashed", failed, len(files)+unreadable))
	}
	return nil
}

// imageExtList names the extensions of imageExts, sorted.
func imageExtList() string {
	exts := make([]string, 0, len(imageExts))
	for e := range imageExts {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return strings.Join(exts, " ")
}

// hashOne hashes one file, or standard input for "-".
func (c *cli) hashOne(file string, dihedral bool, lim pdq.Limits) hashResult {
	var r hashResult
	if file != "-" {
		if dihedral {
			r.hashes, r.quality, r.err = pdq.HashFileDihedral(file, lim)
		} else {
			r.hashes[0], r.quality, r.err = pdq.HashFile(file, lim)
		}
		return r
	}
	img, _, err := pdq.Decode(c.stdin, lim)
	if err != nil {
		r.err = err
		return r
	}
	if dihedral {
		r.hashes, r.quality = pdq.HashDihedral(img)
	} else {
		r.hashes[0], r.quality = pdq.HashImage(img)
	}
	return r
}

// collectImages expands the arguments into the files to hash: a file is
// taken as it is ("-" is standard input), a folder is walked for image
// files (by name: .jpg, .png, ...). Paths that cannot be
// read get an error line and are counted as failures.
func (c *cli) collectImages(args []string) (files []string, failed int) {
	for _, arg := range args {
		if arg == "-" {
			files = append(files, arg) // standard input
			continue
		}
		fi, err := os.Stat(arg)
		if err != nil {
			failed++
			c.printFileError(arg, err)
			continue
		}
		if !fi.IsDir() {
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				failed++
				c.printFileError(path, err)
				return nil // skip what cannot be read, keep walking
			}
			if !imageExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			} else if d.Type()&fs.ModeSymlink != 0 {
				// A link to an image is hashed; a link to a folder is not
				// followed (it could loop).
				if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			failed++
			c.printFileError(arg, err)
		}
	}
	return files, failed
}

// printFileError prints the error line of a file that was not hashed.
func (c *cli) printFileError(file string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already on the line
	}
	fmt.Fprintf(c.stderr, "parley: error: %s: %v\n", file, err)
}

// progress returns a function that shows "hashed i/n" on stderr when it is
// a terminal (nothing otherwise); i < 0 clears the line.
func (c *cli) progress(n int) func(i int) {
	return c.progressOf("hashed", n)
}

// progressOf returns a function that shows "verb i/n" on stderr when it
// is a terminal (nothing otherwise); i < 0 clears the line.
func (c *cli) progressOf(verb string, n int) func(i int) {
	f, ok := c.stderr.(*os.File)
	if !ok || n < 2 {
		return func(int) {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func(int) {}
	}
	return func(i int) {
		if i < 0 {
			fmt.Fprint(f, "\r\033[K")
			return
		}
		fmt.Fprintf(f, "\r\033[Kparley: %s %d/%d", verb, i, n)
	}
}

// defaultHashMemory bounds what the images parley hash decodes at once
// may take, by their headers ([imageCost]). Each core hashes an image,
// and one image may take up to about 650 MB at pdq's default limits (50
// million pixels at 13 bytes each; a 16-bit colour TIFF over 2 GB), so that a folder of large images
// would otherwise take that many times the cores; within the bound as
// many images are decoded at once as fit, and one larger than it alone.
const defaultHashMemory = 2 << 30

// bytesPerPixel is what decoding and hashing may hold per pixel: a
// progressive JPEG keeps its coefficients (see pdq.DefaultMaxPixels).
const bytesPerPixel = 13

// imageCost is the memory hashing file may take: its encoded bytes (read
// whole) and bytesPerPixel for each pixel its header declares, at most
// capacity. Standard input, whose size is unknown, takes capacity.
func imageCost(file string, lim pdq.Limits, capacity int64) int64 {
	if file == "-" {
		return capacity
	}
	f, err := os.Open(file)
	if err != nil {
		return 0 // the hash fails at once
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	cost := fi.Size()
	if cfg, format, err := image.DecodeConfig(f); err == nil && cfg.Width > 0 && cfg.Height > 0 {
		// pdq refuses more pixels than lim, before decoding.
		if px := int64(cfg.Width) * int64(cfg.Height); lim.MaxPixels <= 0 || px <= lim.MaxPixels {
			per := int64(bytesPerPixel)
			if format == "tiff" {
				// The TIFF decoder holds a strip's raw samples, grown
				// as they are read, beside the decoded image: measured
				// 18 bytes a pixel for 8-bit RGBA and 43 for 16-bit,
				// against 13 for a progressive JPEG.
				per = max(per, tiffBytesPerSample*sampleBytes(cfg.ColorModel))
			}
			cost += px * per
		}
	}
	return min(cost, capacity)
}

// tiffBytesPerSample is what decoding a TIFF may hold per byte of its
// decoded pixel (see [imageCost]): measured up to 5.4 (43 bytes a pixel
// for 16-bit RGBA), 6.4 under the race detector; 7 leaves a margin.
const tiffBytesPerSample = 7

// sampleBytes is the size of one pixel of color model m, as decoded.
func sampleBytes(m color.Model) int64 {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.Gray16Model:
		return 2
	case color.GrayModel:
		return 1
	}
	return 8
}

// memBudget is a weighted semaphore of bytes: acquire waits until n bytes
// are free. n is at most the capacity, so that every request runs.
type memBudget struct {
	mu       sync.Mutex
	cond     *sync.Cond
	capacity int64
	free     int64
}

func newMemBudget(capacity int64) *memBudget {
	if capacity <= 0 {
		capacity = defaultHashMemory
	}
	b := &memBudget{capacity: capacity, free: capacity}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *memBudget) acquire(n int64) {
	b.mu.Lock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
	b.mu.Unlock()
}

func (b *memBudget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}
