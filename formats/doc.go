// Package formats reads and writes the engine's tables: CSV, Parquet, JSON
// lines and PostgreSQL sources stream into column batches with bounded
// memory, and Arrow records are written to Parquet, CSV and JSON lines.
//
// Readers never hold a whole file: they deliver RawBatch values (text
// columns as byte arenas, the source line of every row, and the rows they had
// to reject) to a callback, in file order.
package formats
