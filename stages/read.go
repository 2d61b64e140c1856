package stages

import (
	"context"
	"fmt"
	"strings"

	"github.com/autoid-oss/autoid/formats"
)

// readRows streams one entity of a data source as text batches, whatever
// the connection type. transform, when not nil, runs on each batch before
// fn; for CSV it runs in the parallel parser's workers. row, when not nil,
// takes CSV rows one by one in those workers instead of text columns (see
// formats.ReadOptions.Row); other formats deliver columns, so transform
// must handle both.
func readRows(ctx context.Context, src DataSource, e formats.Entity, row func(*formats.RawBatch, int64, [][]byte) error, transform func(*formats.RawBatch) error, fn func(*formats.RawBatch) error) error {
	loc, ok := src.Entities[e.Name]
	if !ok {
		return fmt.Errorf("data source %q has no %s", src.ID, e.Name)
	}
	inline := func(b *formats.RawBatch) error {
		if transform != nil {
			if err := transform(b); err != nil {
				return err
			}
		}
		return fn(b)
	}
	var err error
	switch src.ConnectionType {
	case ConnCSV:
		_, err = formats.ReadCSV(ctx, strings.TrimPrefix(loc, "file://"), formats.ReadOptions{Row: row, Transform: transform}, fn)
	case ConnParquet:
		_, err = formats.ReadParquetRows(ctx, strings.TrimPrefix(loc, "file://"), func(col string) bool {
			c, ok := e.Canonical(col)
			return ok && e.IsTime(c)
		}, inline)
	case ConnGeneric:
		_, err = formats.ReadJSONLines(ctx, strings.TrimPrefix(loc, "file://"), inline)
	case ConnJDBC:
		_, err = formats.ReadPostgres(ctx, src.URL, loc, inline)
	default:
		err = fmt.Errorf("data source %q: connectionType %q not supported", src.ID, src.ConnectionType)
	}
	return err
}
