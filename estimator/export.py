"""Result tables to files: CSV, Parquet or xlsx from one typed Arrow table, written whole or not at all.

Columns keep their types up to the writer: money as Arrow decimal128 (CSV "47.25", Parquet
DECIMAL(18, 2), xlsx a number with a dollar format), codes and names as text, small sets of text
dictionary-encoded. CSV and xlsx are for spreadsheets, so text a spreadsheet would run as a formula
(= + - @, a tab or a carriage return first, other than a number) gets a leading apostrophe there;
Parquet is for programs and keeps every value as given. A file is written to a temporary name beside
the output and renamed into place only when complete.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError
from .textio import FORMULA_START, NUMBER

FORMATS = ("csv", "parquet", "xlsx")


def output_format(output: Path | None, given: str | None = None) -> str:
    """The format asked for (``--format``), else the output's extension; CSV when writing to the screen."""
    suffix = output.suffix.lower().lstrip(".") if output else ""
    chosen = given or suffix or "csv"
    if chosen not in FORMATS:
        raise InputError(f"the output must end in {', '.join('.' + f for f in FORMATS)}", field="--output")
    if given and suffix and suffix != given:
        raise InputError(f"--format {given} but the output ends in .{suffix}", field="--output")
    if output is None and chosen != "csv":
        raise InputError(f"--format {chosen} needs --output FILE", field="--format")
    return chosen


def safe_strings(values: pa.Array) -> pa.Array:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe; numbers and other
    text unchanged. A dictionary array is changed in its dictionary only."""
    if pa.types.is_dictionary(values.type):
        return pa.DictionaryArray.from_arrays(values.indices, safe_strings(values.dictionary))
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    risky = pc.fill_null(pc.match_substring_regex(values, "^" + FORMULA_START), False)
    if not pc.any(risky).as_py():
        return values
    risky = pc.and_(risky, pc.invert(pc.fill_null(pc.match_substring_regex(values, f"^{NUMBER}$"), False)))
    return pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'", values.type), values, pa.scalar("", values.type)), values)


def safe_table(table: pa.Table, columns: set[str] | None = None) -> pa.Table:
    """Every text column (or those in ``columns``) and every column name made spreadsheet-safe."""
    arrays = [
        pa.chunked_array([safe_strings(chunk) for chunk in column.chunks], type=column.type)
        if columns is None or name in columns
        else column
        for name, column in zip(table.column_names, table.columns, strict=True)
    ]
    names = safe_strings(pa.array(table.column_names, pa.string())).to_pylist()
    return pa.table(arrays, names=names)


def arrow_table(table) -> pa.Table:
    """A pandas frame or an Arrow table, as an Arrow table (no index)."""
    return table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)


def write_csv(table: pa.Table, sink) -> None:
    import pyarrow.csv as pacsv

    pacsv.write_csv(safe_table(table), sink)


def csv_bytes(table) -> bytes:
    """A table as spreadsheet-safe CSV bytes (the dashboard's downloads)."""
    sink = pa.BufferOutputStream()
    write_csv(arrow_table(table), sink)
    return sink.getvalue().to_pybytes()


def write_parquet(table: pa.Table, sink) -> None:
    """Parquet with min/max statistics on the text columns a reader filters on (codes, places, names),
    not on every amount (a third of the writing time for a whole national schedule)."""
    import pyarrow.parquet as pq

    keys = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(table, sink, write_statistics=keys)


def write(table, output: Path, title: str, fmt: str | None = None) -> int:
    """Write ``table`` to ``output`` in ``fmt`` (else its extension), all or nothing; returns the rows."""
    chosen = output_format(output, fmt)
    table = arrow_table(table)
    if not output.parent.is_dir():
        raise InputError("no such folder", file=output.parent, field="--output")
    content = None
    if chosen == "xlsx":
        from .xlsx import table_workbook

        content = table_workbook(table.to_pandas(), title)
    if content is not None:
        write_whole(output, lambda path: path.write_bytes(content))
    elif chosen == "parquet":
        write_whole(output, lambda path: write_parquet(table, path))
    else:
        write_whole(output, lambda path: write_csv(table, str(path)))
    return table.num_rows


def write_whole(output: Path, writer) -> None:
    """Run ``writer`` on a temporary name beside ``output``, then rename it into place: the file is
    whole or absent."""
    temporary = output.with_name(f".{output.name}.partial")
    try:
        writer(temporary)
        temporary.replace(output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write the file ({error.strerror})", file=output, field="--output") from None


def to_screen(table) -> None:
    """A table as CSV on standard output."""
    sys.stdout.flush()
    write_csv(arrow_table(table), sys.stdout.buffer)
    sys.stdout.buffer.flush()
