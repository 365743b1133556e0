"""Text a user gives the product (files and fields), read without trusting it; text written to
spreadsheets and CSV files without letting it become a formula.

- Files must be UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark, and at
  most MAX_TEXT_BYTES; anything else is an InputError naming the file.
- YAML is read with the safe loader and without anchors or aliases (an alias "bomb" expands a few
  hundred bytes into gigabytes); JSON and YAML nested deeper than MAX_DEPTH are refused.
- Names and short fields hold no control characters.
- Cells written to CSV or xlsx that start with =, +, -, @, tab or carriage return and are not plain
  numbers get a leading apostrophe (OWASP "CSV injection"), so no spreadsheet runs them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

MAX_TEXT_BYTES = 5 * 2**20
MAX_DEPTH = 50
BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates (not the marks)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_START = "[=+\\-@\t\r]"  # what a spreadsheet runs as a formula when a cell starts with it
NUMBER = r"-?\d+(?:\.\d+)?"


def decode_text(raw: bytes, source: object) -> str:
    """UTF-8 (BOM optional) or UTF-16 with a BOM; anything else is refused with the file named."""
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(f"larger than {MAX_TEXT_BYTES // 2**20} MB", file=source)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("not readable UTF-16 text", file=source) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text (byte {error.start}); save the file as UTF-8", file=source) from None


def read_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    return decode_text(path.read_bytes(), path.name)


class _NoAliases(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise InputError("YAML anchors and aliases (*name) are not accepted", row=event.start_mark.line + 1)
        return super().compose_node(parent, index)


def _depth(value: Any, limit: int = MAX_DEPTH) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InputError(f"nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def load_yaml(text: str, source: object) -> Any:
    """YAML (or JSON, which is YAML) from a user's file, or an InputError naming file and row."""
    if len(text) > MAX_TEXT_BYTES:
        raise InputError(f"larger than {MAX_TEXT_BYTES // 2**20} MB", file=source)
    try:
        data = yaml.load(text, Loader=_NoAliases)
    except InputError as error:
        raise InputError(error.message, file=source, row=error.row) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(
            f"not valid YAML/JSON ({getattr(error, 'problem', None) or error})", file=source, row=mark.line + 1 if mark else None
        ) from None
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=source) from None
    try:
        _depth(data)
    except InputError as error:
        raise InputError(error.message, file=source) from None
    return data


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load_json(text: str, source: object) -> Any:
    """JSON with decimals kept exact, or an InputError naming file and line."""
    if len(text) > MAX_TEXT_BYTES:
        raise InputError(f"larger than {MAX_TEXT_BYTES // 2**20} MB", file=source)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg})", file=source, row=error.lineno) from None
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=source) from None
    try:
        _depth(data)
    except InputError as error:
        raise InputError(error.message, file=source) from None
    return data


def plain_text(value: Any, field: str, *, max_length: int, required: bool = True) -> str:
    """A name or short field: text without control characters, at most ``max_length`` characters."""
    if not isinstance(value, str | int | type(None)) or isinstance(value, bool):
        raise InputError(f"must be text, not {type(value).__name__}", field=field)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InputError(f"{field} is required", field=field)
    if len(text) > max_length:
        raise InputError(f"{len(text):,} characters; at most {max_length}", field=field)
    if CONTROL.search(text):
        raise InputError("contains a control character (a line break, tab or NUL)", field=field)
    if BIDI_OVERRIDE.search(text):
        raise InputError("contains a right-to-left override, which makes text display other than it reads", field=field)
    return text


def is_formula_text(text: str) -> bool:
    """Text a spreadsheet would run as a formula (a number such as -12.05 is not)."""
    return bool(re.match(FORMULA_START, text)) and not re.fullmatch(NUMBER, text)


def decimal_field(value: Any, field: str, *, places: int | None = None, low: Any = None, high: Any = None) -> Decimal:
    """A number given as text or a number (never through a binary float), checked against its bounds."""
    if isinstance(value, bool) or isinstance(value, float) and value != value:
        raise InputError(f"{value!r} is not a number", field=field)
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (ArithmeticError, ValueError):
        raise InputError(f"{str(value)[:40]!r} is not a number", field=field) from None
    if not number.is_finite():
        raise InputError(f"{value!r} is not a number", field=field)
    if places is not None and -int(number.as_tuple().exponent) > places:
        raise InputError(f"{value} has more than {places} decimals", field=field)
    if low is not None and number < low:
        raise InputError(f"{value} is below {low}" if low else f"{value} is negative", field=field)
    if high is not None and number > high:
        raise InputError(f"{value} is above the limit of {high}", field=field)
    return number
