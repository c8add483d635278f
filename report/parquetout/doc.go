// Package parquetout writes the analysis as Apache Parquet tables
// (report/SCHEMA.md, "Parquet"), for query engines: flows.parquet (one row
// per flow, every scalar of the JSON flow), segments.parquet (the labelled
// segments with their state changes), anomalies.parquet, and the host,
// service and pair roll-ups of each capture (hosts.parquet,
// services.parquet, pairs.parquet). Every row of the per-flow tables
// carries the stable flow key <capture>/<stream>/<first_time_ns> (issue
// 18, item 4) and the host the capture was taken on.
//
// Memory is bounded: rows are copied out of the Teardown in Flow (it is
// recycled as soon as Flow returns, report.Renderer) into the writer's
// column buffers, compressed page by page (zstd), and written as a row
// group once a table holds RowGroupBytes of values or RowGroupRows rows,
// so a capture is never held whole.
package parquetout
