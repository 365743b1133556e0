"""One error type for bad input, saying where the problem is."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a malformed file, an unknown code, a dose that makes no sense.

    ``row`` is the row number a spreadsheet shows (1-based, counting preamble rows);
    ``field`` is the column or input field. The message is meant for the user as is.
    """

    def __init__(self, message: str, *, file: object = None, row: int | None = None, field: str | None = None):
        self.message, self.file, self.row, self.field = message, file, row, field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [str(part) for part in (self.file,) if part]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message
