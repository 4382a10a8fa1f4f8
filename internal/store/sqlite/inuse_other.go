//go:build !unix

package sqlite

// InUse reports whether another process has the database at path open;
// on this system it can't tell and reports false.
func InUse(path string) (bool, error) { return false, nil }
