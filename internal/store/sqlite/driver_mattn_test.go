//go:build cgo

package sqlite

// The cgo driver is linked into the tests only, for the driver comparison
// of bench_test.go; the parley binary uses modernc.org/sqlite alone.
import _ "github.com/mattn/go-sqlite3"

func init() { benchDrivers = append(benchDrivers, "sqlite3") }
