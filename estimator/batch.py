"""Claim files: every line priced by the engine under its payer's contract, and underpayments
against what was paid. Reading, writing and Dask live here; pricing is estimator.engine's.

Each line is priced as the engine prices any claim (Medicare amounts, claim edits and multiple
procedures over the lines of the same claim and date, the contract, the lesser of the billed charge,
cost sharing). The claim is the claim id column; lines without one are claims of their own (no copay,
no edits across lines). A claim's lines are expected next to each other in the file, as claim exports
write them: a chunk or a Dask partition never splits one. Deductibles are assumed met (a claim file
does not say what remains). A negative paid amount is a reversal and is not judged.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import engine
from .contracts import Contract, Practice
from .errors import InputError
from .export import safe_table
from .money import bad_decimal_rows, dollars, to_units, units_text
from .store import FeeSchedules

COLUMNS = {  # output name: accepted input spellings (compared lower-case, blanks and dashes as _)
    "date_of_service": ("date_of_service", "dos", "service_date", "date", "from_date", "date_of_svc"),
    "hcpcs": ("hcpcs", "cpt", "code", "procedure_code", "cpt_code", "hcpcs_code", "proc_code", "cpt_hcpcs"),
    "modifiers": ("modifiers", "modifier", "mod", "mods"),
    "units": ("units", "unit", "qty", "quantity", "service_units"),
    "place_of_service": ("place_of_service", "pos"),
    "zip_code": ("zip", "zip_code", "zipcode", "service_zip", "postal_code"),
    "locality": ("locality", "carrier_locality", "medicare_locality"),
    "payer": ("payer", "payer_name", "insurance", "plan", "payer_id", "insurer"),
    "billed": ("billed", "billed_charge", "charge", "charges", "billed_amount", "total_charge"),
    "paid": ("paid", "paid_amount", "payment", "amount_paid", "payer_paid"),
    "claim_id": ("claim_id", "claim", "claim_number", "icn", "claim_no"),
}
REQUIRED = ("date_of_service", "hcpcs", "place_of_service", "payer")
ADDED = ["expected_allowed", "patient_share", "expected_payment", "variance", "underpaid", "edit", "reason", "release"]


def _folded(name: str) -> str:
    return re.sub(r"[\s\-/]+", "_", str(name).strip().lower())


def column_map(columns: list[str], mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Input column -> standard name, from common spellings and an explicit ``mapping`` (standard: input)."""
    twice = sorted({c for c in columns if list(columns).count(c) > 1})
    if twice:
        raise InputError(f"column {twice[0]!r} appears twice", field="columns")
    unknown = sorted(set(mapping or {}) - set(COLUMNS))
    if unknown:
        raise InputError(f"--map {unknown[0]}=...: {unknown[0]!r} is not one of {', '.join(COLUMNS)}", field="--map")
    found = {}
    for standard, spellings in COLUMNS.items():
        given = (mapping or {}).get(standard)
        if given is not None:
            if given not in columns:
                raise InputError(f"mapped column {given!r} is not in the file", field=standard)
            found[given] = standard
            continue
        match = next((c for c in columns if _folded(c) in spellings), None)
        if match is not None:
            found[match] = standard
    missing = [c for c in REQUIRED if c not in found.values()]
    if "zip_code" not in found.values() and "locality" not in found.values():
        missing.append("zip_code or locality")
    if missing:
        raise InputError(f"no column for {', '.join(missing)} (give --map NAME=COLUMN)", field="columns")
    return found


@dataclass
class Book:
    """What pricing needs besides the lines: fee schedules, contracts by name, the practice."""

    schedules: FeeSchedules
    contracts: dict[str, Contract]
    practice: Practice


def _money(text: pd.Series, signed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dollar text ($ and thousands commas allowed) -> cents, known, bad; blank is 'not given'. A decimal
    comma, as a European export writes it ("150,00", "1.234,56"), is read as the decimal point: a comma
    before one or two final digits is never a thousands separator. Parsed once per distinct value."""
    codes, uniques = pd.factorize(text.fillna("").astype(str), use_na_sentinel=False)
    clean = pd.Series(uniques, dtype=object).astype(str).str.replace(r"[$\s]", "", regex=True)
    comma = clean.str.fullmatch(r"-?(?:\d{1,3}(?:\.\d{3})+|\d*),\d{1,2}")
    clean = clean.where(~comma, clean.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    clean = clean.str.replace(",", "", regex=False)
    negative = clean.str.startswith("-") if signed else pd.Series(False, index=clean.index)
    clean = clean.str.lstrip("-").where(negative, clean)
    given = clean.ne("")
    bad = given & (bad_decimal_rows(clean.mask(~given, "0"), 2) | (clean.str.len() > 12))
    cents = to_units(clean.mask(~given | bad, "0"), 2) * np.where(negative, -1, 1)
    return cents[codes], (given & ~bad).to_numpy()[codes], bad.to_numpy()[codes]


def _strings(values: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The text of a categorical column for ``rows``, as an Arrow-backed string array."""
    categories = pd.array(values.cat.categories.to_numpy(dtype=object).astype(str), dtype="str")
    return categories.take(values.cat.codes.to_numpy()[rows])


ENGINE_FIELDS = {"code": "hcpcs", "claim": "claim_id"}  # the engine's input names that differ from a claim file's


STATUS = pd.array(["", "no", "yes", "reversal"], dtype="str")


def price_frame(
    lines: pd.DataFrame, book: Book, tolerance: Fraction = Fraction(1, 100)
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Price standard-named lines (all text, plus ``_row``).

    Returns (the positions of the lines priced, their added columns, the error rows, amounts in cents by
    payer for the summary, the engine's notes: which older CMS file stood in where none is held).
    """
    lines = lines.reset_index(drop=True)

    def text(name: str) -> pd.Series:
        return lines[name] if name in lines else pd.Series("", index=lines.index)

    billed, billed_known, billed_bad = _money(text("billed"), signed=True)
    reversal_charge = billed_known & (billed < 0)
    paid, paid_known, paid_bad = _money(text("paid"), signed=True)
    table = pd.DataFrame(
        {
            "claim": text("claim_id"),
            "date_of_service": text("date_of_service"),
            "code": text("hcpcs"),
            "modifiers": text("modifiers"),
            "units": text("units"),
            "place_of_service": text("place_of_service"),
            "zip_code": text("zip_code"),
            "locality": text("locality"),
            "payer": text("payer"),
            "billed": pd.arrays.IntegerArray(np.maximum(billed, 0), ~billed_known),
            "participating": book.practice.participating,
            "cf_track": book.practice.cf_track,
        },
        index=lines.index,
    )
    result = engine.price(table, engine.Book(book.schedules, book.contracts))
    priced = result.lines
    engine_error = (priced["error"] != "").to_numpy()
    ok = ~engine_error & ~billed_bad & ~paid_bad & ~reversal_charge
    bad_rows = np.flatnonzero(~ok)
    failed = engine_error[bad_rows], billed_bad[bad_rows], reversal_charge[bad_rows]  # the first error of each bad line
    engine_field = priced["error_field"].to_numpy(dtype=object)[bad_rows]
    reasons = np.select(
        failed,
        [
            priced["error"].to_numpy(dtype=object)[bad_rows],
            "billed charge is not an amount with at most 2 decimals",
            "a negative billed charge reverses an earlier line; reversals are not priced (the original line is)",
        ],
        "paid amount is not an amount with at most 2 decimals",
    )
    fields = np.select(
        [failed[0], failed[1] | failed[2]],
        [np.array([ENGINE_FIELDS.get(f, f) for f in engine_field], dtype=object), "billed"],
        "paid",
    )
    rows = np.flatnonzero(ok)
    reversal = paid_known & (paid < 0)
    payment = priced["payer_payment"].to_numpy(np.int64) - priced["sequestration"].to_numpy(np.int64)
    judged = paid_known & ~reversal
    variance = paid - payment
    underpaid = judged & (variance < -int(tolerance * 100))
    allowed = priced["allowed"].to_numpy(np.int64)
    out = pd.DataFrame(
        {
            "expected_allowed": dollars(allowed[rows]),
            "patient_share": dollars(priced["patient_share"].to_numpy(np.int64)[rows]),
            "expected_payment": dollars(payment[rows]),
            "variance": dollars(pd.arrays.IntegerArray(variance[rows], ~judged[rows])),
            "underpaid": STATUS.take(np.where(judged, np.where(underpaid, 2, 1), np.where(reversal, 3, 0))[rows]),
        }
    )
    for column in ("edit", "reason", "release"):
        out[column] = (
            priced[column].to_numpy()[rows]
            if not isinstance(priced[column].dtype, pd.CategoricalDtype)
            else pd.Categorical.from_codes(priced[column].cat.codes.to_numpy()[rows], categories=priced[column].cat.categories)
        )
    bad = lines.iloc[bad_rows][["_row"]].copy()
    bad["field"], bad["reason"] = fields, reasons
    amounts = pd.DataFrame(
        {
            "payer": _strings(priced["payer"], rows),
            "lines": 1,
            "expected_allowed": allowed[rows],
            "expected_payment": payment[rows],
            "variance": np.where(judged, variance, 0)[rows],
            "underpaid": underpaid[rows].astype(int),
        }
    )
    stood_in = [n for n in pd.unique(priced["note"].astype(object).to_numpy()[rows]) if n]  # an older file used
    return rows, out, bad, amounts, result.notes + stood_in


# -- files: read in chunks, write as we go, all or nothing --------------------------------------


class _ExactReadNeeded(Exception):
    """The fast reader met a row it cannot keep (a wrong number of fields, a broken quote): the file is
    read again row by row, so that every bad row is reported with its number and the others priced."""


def _delimiter(header_line: str) -> str:
    return max(",;\t", key=header_line.count) if header_line else ","


def _no_bad_rows(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"_row": np.zeros(0, np.int64), "field": np.zeros(0, dtype=object), "reason": np.zeros(0, dtype=object)})


def read_chunks(path, rows_per_chunk: int = 250_000, *, exact: bool = False):
    """(chunk with a ``_row`` column holding the file's row numbers, rows that cannot be read with their
    reason, bytes read so far) from CSV (comma, semicolon or tab; UTF-8, else Windows-1252), Parquet or
    XLSX. ``exact`` reads a CSV row by row (the fallback for a file with malformed rows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from .uploads import table_rows

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    suffix, start = path.suffix.lower(), 2  # row 1 is the header
    if suffix in (".xlsx", ".xlsm"):
        rows = table_rows(path)
        if not rows:
            raise InputError("the workbook is empty", file=path.name)
        yield _rows_frame(rows[0], rows[1:], 2), path.stat().st_size
        return
    if suffix == ".parquet":
        try:
            source = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"not a readable Parquet file ({str(error)[:200]})", file=path.name) from None
        total, rows_total = path.stat().st_size, max(source.metadata.num_rows, 1)
        for batch in source.iter_batches(rows_per_chunk):
            batch = batch.cast(pa.schema([(n, pa.string()) for n in batch.schema.names]))
            frame = batch.to_pandas().fillna("")
            yield (
                (frame.assign(_row=np.arange(start, start + len(frame))), _no_bad_rows(list(frame.columns))),
                total * (start - 2 + len(frame)) // rows_total,
            )
            start += len(frame)
        return
    raw = path.read_bytes()
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        raise InputError("the file is empty", file=path.name)
    delimiter = _delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    if exact or _longest_line(raw) > csv.field_size_limit():  # the csv module reports an over-long field by row
        yield from _exact_chunks(text, delimiter, rows_per_chunk, len(raw), path.name)
        return

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=32 << 20, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False),
        )
        pending, size = [], len(raw)
        line_bytes = len(raw[: 1 << 20]) / max(raw[: 1 << 20].count(b"\n"), 1)  # for the progress figure
        for batch in reader:
            pending.append(batch)
            if sum(len(b) for b in pending) >= rows_per_chunk:
                frame = pa.Table.from_batches(pending).to_pandas()
                yield (
                    (frame.assign(_row=np.arange(start, start + len(frame))), _no_bad_rows(header)),
                    min(size, int((start + len(frame)) * line_bytes)),
                )
                start, pending = start + len(frame), []
        if pending:
            frame = pa.Table.from_batches(pending).to_pandas()
            yield (frame.assign(_row=np.arange(start, start + len(frame))), _no_bad_rows(header)), size
    except pa.ArrowInvalid:
        raise _ExactReadNeeded() from None


def _longest_line(raw: bytes) -> int:
    ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == 10)
    return int(np.diff(ends, prepend=-1, append=len(raw)).max(initial=0))


def _exact_chunks(text: str, delimiter: str, rows_per_chunk: int, size: int, name: str):
    """Row by row with the csv module: a row with the wrong number of fields, or one the csv module
    cannot read, is reported with its row number and the reading goes on."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader)
    rows, numbers, bad, number = [], [], [], 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            bad.append((number, "", f"row cannot be read ({error})"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            bad.append((number, "", f"row has {len(row)} fields; the header has {len(header)}"))
            continue
        rows.append(row)
        numbers.append(number)
        if len(rows) >= rows_per_chunk:
            yield _chunk(header, rows, numbers, bad), size * number // max(number + 1, 1)
            rows, numbers, bad = [], [], []
    yield _chunk(header, rows, numbers, bad), size


def _chunk(header: list[str], rows: list[list[str]], numbers: list[int], bad: list[tuple[int, str, str]]):
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    return frame.assign(_row=np.array(numbers, np.int64)), pd.DataFrame(bad, columns=["_row", "field", "reason"]).astype(
        {"_row": np.int64}
    )


def _rows_frame(header: list, rows: list[list], first: int):
    """A sheet's rows as a chunk: rows with more filled cells than the header are reported, shorter ones padded."""
    header = [str(c) for c in header]
    kept, numbers, bad = [], [], []
    for number, row in enumerate(rows, first):
        cells = ["" if c is None else str(c) for c in row]
        if not any(c.strip() for c in cells):
            continue
        if any(c.strip() for c in cells[len(header) :]):
            bad.append((number, "", f"row has {len(cells)} cells; the header has {len(header)}"))
            continue
        kept.append((cells + [""] * len(header))[: len(header)])
        numbers.append(number)
    return _chunk(header, kept, numbers, bad)


class Output:
    """Writes chunks to a temporary file, renamed into place only when every chunk is written."""

    def __init__(self, path, user_columns: set[str] | None = None):
        """``user_columns``: the columns that hold the user's text, checked for formulas (default: all)."""
        self.path = Path(path)
        self.user_columns = user_columns
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".csv", ".parquet", ".xlsx"):
            raise InputError("the output must end in .csv, .parquet or .xlsx", field="--output")
        self.temporary = self.path.with_name(f".{self.path.name}.partial")
        self.writer: Any = None
        self.frames: list[pd.DataFrame] = []

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self.suffix == ".xlsx":
            self.frames.append(frame)
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.suffix == ".csv":
            table = safe_table(table, self.user_columns)
        for number, column in enumerate(table.schema):  # one dictionary index type in every chunk
            if pa.types.is_dictionary(column.type):
                table = table.set_column(number, column.name, table.column(number).cast(pa.dictionary(pa.int32(), pa.string())))
        if self.writer is None:
            self.writer = (
                pacsv.CSVWriter(self.temporary, table.schema)
                if self.suffix == ".csv"
                else pq.ParquetWriter(self.temporary, table.schema)
            )
        self.writer.write_table(table)

    def close(self) -> None:
        from .xlsx import table_workbook

        if self.suffix == ".xlsx":
            frame = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()
            self.temporary.write_bytes(table_workbook(frame, "Priced claims"))
        elif self.writer is not None:
            self.writer.close()
        else:
            pd.DataFrame().to_csv(self.temporary, index=False)
        self.temporary.replace(self.path)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.temporary.unlink(missing_ok=True)

    def restart(self) -> None:
        """Forget what was written so far (the file is read again from the start)."""
        self.abandon()
        self.writer, self.frames = None, []


@dataclass
class Summary:
    """Totals per payer and the largest underpayments, gathered chunk by chunk."""

    totals: pd.DataFrame | None = None
    worst: pd.DataFrame | None = None
    priced: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, priced: pd.DataFrame, errors: pd.DataFrame, amounts: pd.DataFrame, notes: list[str]) -> None:
        self.priced, self.failed = self.priced + len(priced), self.failed + len(errors)
        self.notes = list(dict.fromkeys(self.notes + notes))
        if priced.empty:
            return
        grouped = amounts.groupby("payer").sum()
        self.totals = grouped if self.totals is None else self.totals.add(grouped, fill_value=0)
        variance = np.where(amounts["underpaid"].to_numpy() == 1, amounts["variance"].to_numpy(), 0)
        worst = np.argsort(variance, kind="stable")[:10]
        under = priced.iloc[worst[variance[worst] < 0]].drop(columns=["_row", "row"], errors="ignore")
        under = under.assign(_variance=variance[worst[variance[worst] < 0]])
        pool = under if self.worst is None else pd.concat([self.worst, under])
        self.worst = pool.nsmallest(10, "_variance")

    def render(self) -> str:
        if self.totals is None:
            return f"{self.priced} lines priced, {self.failed} failed"
        shown = self.totals.copy()
        for column in ("expected_allowed", "expected_payment", "variance"):
            shown[column] = units_text(shown[column].to_numpy(np.int64))
        text = shown.reset_index().to_string(index=False)
        if self.worst is not None and not self.worst.empty:
            worst = self.worst.drop(columns=["_variance"])
            text += "\n\nlargest underpayments:\n" + worst.to_string(index=False)
        return f"{text}\n\n{self.priced} lines priced, {self.failed} failed"


def _claim_column(columns, mapping) -> str | None:
    names = column_map([c for c in columns if c != "_row"], mapping)
    return next((c for c, standard in names.items() if standard == "claim_id"), None)


def _split_last_claim(chunk: pd.DataFrame, claim: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the chunk without its last claim, the last claim's rows): a claim is priced whole."""
    if claim is None or chunk.empty:
        return chunk, chunk.iloc[:0]
    ids = chunk[claim].fillna("").astype(str).str.strip().to_numpy()
    last = ids[-1]
    if not last:
        return chunk, chunk.iloc[:0]
    start = len(ids)
    while start > 0 and ids[start - 1] == last:
        start -= 1
    return chunk.iloc[:start], chunk.iloc[start:]


def price_file(
    source,
    output,
    book: Book,
    *,
    mapping=None,
    tolerance=Fraction(1, 100),
    errors_path=None,
    rows_per_chunk: int = 250_000,
    progress=None,
) -> Summary:
    """Price a claims file chunk by chunk; writes OUTPUT and the errors file, or nothing on failure.

    A chunk is written in a background thread while the next one is priced (the writers release the
    interpreter lock); chunks are written in file order.
    """
    from concurrent.futures import ThreadPoolExecutor

    out, errors_out = Output(output), Output(errors_path or _errors_name(output))
    summary = Summary()
    writer = ThreadPoolExecutor(max_workers=1)
    written = None

    def write(priced: pd.DataFrame, failed: pd.DataFrame) -> None:
        out.write(priced.rename(columns={"_row": "row"}))
        errors_out.write(failed.rename(columns={"_row": "row"}))

    def run(frame: pd.DataFrame) -> None:
        nonlocal written
        try:
            priced, failed, amounts, notes = _price_chunk(frame, mapping, book, tolerance)
        except InputError as error:
            raise InputError(error.message, file=Path(source).name, field=error.field) from None
        if written is not None:
            written.result()  # the previous chunk is on disk (or its error is raised here)
        written = writer.submit(write, priced, failed)
        summary.add(priced, failed, amounts, notes)

    def read_all(exact: bool) -> None:
        carry, claim = None, None
        for number, ((chunk, unreadable), done) in enumerate(read_chunks(source, rows_per_chunk, exact=exact)):
            if number == 0:
                try:
                    claim = _claim_column(chunk.columns, mapping)
                except InputError as error:
                    raise InputError(error.message, file=Path(source).name, field=error.field) from None
                out.user_columns = {c for c in chunk.columns if c != "_row"}
            if len(unreadable):
                errors_out.write(unreadable.rename(columns={"_row": "row"}))
                summary.failed += len(unreadable)
            if carry is not None:
                chunk = pd.concat([carry, chunk], ignore_index=True)
            chunk, carry = _split_last_claim(chunk, claim)
            if not chunk.empty:
                run(chunk)
            if progress:
                progress(done)
        if carry is not None and not carry.empty:
            run(carry)
        if written is not None:
            written.result()

    try:
        try:
            read_all(exact=False)
        except _ExactReadNeeded:  # a malformed row: start again, row by row
            if written is not None:
                written.result()
            out.restart()
            errors_out.restart()
            summary = Summary()
            written = None
            read_all(exact=True)
    except BaseException:
        writer.shutdown(wait=True, cancel_futures=True)
        out.abandon()
        errors_out.abandon()
        raise
    writer.shutdown()
    out.close()
    errors_out.close()
    return summary


def _price_chunk(
    chunk: pd.DataFrame, mapping, book: Book, tolerance
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Price a chunk in its own column names; returns (input rows + the added columns, errors, amounts, notes)."""
    names = column_map([c for c in chunk.columns if c != "_row"], mapping)
    header = np.logical_and.reduce([chunk[c].astype(str).str.strip().eq(c.strip()).to_numpy() for c in names])
    repeated = chunk[header][["_row"]].assign(field="", reason="a copy of the header row (files joined together?)")
    chunk = chunk[~header].reset_index(drop=True)
    standard = chunk.rename(columns=names)[list(names.values()) + ["_row"]]
    rows, added, failed, amounts, notes = price_frame(standard, book, tolerance)
    failed["field"] = failed["field"].map({v: k for k, v in names.items()}).fillna(failed["field"])
    failed = pd.concat([repeated, failed]).sort_values("_row", kind="stable") if len(repeated) else failed
    return pd.concat([chunk.iloc[rows].reset_index(drop=True), added], axis=1), failed, amounts, notes


def _errors_name(output):
    output = Path(output)
    return output.with_name(f"{output.stem}.errors.csv")


# -- past one machine: the same pricing function over Dask partitions ---------------------------


def price_file_dask(
    source,
    output,
    book: Book,
    *,
    scheduler: str | None = None,
    mapping=None,
    tolerance=Fraction(1, 100),
    errors_path=None,
    blocksize: str = "64MB",
) -> Summary:
    """Price a CSV or Parquet file with dask.dataframe (one pricing task per partition) on a Dask cluster.

    ``scheduler`` is the address of an existing cluster ("tcp://host:8786"); without one a
    LocalCluster on the loopback interface is started for the run. A partition's last claim is priced
    with it whole (its rows at the head of the next partition move to it), so no claim is split.
    Partitions are priced in parallel and written in file order: the output equals the
    single-machine one row for row.
    """
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError('the Dask engine needs Dask: pip install -e ".[cluster]"', field="--engine") from None

    source = Path(source)
    if not source.is_file():
        raise InputError("no such file", file=source)
    parquet = source.suffix.lower() == ".parquet"
    options = {} if parquet else {"dtype": str, "keep_default_na": False, "blocksize": blocksize}
    cluster = (
        None
        if scheduler
        else LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True)
    )
    client = Client(scheduler or cluster)
    out, errors_out = Output(output), Output(errors_path or _errors_name(output))
    summary = Summary()
    try:
        frame = (dd.read_parquet if parquet else dd.read_csv)(str(source), **options)
        try:
            claim = _claim_column([str(c) for c in frame.columns], mapping)  # a bad header stops the run before any work
        except InputError as error:
            raise InputError(error.message, file=source.name, field=error.field) from None
        out.user_columns = {str(c) for c in frame.columns}
        lengths = frame.map_partitions(len).compute().tolist()
        starts = np.cumsum([2] + lengths[:-1])
        parts = frame.to_delayed()
        tasks = [
            dask.delayed(_price_partition)(
                part,
                parts[i - 1] if i else None,
                parts[i + 1] if i + 1 < len(parts) else None,
                int(start),
                int(lengths[i]),
                claim,
                mapping,
                book,
                tolerance,
            )
            for i, (part, start) in enumerate(zip(parts, starts, strict=True))
        ]
        for future in client.compute(tasks):
            priced, failed, amounts, notes = future.result()
            out.write(priced.rename(columns={"_row": "row"}))
            errors_out.write(failed.rename(columns={"_row": "row"}))
            summary.add(priced, failed, amounts, notes)
    except BaseException:
        out.abandon()
        errors_out.abandon()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    out.close()
    errors_out.close()
    return summary


def _leading_run(part: pd.DataFrame | None, claim: str | None, value: str | None) -> int:
    """How many rows at the head of ``part`` belong to claim ``value``."""
    if part is None or claim is None or not value or part.empty:
        return 0
    ids = part[claim].fillna("").astype(str).str.strip().to_numpy()
    mismatch = np.flatnonzero(ids != value)
    return int(mismatch[0]) if mismatch.size else len(ids)


def _price_partition(
    part: pd.DataFrame,
    before: pd.DataFrame | None,
    after: pd.DataFrame | None,
    start: int,
    length: int,
    claim: str | None,
    mapping,
    book: Book,
    tolerance,
):
    """Price one partition, minus its head rows that finish the previous partition's last claim, plus
    the head rows of the next partition that finish its own last claim."""

    def text(frame):
        return frame.fillna("").astype(str).reset_index(drop=True)

    chunk = text(part).assign(_row=np.arange(start, start + length))
    last_before = text(before)[claim].str.strip().iloc[-1] if claim and before is not None and len(before) else None
    skip = _leading_run(chunk, claim, last_before)
    own_last = chunk[claim].str.strip().iloc[-1] if claim and len(chunk) else None
    if skip < len(chunk) and after is not None and own_last:
        following = text(after)
        take = _leading_run(following, claim, own_last)
        chunk = pd.concat(
            [chunk, following.iloc[:take].assign(_row=np.arange(start + length, start + length + take))], ignore_index=True
        )
    chunk = chunk.iloc[skip:].reset_index(drop=True)
    return _price_chunk(chunk, mapping, book, tolerance)


# -- a realistic synthetic claims file, for the benchmark and the tests --------------------------


def synthetic_claims(path, rows: int, payers: list[str], seed: int = 7, paid: bool = True) -> None:
    """Write ``rows`` claim lines shaped like a pain practice's year: trigger point sessions with
    guidance, E/M and drugs, Alabama ZIP codes, 2026 dates, the given payers, paid amounts."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    codes = np.array(["20552", "20553", "76942", "77002", "99213", "99214", "J3301", "J1010", "J0585", "20550"])
    weights = np.array([30, 20, 12, 4, 12, 6, 8, 4, 2, 2], float)
    chosen = codes[rng.choice(len(codes), rows, p=weights / weights.sum())]
    units = np.select([chosen == "J3301", chosen == "J1010", chosen == "J0585"], [4, 80, 100], 1)
    modifiers = np.where(chosen == "99213", "25", np.where(np.isin(chosen, ["J3301", "J1010"]), "JZ", ""))
    days = (np.datetime64("2026-01-01") + rng.integers(0, 365, rows)).astype(str)
    billed = np.round(rng.uniform(40, 400, rows), 2)
    table = {
        "date_of_service": days,
        "hcpcs": chosen,
        "modifiers": modifiers,
        "units": units.astype(str),
        "place_of_service": rng.choice(np.array(["11", "11", "11", "22", "24"]), rows),
        "zip_code": rng.choice(np.array(["35203", "35205", "35233", "36104", "36117", "35801"]), rows),
        "payer": rng.choice(np.array(payers), rows),
        "billed_charge": np.char.mod("%.2f", billed),
        "claim_id": (np.arange(rows) // 3).astype(str),
    }
    if paid:
        table["paid_amount"] = np.char.mod("%.2f", np.round(billed * rng.uniform(0.1, 0.4, rows), 2))
    pacsv.write_csv(pa.table(table), path)
