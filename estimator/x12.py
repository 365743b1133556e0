"""X12 5010 files read into tables: remittances (835, 005010X221A1) and professional claims
(837P, 005010X222A1).

The delimiters come from the ISA segment (the element separator is its fourth character, the
component separator ISA16 and the segment terminator the character after it), so any delimiters,
CRLF or no line breaks at all, and lowercase files read the same. One file may hold several
interchanges, functional groups and transactions (ST/SE), and so several payers and payments.

A file that is not X12 at all, or whose ISA cannot give the delimiters, is an InputError naming the
file, the segment number (counted from 1, the ISA) and the element. Anything wrong inside a claim
(an amount that is not a number, a service line without a code, a malformed composite) is written on
that line's ``problem`` and the other claims are read on; envelope problems (an SE count that does
not match, a missing SE or IEA) are notes.

This reader does the reading because it must be fast: pyx12's reader takes about 6 s and its
implementation-guide validation about 54 s for a 100,000-line 835 on one core here (both read
composites and modifiers correctly). pyx12 is used as the validator, on request
(:func:`validate`); LinuxForHealth's x12 was also tried and does not import with pydantic 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .errors import InputError

MAX_BYTES = 200 * 2**20
VERSIONS = {"835": "005010X221A1", "837": "005010X222A1"}
CAS_TRIPLES = range(2, 19, 3)  # CAS02-04, 05-07, ... 17-19: reason, amount, quantity
AMOUNT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
DATE = re.compile(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


@dataclass
class Segments:
    """A file's segments (each a list of elements, the segment id first) and its delimiters."""

    name: str
    items: list[list[str]]
    components: list[str]  # each segment's component separator (its interchange's ISA16)


@dataclass
class Read:
    """What a set of X12 files holds: 835 service lines, 837P service lines, the payments (one per
    835 transaction), and notes on the envelopes."""

    remittance: pd.DataFrame
    claims: pd.DataFrame
    payments: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _delimiters(text: str, name: str, number: int) -> tuple[str, str, str]:
    """Element separator, component separator and segment terminator of the interchange that starts
    ``text`` (its ISA is segment ``number`` of the file)."""
    if text[:3].upper() != "ISA":
        raise InputError(f"not an X12 file: it does not start with an ISA segment (segment {number}, ISA01)", file=name)
    if len(text) < 106:
        raise InputError(f"segment {number}, ISA16: the ISA segment is cut short", file=name)
    separator = text[3]
    if separator.isalnum() or separator in " \r\n":
        raise InputError(f"segment {number}, ISA: {separator!r} cannot be the element separator", file=name)
    at = -1
    for _ in range(16):  # ISA has 16 elements: the component separator follows the 16th separator
        at = text.find(separator, at + 1)
        if at < 0:
            raise InputError(f"segment {number}, ISA16: the ISA segment is cut short", file=name)
    component, terminator = text[at + 1 : at + 2], text[at + 2 : at + 3]
    if not component or not terminator or component == separator or terminator in (separator, component):
        raise InputError(f"segment {number}, ISA16: no component separator and segment terminator after ISA16", file=name)
    if terminator.isalnum() or terminator == " ":
        raise InputError(f"segment {number}, ISA16: {terminator!r} cannot end a segment", file=name)
    return separator, component, terminator


def split_segments(text: str, name: str) -> Segments:
    """The segments of every interchange in ``text``, each split with the delimiters of its own ISA."""
    items: list[list[str]] = []
    components: list[str] = []
    rest = text.lstrip("\ufeff \t\r\n")
    while rest:
        separator, component, terminator = _delimiters(rest, name, len(items) + 1)
        trailer = re.compile(re.escape(terminator) + r"\s*IEA" + re.escape(separator), re.IGNORECASE).search(rest)
        end = len(rest) if trailer is None else rest.find(terminator, trailer.end())
        end = len(rest) if end < 0 else end + 1
        for segment in rest[:end].upper().split(terminator):
            elements = segment.strip("\r\n").split(separator)
            if elements != [""]:
                elements[0] = elements[0].strip()
                items.append(elements)
        components += [component] * (len(items) - len(components))
        rest = rest[end:].lstrip("\t\r\n ")
    return Segments(name, items, components)


@lru_cache(maxsize=65_536)
def cents(text: str) -> int | None:
    """An X12 amount (R type, e.g. "150", "-37.8", ".5") in cents; None when it is not one."""
    if not AMOUNT.fullmatch(text):
        return None
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        return None
    return int(value) if value == value.to_integral_value() else None


def _element(segment: list[str], position: int) -> str:
    return segment[position] if position < len(segment) else ""


def _date(text: str) -> str:
    """CCYYMMDD -> ISO date text ('' when it is not a date)."""
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if DATE.fullmatch(text) else ""


class _Walk:
    """One pass over a file's segments, keeping the loops the tables need."""

    def __init__(self, segments: Segments, notes: list[str]):
        self.s = segments
        self.notes = notes
        self.lines: list[dict] = []
        self.billed: list[dict] = []
        self.payments: list[dict] = []

    def note(self, number: int, element: str, message: str) -> None:
        self.notes.append(f"{self.s.name}: segment {number}, {element}: {message}")

    def composite(self, text: str, number: int) -> list[str]:
        return text.split(self.s.components[number - 1])

    def amount(self, segment: list[str], position: int, number: int, problems: list[str], required: bool = False) -> int | None:
        text = _element(segment, position)
        if not text:
            if required:
                problems.append(f"segment {number}, {segment[0]}{position:02d}: missing")
            return None
        value = cents(text)
        if value is None:
            problems.append(f"segment {number}, {segment[0]}{position:02d}: {text[:20]!r} is not an amount")
        return value

    def run(self) -> None:
        kind, start, control, counted = "", 0, "", 0
        interchange_open = False
        for index, segment in enumerate(self.s.items):
            number, tag = index + 1, segment[0]
            if tag == "ISA":
                interchange_open = True
            elif tag == "IEA":
                interchange_open = False
            elif tag == "ST":
                if kind:
                    self.note(start, "SE", f"transaction {control} has no SE (the file may be cut short)")
                    self.close(kind)
                kind, start, control = _element(segment, 1), number, _element(segment, 2)
                if kind not in VERSIONS:
                    self.note(number, "ST01", f"transaction set {kind[:10]!r} is not an 835 or 837; skipped")
                    kind = "skip"
                else:
                    self.open(kind, number, control)
            elif tag == "SE":
                counted = number - start + 1
                if kind and _element(segment, 1) != str(counted):
                    self.note(number, "SE01", f"says {_element(segment, 1)[:10]!r} segments; the transaction has {counted}")
                if kind and kind != "skip":
                    self.close(kind)
                kind = ""
            elif kind == "835":
                self.remittance_segment(segment, number)
            elif kind == "837":
                self.claim_segment(segment, number)
        if kind:
            self.note(start, "SE", f"transaction {control} has no SE (the file may be cut short)")
            if kind != "skip":
                self.close(kind)
        if interchange_open:
            self.note(len(self.s.items), "IEA", "the interchange has no IEA (the file may be cut short)")

    # -- 835 ----------------------------------------------------------------------------------
    def open(self, kind: str, number: int, control: str) -> None:
        if kind == "835":
            self.payment: dict[str, object] = {
                "file": self.s.name,
                "transaction": control,
                "payer": "",
                "payer_id": "",
                "payer_ref": "",
                "trn_payer_id": "",
                "check_number": "",
                "payment_date": "",
                "payment_method": "",
                "payment_total": None,
                "payee": "",
                "payee_npi": "",
                "payee_zip": "",
                "plb": "",
            }
            self.party = ""
            self.claim: dict | None = None
            self.line: dict | None = None
            self.first_line = len(self.lines)
        else:
            self.claim837: dict | None = None
            self.party = ""
            self.header837 = {"payer": "", "payer_id": "", "filing_indicator": "", "billing_zip": "", "file": self.s.name}

    def close(self, kind: str) -> None:
        if kind == "835":
            self.end_claim()
            for line in self.lines[self.first_line :]:
                line.update({k: self.payment[k] for k in ("payer", "payer_id", "payer_ref", "trn_payer_id", "payee_zip")})
                line.update({k: self.payment[k] for k in ("check_number", "payment_date", "transaction", "file")})
            self.payments.append(self.payment)
            if self.payment["plb"]:
                self.notes.append(
                    f"{self.s.name}: payment {self.payment['check_number']} has provider-level adjustments (PLB "
                    f"{self.payment['plb']}); they are not attributed to lines"
                )

    def end_line(self) -> None:
        if self.line is not None and self.claim is not None:
            self.claim["lines"].append(self.line)
        self.line = None

    def end_claim(self) -> None:
        self.end_line()
        claim = self.claim
        if claim is None:
            return
        if not claim["lines"]:  # a claim without service lines: one row for the claim
            claim["lines"].append(self.new_line(claim["segment"], "", [], claim["charge"], claim["paid"], []))
            claim["no_lines"] = True
        for position, line in enumerate(claim["lines"], start=1):
            line["line"] = position
            line["claim_id"], line["claim_status"], line["claim_segment"] = claim["claim_id"], claim["status"], claim["segment"]
            line["filing_indicator"], line["payer_claim_number"] = claim["filing_indicator"], claim["payer_claim_number"]
            line["place_of_service"] = claim["place_of_service"]
            line["date"] = line["date"] or claim["date"]
            if position == 1:  # the claim's own adjustments count on its first line
                line["adjustments"] = claim["adjustments"] + line["adjustments"]
            line["claim_adjustments"] = " ".join(claim["adjustments"]) if position == 1 else ""
            line["claim_remarks"] = claim["remarks"]
            line["claim_paid"] = claim["paid"]
            line["problem"] = "; ".join(claim["problems"] + line["problem"])
            if claim.get("no_lines") and not line["problem"] and claim["status"] != "4":
                line["problem"] = f"segment {claim['segment']}, CLP: the claim has no service lines (SVC) to judge line by line"
            self.lines.append(line)
        self.claim = None

    def new_line(self, number: int, code: str, modifiers: list[str], charge, paid, problems: list[str]) -> dict:
        return {
            "segment": number,
            "code": code,
            "modifiers": " ".join(m for m in modifiers if m),
            "billed_code": "",
            "billed_modifiers": "",
            "units": "",
            "billed_units": "",
            "charge": charge,
            "paid": paid,
            "allowed": None,
            "date": "",
            "adjustments": [],
            "remarks": [],
            "problem": problems,
        }

    def remittance_segment(self, segment: list[str], number: int) -> None:
        tag, payment = segment[0], self.payment
        if tag == "BPR":
            payment["payment_total"] = cents(_element(segment, 2))
            payment["payment_method"] = _element(segment, 4)
            payment["payment_date"] = _date(_element(segment, 16))
        elif tag == "TRN":
            payment["check_number"], payment["trn_payer_id"] = _element(segment, 2), _element(segment, 3)
        elif tag == "N1":
            self.party = _element(segment, 1)
            if self.party == "PR":
                payment["payer"], payment["payer_id"] = _element(segment, 2), _element(segment, 4)
            elif self.party == "PE":
                payment["payee"], payment["payee_npi"] = _element(segment, 2), _element(segment, 4)
        elif tag == "N4" and self.party == "PE" and self.claim is None:
            payment["payee_zip"] = _element(segment, 3)[:5]
        elif tag == "REF" and self.claim is None and _element(segment, 1) == "2U":
            payment["payer_ref"] = _element(segment, 2)
        elif tag == "CLP":
            self.end_claim()
            problems: list[str] = []
            claim_id = _element(segment, 1)
            if not claim_id:
                problems.append(f"segment {number}, CLP01: the claim has no claim number")
            self.claim = {
                "segment": number,
                "claim_id": claim_id,
                "status": _element(segment, 2),
                "charge": self.amount(segment, 3, number, problems),
                "paid": self.amount(segment, 4, number, problems),
                "filing_indicator": _element(segment, 6),
                "payer_claim_number": _element(segment, 7),
                "place_of_service": _element(segment, 8)[:2],
                "date": "",
                "adjustments": [],
                "remarks": "",
                "problems": problems,
                "lines": [],
            }
        elif self.claim is None:
            if tag == "PLB":
                payment["plb"] = " ".join(filter(None, segment[3:]))
            return
        elif tag == "SVC":
            self.end_line()
            problems = []
            parts = self.composite(_element(segment, 1), number)
            code = parts[1] if len(parts) > 1 and parts[0] in ("HC", "HP", "ER", "WK", "AD", "N4") else ""
            if not code:
                problems.append(f"segment {number}, SVC01: {_element(segment, 1)[:30]!r} is not a HC:code composite")
            line = self.new_line(
                number,
                code,
                parts[2:6],
                self.amount(segment, 2, number, problems, required=True),
                self.amount(segment, 3, number, problems, required=True),
                problems,
            )
            line["units"] = _element(segment, 5)
            original = self.composite(_element(segment, 6), number)
            if len(original) > 1 and original[1]:
                line["billed_code"], line["billed_modifiers"] = original[1], " ".join(m for m in original[2:6] if m)
            line["billed_units"] = _element(segment, 7)
            self.line = line
        elif tag == "CAS":
            group = _element(segment, 1)
            target = self.line["adjustments"] if self.line is not None else self.claim["adjustments"]
            problems = self.line["problem"] if self.line is not None else self.claim["problems"]
            for at in CAS_TRIPLES:
                reason = _element(segment, at)
                if not reason:
                    continue
                value = self.amount(segment, at + 1, number, problems, required=True)
                if value is not None:
                    target.append(f"{group}-{reason}={value}")
        elif tag == "DTM":
            qualifier, day = _element(segment, 1), _date(_element(segment, 2))
            if self.line is not None and qualifier in ("472", "150"):
                self.line["date"] = day or self.line["date"]
            elif self.line is None and qualifier in ("232", "050") and not self.claim["date"]:
                self.claim["date"] = day if qualifier == "232" else ""
        elif tag == "AMT" and self.line is not None and _element(segment, 1) == "B6":
            self.line["allowed"] = self.amount(segment, 2, number, self.line["problem"])
        elif tag == "LQ" and self.line is not None and _element(segment, 1) == "HE":
            self.line["remarks"].append(_element(segment, 2))
        elif tag in ("MOA", "MIA"):
            positions = range(3, 8) if tag == "MOA" else (5, 20, 21, 22, 23)
            self.claim["remarks"] = " ".join(filter(None, (_element(segment, p) for p in positions)))

    # -- 837P ---------------------------------------------------------------------------------
    def claim_segment(self, segment: list[str], number: int) -> None:
        tag, header = segment[0], self.header837
        if tag == "NM1":
            self.party = _element(segment, 1)
            if self.party == "PR" and self.claim837 is None:  # 2010BB; after CLM it is another payer's (2330B)
                header["payer"], header["payer_id"] = _element(segment, 3), _element(segment, 9)
        elif tag == "N4":
            zip_code = _element(segment, 3)[:5]
            if self.party == "85":
                header["billing_zip"] = zip_code
            elif self.party == "77" and self.claim837 is not None:
                self.claim837["facility_zip"] = zip_code
        elif tag == "SBR" and self.claim837 is None:  # 2000B; after CLM it is another payer's (2320)
            header["filing_indicator"] = _element(segment, 9)
        elif tag == "HL":
            self.party, self.claim837 = "", None
        elif tag == "CLM":
            self.claim837 = {
                "claim_id": _element(segment, 1),
                "place_of_service": self.composite(_element(segment, 5), number)[0][:2],
                "facility_zip": "",
                "diagnoses": [],
                "segment": number,
            }
            if not self.claim837["claim_id"]:
                self.note(number, "CLM01", "the claim has no claim number; its lines are read without one")
        elif self.claim837 is None:
            return
        elif tag == "HI":
            for element in segment[1:13]:
                parts = self.composite(element, number)
                if len(parts) > 1 and parts[0] in ("ABK", "ABF", "BK", "BF"):
                    self.claim837["diagnoses"].append(parts[1])
        elif tag == "SV1":
            problems: list[str] = []
            parts = self.composite(_element(segment, 1), number)
            code = parts[1] if len(parts) > 1 and parts[0] in ("HC", "ER", "WK") else ""
            if not code:
                problems.append(f"segment {number}, SV101: {_element(segment, 1)[:30]!r} is not a HC:code composite")
            pointers = [p for p in self.composite(_element(segment, 7), number) if p]
            diagnoses = self.claim837["diagnoses"]
            chosen = [diagnoses[int(p) - 1] for p in pointers if p.isdigit() and 0 < int(p) <= len(diagnoses)]
            if len(chosen) < len(pointers):
                problems.append(f"segment {number}, SV107: a diagnosis pointer points to no diagnosis in HI")
            self.billed.append(
                {
                    "file": self.s.name,
                    "segment": number,
                    "claim_id": self.claim837["claim_id"],
                    "code": code,
                    "modifiers": " ".join(m for m in parts[2:6] if m),
                    "charge": self.amount(segment, 2, number, problems, required=True),
                    "units": _element(segment, 4),
                    "place_of_service": _element(segment, 5)[:2] or self.claim837["place_of_service"],
                    "date": "",
                    "diagnoses": " ".join(chosen),
                    "zip_code": self.claim837["facility_zip"] or header["billing_zip"],
                    "payer": header["payer"],
                    "payer_id": header["payer_id"],
                    "filing_indicator": header["filing_indicator"],
                    "problem": problems,
                }
            )
        elif (
            tag == "DTP"
            and _element(segment, 1) == "472"
            and self.billed
            and self.billed[-1]["segment"] > self.claim837["segment"]
        ):
            self.billed[-1]["date"] = _date(_element(segment, 3)[:8])


REMITTANCE_TEXT = [
    "file", "transaction", "payer", "payer_id", "payer_ref", "trn_payer_id", "payee_zip", "check_number", "payment_date",
    "claim_id", "claim_status", "filing_indicator", "payer_claim_number", "place_of_service", "code", "modifiers",
    "billed_code", "billed_modifiers", "units", "billed_units", "date", "adjustments", "remarks", "claim_adjustments",
    "claim_remarks", "problem",
]  # fmt: skip
REMITTANCE_CENTS = ["charge", "paid", "allowed", "claim_paid"]
CLAIM_TEXT = [
    "file", "claim_id", "code", "modifiers", "units", "place_of_service", "date", "diagnoses", "zip_code", "payer",
    "payer_id", "filing_indicator", "problem",
]  # fmt: skip


def _frame(rows: list[dict], text: list[str], money: list[str], numbers: list[str]) -> pd.DataFrame:
    table = (
        pd.DataFrame.from_records(rows, columns=text + money + numbers) if rows else pd.DataFrame(columns=text + money + numbers)
    )
    for name in text:
        values = table[name]
        if len(table) and values.map(type).eq(list).any():
            values = values.map(lambda v: " ".join(v) if isinstance(v, list) else v)
        table[name] = values.fillna("").astype(str)
    for name in money:
        table[name] = pd.array(table[name].tolist(), dtype="Int64")
    for name in numbers:
        table[name] = table[name].astype("int64")
    return table


def read_files(sources: list[tuple[str, bytes]]) -> Read:
    """Read 835 and 837P files given as (name, bytes); an unreadable file is an InputError."""
    notes: list[str] = []
    lines: list[dict] = []
    billed: list[dict] = []
    payments: list[dict] = []
    for index, (name, raw) in enumerate(sources):
        if len(raw) > MAX_BYTES:
            raise InputError(f"larger than {MAX_BYTES // 2**20} MB", file=name)
        if b"\x00" in raw[:4096]:
            raise InputError("a binary file, not X12 text (segment 1, ISA01)", file=name)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        walk = _Walk(split_segments(text, name), notes)
        walk.run()
        for row in walk.lines + walk.billed:
            row["file_index"] = index
        if not walk.payments and not walk.billed and not walk.lines:
            raise InputError("no 835 or 837 transaction (ST) in the file (segment 1, ST01)", file=name)
        lines += walk.lines
        billed += walk.billed
        payments += walk.payments
    remittance = _frame(lines, REMITTANCE_TEXT, REMITTANCE_CENTS, ["segment", "line", "claim_segment", "file_index"])
    claims = _frame(billed, CLAIM_TEXT, ["charge"], ["segment", "file_index"])
    paid = _frame(
        payments,
        [
            "file",
            "transaction",
            "payer",
            "payer_id",
            "payer_ref",
            "trn_payer_id",
            "check_number",
            "payment_date",
            "payment_method",
            "payee",
            "payee_npi",
            "payee_zip",
            "plb",
        ],  # fmt: skip
        ["payment_total"],
        [],
    )
    return Read(remittance, claims, paid, notes)


def read_paths(paths: list[Path]) -> Read:
    sources = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", file=path)
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"larger than {MAX_BYTES // 2**20} MB", file=path.name)
        sources.append((path.name, path.read_bytes()))
    return read_files(sources)


def validate(name: str, raw: bytes) -> list[dict]:
    """Structural errors against the 5010 implementation guide, by pyx12 (slow: about half a millisecond
    a segment). Each: file, segment (counted from the ISA), element, message."""
    import io
    import json
    import logging

    import pyx12.errh_json
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.params
    import pyx12.x12context

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # findings are returned, not printed
    errors = pyx12.error_handler.err_handler()
    text = raw.decode("latin-1")
    reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errors, io.StringIO(text))
    try:
        for _ in reader.iter_segments():
            pass
    except (pyx12.errors.EngineError, pyx12.errors.X12Error, pyx12.errors.IterOutOfBounds) as error:
        return [{"file": name, "segment": None, "element": "", "message": f"{name} not validated: {error}"}]
    buffer = io.StringIO()
    errors.accept(pyx12.errh_json.errh_json_visitor(buffer))
    found: list[dict] = []

    def collect(node: dict, where: str) -> None:
        for error in node.get("errors", []):
            found.append({"file": name, "segment": node.get("cur_line"), "element": where, "message": error["err_str"]})
        for key, label in (("groups", "GS"), ("transactions", "ST")):
            for child in node.get(key, []):
                collect(child, label)
        for segment in node.get("segments", []):
            collect({"errors": segment["errors"], "cur_line": segment["cur_line"]}, segment["seg_id"])
            for element in segment.get("elements", []):
                position = f"{segment['seg_id']}{element['ele_pos']:02d}" if element.get("ele_pos") else segment["seg_id"]
                collect({"errors": element.get("errors", []), "cur_line": segment["cur_line"]}, position)

    for interchange in json.loads(buffer.getvalue())["interchanges"]:
        collect(interchange, "ISA")
    return found


def synthetic_remittance(path: Path, lines: int) -> None:
    """An 835 of ``lines`` service lines (claims of 20552 and J3301 x 4 paid by Medicare Part B in
    Alabama, 2026-03-02), for the benchmark."""
    segments = [
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *260320*1200*^*00501*000000001*0*P*:",
        "GS*HP*PAYER*PRACTICE*20260320*1200*1*X*005010X221A1",
        "ST*835*0001",
        "BPR*I*0*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*062000019*DA*987654321*20260320",
        "TRN*1*BENCH0001*1512345678",
        "N1*PR*MEDICARE PART B",
        "N1*PE*BENCH CLINIC*XX*1234567893",
        "N4*BIRMINGHAM*AL*35203",
        "LX*1",
    ]
    claim = [
        "NM1*QC*1*DOE*JANE****MI*1EG4TE5MK73",
        "SVC*HC:20552*150.00*37.04**1",
        "DTM*472*20260302",
        "CAS*CO*45*102.75**253*0.76",
        "CAS*PR*2*9.45",
        "AMT*B6*47.25",
        "SVC*HC:J3301*20.00*2.32**4",
        "DTM*472*20260302",
        "CAS*CO*45*17.04**253*0.05",
        "CAS*PR*2*0.59",
        "AMT*B6*2.96",
    ]
    for number in range((lines + 1) // 2):
        segments += [f"CLP*B{number}*1*170.00*39.36*10.04*MB*ICN{number}*11*1", *claim]
    segments += [f"SE*{len(segments) - 1}*0001", "GE*1*1", "IEA*1*000000001"]
    Path(path).write_text("~\n".join(segments) + "~\n")
