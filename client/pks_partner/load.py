"""Reading a decrypted delivery into pyarrow or pandas, without holding it twice in memory.

The delivery is decrypted to a temporary file (mode 0600, in a folder of its own that is removed
afterwards), and the table is read from that file: the plaintext never sits in memory as one
buffer beside the table made from it. pandas takes the Arrow columns over one by one
(`self_destruct`), so the Table's memory is released as the DataFrame fills. pyarrow and pandas
are optional (`pip install 'pks-partner[pandas]'`) and imported only here, only when called.

A CSV delivery's columns are read as text (a NIK token or a region code must keep its digits);
an empty cell is null, as in the Parquet form. XLSX deliveries are for spreadsheets: download them.
"""

from __future__ import annotations

import csv
import importlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pks_partner.errors import PartnerError

if TYPE_CHECKING:
    import pandas
    import pyarrow

HEADER_LIMIT = 1024 * 1024


@contextmanager
def scratch(workdir: str | Path | None) -> Iterator[Path]:
    """A private folder for the download and its plaintext, removed with all in it at the end
    (inside `workdir`, made if need be, or the system's temporary folder)."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pks-partner-", dir=workdir) as folder:
        yield Path(folder)


def _module(name: str, extra: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise PartnerError(
            f"loading a table needs {name.split('.')[0]}: pip install 'pks-partner[{extra}]'"
        ) from None


def read_table(path: Path | None, format: str) -> pyarrow.Table:
    """The decrypted delivery file at `path` as a pyarrow Table."""
    if path is None:
        raise PartnerError("the delivery was not decrypted: no table to read")
    if format == "parquet":
        return _module("pyarrow.parquet", "arrow").read_table(path)
    if format == "csv":
        arrow = _module("pyarrow", "arrow")
        arrow_csv = _module("pyarrow.csv", "arrow")
        options = arrow_csv.ConvertOptions(
            column_types={name: arrow.string() for name in _csv_header(path)},
            null_values=[""],
            strings_can_be_null=True,
        )
        return arrow_csv.read_csv(path, convert_options=options)
    raise PartnerError(
        f"a {format} delivery is for spreadsheets: download it (`pks-partner download`) and "
        "open the file; parquet and csv deliveries load as tables"
    )


def to_pandas(table: pyarrow.Table) -> pandas.DataFrame:
    _module("pandas", "pandas")
    frame: pandas.DataFrame = table.to_pandas(self_destruct=True, split_blocks=True)
    return frame


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as source:
        line = source.readline(HEADER_LIMIT)
    return next(csv.reader([line]), [])
