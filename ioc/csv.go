package ioc

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Columns a CSV file may have, named with --columns in their order:
//
//	value       the indicator value (required)
//	type        a MISP attribute type (ip-dst, domain, md5, ...); empty:
//	            recognised from the value as in a plain list
//	comment     the indicator's description
//	tags        labels, separated by ';' (tlp:... tags become markings)
//	category    the MISP category
//	to_ids      ignored (every row becomes an indicator), accepted so
//	            that MISP's CSV export can be read as is
//	-           a column to ignore (any name not listed here is refused)
var CSVColumns = []string{"value", "type", "comment", "tags", "category", "to_ids", "-"}

// Row is one CSV row by column name.
type Row struct {
	Line     int // 1-based line of the row
	Value    string
	Type     string
	Comment  string
	Tags     []string
	Category string
}

// ParseColumns checks a --columns list.
func ParseColumns(spec string) ([]string, error) {
	cols := strings.Split(spec, ",")
	hasValue := false
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = c
		known := false
		for _, k := range CSVColumns {
			known = known || c == k
		}
		if !known {
			return nil, fmt.Errorf("unknown column %q (known: %s)", c, strings.Join(CSVColumns, ", "))
		}
		hasValue = hasValue || c == "value"
	}
	if !hasValue {
		return nil, errors.New("the columns must include value")
	}
	return cols, nil
}

// ReadCSV reads CSV rows (comma-separated, RFC 4180 quoting; a header
// row whose value column says "value" is skipped; '#' starts a comment
// line) and calls fn for each row. A row with fewer fields than columns
// is an error naming its line. A row (or comment line) of more than
// [MaxCSVRow] bytes is an error too, so that memory stays bounded: the
// CSV reader would hold a row of any length, and an unclosed quote makes
// the rest of the file one field.
func ReadCSV(r io.Reader, cols []string, fn func(Row) error) error {
	lim := &rowLimit{r: r}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	first, last := true, 0
	for {
		// The CSV reader reads ahead through a buffer of 4 KiB.
		lim.allowed = cr.InputOffset() + MaxCSVRow + 4096
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, errRowTooLong) {
			which := "the first row"
			if last > 0 {
				which = fmt.Sprintf("the row after the one at line %d", last)
			}
			return fmt.Errorf("couldn't read the CSV: %s is longer than %d MiB (an unclosed quote makes the rest of the file one field)", which, MaxCSVRow>>20)
		}
		if err != nil {
			return fmt.Errorf("couldn't read the CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		last = line
		if len(rec) < len(cols) {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			return fmt.Errorf("line %d has %d fields, want %d (%s)", line, len(rec), len(cols), strings.Join(cols, ","))
		}
		row := Row{Line: line}
		for i, c := range cols {
			v := strings.TrimSpace(rec[i])
			switch c {
			case "value":
				row.Value = v
			case "type":
				row.Type = v
			case "comment":
				row.Comment = v
			case "category":
				row.Category = v
			case "tags":
				for _, t := range strings.Split(v, ";") {
					if t = strings.TrimSpace(t); t != "" {
						row.Tags = append(row.Tags, t)
					}
				}
			}
		}
		if first && strings.EqualFold(row.Value, "value") {
			first = false
			continue
		}
		first = false
		if err := fn(row); err != nil {
			return err
		}
	}
}

// MaxCSVRow bounds the bytes of one CSV row.
const MaxCSVRow = 1 << 20

var errRowTooLong = errors.New("CSV row too long")

// rowLimit lets its reader read up to allowed bytes of r in all, then
// fails with errRowTooLong: ReadCSV moves allowed on as rows are read.
type rowLimit struct {
	r             io.Reader
	read, allowed int64
}

func (l *rowLimit) Read(p []byte) (int, error) {
	if l.read >= l.allowed {
		return 0, errRowTooLong
	}
	p = p[:min(int64(len(p)), l.allowed-l.read)]
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}
