//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package match

import "os"

// mapFile is not available here; the caller reads the file.
func mapFile(f *os.File) (data []byte, unmap func(), ok bool) { return nil, nil, false }
