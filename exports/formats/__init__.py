"""Output formats: the Parquet, CSV and XLSX writers of a delivery's record batches
(`writers`, with the streaming XLSX writer in `xlsx_stream`), and the byte sinks they write
into: hashing streams, staged files renamed into place, durable renames (`sinks`).
"""
