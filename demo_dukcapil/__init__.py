"""The demo Dukcapil database: a SIAK-shaped source full of synthetic people of Kabupaten Paser.

`database.build_demo_source` creates the tables of docs/source-schema.md on SQLite, PostgreSQL or
MariaDB and fills them from `people` (households and people drawn with numpy from the shares and
name pools in `shares`, in the villages `regions` reads). Nobody in it is real. It stands beside
the gateway rather than inside `exports/`: a delivery never runs it, it only gives a delivery
something to read (`pks-gateway demo-source`, the tests, bench/). It imports `agreements` alone,
for `SafeError`, the one mark of an error text safe to show (docs/decisions/0004-exports-rooms.md).
"""
