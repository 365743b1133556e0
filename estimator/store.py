"""Fee-schedule vintages on disk: writing an imported CMS file, finding the one in force.

A vintage is one CMS file made into a table: ``tables/<kind>/<vintage>/table.csv`` with
``source.yaml`` beside it (source file, its sha256, CMS release, effective dates). The
shipped vintages live in the repository's ``fee_schedules/``; a user's imports live in a
user data folder (``TPI_ESTIMATOR_DATA`` or the platform's user data folder). For a date
of service the vintage in force is the one whose dates cover it, the latest to take
effect winning; on the same day the later CMS release, then a user's import over a shipped one.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs
import yaml

from .cms_files import LAYOUTS, ParsedFile, parse_table
from .errors import InputError


def _shipped() -> Path:
    """fee_schedules/ beside the package (a source checkout or an editable install), else the copy
    installed as package data (pip install .)."""
    beside = Path(__file__).resolve().parent.parent / "fee_schedules"
    if (beside / "parameters").is_dir():
        return beside
    import importlib.util

    spec = importlib.util.find_spec("fee_schedules")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fee_schedules data folder is not installed")
    return Path(list(spec.submodule_search_locations)[0])


SHIPPED = _shipped()


def user_data_dir() -> Path:
    """Where a user's imported vintages and settings go (``TPI_ESTIMATOR_DATA`` overrides)."""
    return Path(os.environ.get("TPI_ESTIMATOR_DATA") or platformdirs.user_data_path("tpi-estimator"))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


IN_FORCE_ONLY = ("pfs_rvu", "gpci", "zip5", "locco", "opps_cap")  # never priced with an older file


@dataclass(frozen=True)
class Vintage:
    kind: str
    name: str
    folder: Path
    source: dict
    shipped: bool

    @property
    def effective_from(self) -> dt.date:
        return self.source["effective_from"]

    @property
    def effective_to(self) -> dt.date:
        return self.source["effective_to"]

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day <= self.effective_to

    @property
    def released(self) -> dt.date:
        """The CMS release date the file states ("RELEASED 06/30/2026"), or the earliest date if none."""
        match = re.search(r"(\d\d)/(\d\d)/(\d{4})", self.source.get("release") or "")
        return dt.date(int(match.group(3)), int(match.group(1)), int(match.group(2))) if match else dt.date.min

    @property
    def label(self) -> str:
        """How an amount names its source: vintage, CMS file and dates."""
        return f"{self.name} ({self.source['source_file']}, {self.effective_from} to {self.effective_to})"


def write_vintage(
    parsed: ParsedFile,
    root: Path,
    *,
    effective_from: dt.date | None = None,
    effective_to: dt.date | None = None,
    vintage: str | None = None,
    note: str = "",
    origin: str = "",
    replace: bool = False,
) -> Path:
    """Store a parsed CMS file as a vintage under ``root``; all or nothing (a rename at the end)."""
    facts = dict(parsed.facts)
    facts["effective_from"] = effective_from or facts.get("effective_from")
    facts["effective_to"] = effective_to or facts.get("effective_to")
    facts["vintage"] = vintage or facts.get("vintage")
    missing = [k for k in ("effective_from", "effective_to", "vintage") if not facts[k]]
    if missing:
        raise InputError(
            f"the file does not state its {' and '.join(missing).replace('_', ' ')}; "
            "give them (--effective-from YYYY-MM-DD --effective-to YYYY-MM-DD --vintage NAME)",
            file=parsed.path.name,
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", str(facts["vintage"])) or ".." in str(facts["vintage"]):
        raise InputError(
            f"{str(facts['vintage'])[:60]!r} is not a vintage name (letters, digits, _ . -, at most 40)",
            file=parsed.path.name,
            field="--vintage",
        )
    if facts["effective_from"] > facts["effective_to"]:
        raise InputError("effective_from is after effective_to", file=parsed.path.name)
    folder = Path(root) / "tables" / parsed.layout.kind / facts["vintage"]
    if folder.exists() and not replace:
        raise InputError(
            f"vintage {facts['vintage']} is already stored in {folder}; pass --replace to overwrite", file=parsed.path.name
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{facts['vintage']}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    parsed.table.to_csv(staging / "table.csv", index=False, lineterminator="\n")
    source = {
        "kind": parsed.layout.kind,
        "title": parsed.layout.title,
        "cms_title": facts["title"],
        "vintage": facts["vintage"],
        "source_file": parsed.path.name,
        "source_sha256": sha256(parsed.path),
        "release": facts.get("release", ""),
        "effective_from": facts["effective_from"],
        "effective_to": facts["effective_to"],
        "rows": len(parsed.table),
        "table_sha256": sha256(staging / "table.csv"),
        "origin": origin,
        "note": note,
    }
    if "conversion_factor" in facts:
        source["conversion_factor"] = facts["conversion_factor"]
    (staging / "source.yaml").write_text(yaml.safe_dump(source, sort_keys=False, width=100))
    if folder.exists():
        retired = folder.parent / f".{facts['vintage']}.{os.getpid()}.old"
        folder.rename(retired)
        staging.rename(folder)
        shutil.rmtree(retired)
    else:
        staging.rename(folder)
    return folder


def import_files(paths: list[Path], root: Path, **options) -> list[Path]:
    """Validate every file first, then store each: a bad file means nothing is imported."""
    parsed = [parse_table(Path(p)) for p in paths]
    return [write_vintage(p, root, **options) for p in parsed]


class FeeSchedules:
    """The vintages found under the shipped folder and the user's data folder."""

    def __init__(self, roots: tuple[Path, ...] | None = None):
        self.roots = roots if roots is not None else (SHIPPED, user_data_dir())
        self.vintages: list[Vintage] = []
        self.in_force_keys: dict[dt.date, tuple] = {}  # parameters.in_force_key, per date
        for root in self.roots:
            for source_file in sorted(Path(root).glob("tables/*/[!.]*/source.yaml")):  # not staging folders
                source = yaml.safe_load(source_file.read_text())
                self.vintages.append(Vintage(source["kind"], source["vintage"], source_file.parent, source, root == SHIPPED))

    def in_force(self, kind: str, day: dt.date) -> Vintage:
        """The vintage of ``kind`` in force on ``day``; InputError when none is loaded."""
        covering = [v for v in self.vintages if v.kind == kind and v.covers(day)]
        if not covering:
            held = ", ".join(f"{v.effective_from} to {v.effective_to}" for v in self.of_kind(kind)) or "none"
            raise InputError(
                f"no {LAYOUTS[kind].title} is loaded for {day} (loaded: {held}); "
                "import the CMS file for that date with `python -m estimator import-cms FILE`",
                field="date of service",
            )
        return max(covering, key=lambda v: (v.effective_from, v.released, not v.shipped))

    def latest_on_or_before(self, kind: str, day: dt.date) -> Vintage | None:
        """The newest vintage that took effect on or before ``day`` (for figures shown as 'latest held')."""
        earlier = [v for v in self.of_kind(kind) if v.effective_from <= day]
        return max(earlier, key=lambda v: (v.effective_from, v.released, not v.shipped)) if earlier else None

    def in_force_or_latest(self, kind: str, day: dt.date) -> tuple[Vintage | None, str]:
        """The vintage in force on ``day``, or else the latest that took effect before it, with a note
        saying so (ASP, OPPS, ASC and MUE files are used this way); (None, "") when none is held."""
        try:
            return self.in_force(kind, day), ""
        except InputError:
            latest = self.latest_on_or_before(kind, day)
            if latest is None:
                return None, ""
            return latest, f"No {latest.source['title']} file is held for {day}; {latest.label} is used instead."

    def pricing(self, kind: str, day: dt.date) -> tuple[Vintage | None, str]:
        """The vintage of ``kind`` that prices ``day``, and a note when it is an older one standing in.
        RVU, GPCI, ZIP and LOCCO files and the OPPS cap price only the dates they are in force for."""
        vintage, note = self.in_force_or_latest(kind, day)
        if kind in IN_FORCE_ONLY and note:
            return None, ""
        return vintage, note

    def priced_with(self, day: dt.date) -> list[dict[str, str]]:
        """For each kind of CMS file: the vintage that prices ``day``, and whether it is the one in force
        or an older one standing in (with the note saying so), or none held."""
        rows = []
        for kind, layout in LAYOUTS.items():
            vintage, note = self.pricing(kind, day)
            rows.append(
                {
                    "kind": kind,
                    "file": layout.title,
                    "vintage": vintage.name if vintage else "",
                    "dates": f"{vintage.effective_from} to {vintage.effective_to}" if vintage else "",
                    "status": "in force" if vintage and not note else ("older file used" if vintage else "none held"),
                    "note": note,
                }
            )
        return rows

    def known_codes(self, day: dt.date) -> set[str]:
        """The codes a payer's fee schedule may name on ``day``: the PFS's and the ASP file's."""
        known = set(self.table(self.in_force("pfs_rvu", day))["hcpcs"])
        asp = self.latest_on_or_before("asp", day)
        if asp:
            known |= set(self.table(asp)["hcpcs"])
        return known

    def of_kind(self, kind: str) -> list[Vintage]:
        return sorted((v for v in self.vintages if v.kind == kind), key=lambda v: v.effective_from)

    def table(self, vintage: Vintage) -> pd.DataFrame:
        return load_table(vintage.folder, vintage.kind, vintage.source["table_sha256"])


@cache
def load_table(folder: Path, kind: str, checksum: str) -> pd.DataFrame:
    """A stored table with decimal columns as int64 counts of their smallest unit (blank -> <NA>).

    Read with Arrow: every column as text, each decimal column cast to an exact decimal whose unscaled
    integers are the counts (the stored text was checked at import, so the cast never rounds).
    Cached by folder and checksum, so a vintage imported again under the same name is read again.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = folder / "table.csv"
    with path.open(encoding="utf-8") as handle:
        names = next(csv.reader(handle))
    text = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
    )
    places = {c.name: c.places for c in LAYOUTS[kind].columns if c.kind == "decimal"}
    table = {}
    for name in names:
        values = text[name].combine_chunks()
        if name not in places:
            table[name] = values.to_pandas()
            continue
        blank = pc.equal(values, "")
        exact = pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), values), pa.decimal64(18, places[name]))
        units = np.frombuffer(exact.buffers()[1], np.int64, len(exact), exact.offset * 8).copy()
        missing = blank.to_numpy(zero_copy_only=False)
        table[name] = pd.arrays.IntegerArray(units, missing) if missing.any() else units
    return pd.DataFrame(table)
