"""Deliveries' data path, in rooms along the path a delivery takes (DESIGN.md §1):

    reading/     source access and reading: the source mapping, the query, the readers, decoding
    masking/     the mask operators and the keyed tokens they use
    risk/        re-identification: group sizes, suppression, the report
    formats/     Parquet, CSV and XLSX writers, and the sinks they write into
    publishing/  the delivery's files, its signed manifest, and verifying one

`plan` (the frozen, verified plan a delivery runs) and `pipeline` (one delivery's single pass)
sit on top and use the rooms; `element_types` is the catalog's element types as Arrow types,
which reading and masking share. The age encryption is the `ageformat` package's, the demo
source database the `demo_dukcapil` package's (docs/decisions/0004-exports-rooms.md).
"""
