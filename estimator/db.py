"""The practice's own data in an embedded SQLite database: practice, payer contracts, scenarios,
the payer IDs of remittances mapped to saved payers, and the remittances imported.

Created on first use in the user data folder (``TPI_ESTIMATOR_DB`` sets the file). The
schema is versioned and migrated forward in one transaction. Every write is one
``BEGIN IMMEDIATE`` transaction, so a killed process or two users saving at once lose
nothing; the journal is WAL. Money is stored as decimal text inside the records, never
as REAL. A new database gets an example practice and example payers, labelled as such.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from .contracts import Contract, Practice
from .errors import InputError
from .store import user_data_dir
from .textio import plain_text

MIGRATIONS = [
    """
    CREATE TABLE practice (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE payers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL,
        contract TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE scenarios (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE payer_ids (payer_id TEXT PRIMARY KEY COLLATE NOCASE, payer TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE remittances (
        id INTEGER PRIMARY KEY,
        payment_key TEXT NOT NULL UNIQUE,
        file TEXT NOT NULL,
        payer TEXT NOT NULL,
        check_number TEXT NOT NULL,
        payment_date TEXT NOT NULL,
        lines TEXT NOT NULL,
        imported_at TEXT NOT NULL
    );
    """,
]

EXAMPLE_PRACTICE = {
    "name": "Example Pain Clinic (example data)",
    "zip_code": "35203",
    "participating": True,
    "charges": {
        "20552": "150.00",
        "20553": "180.00",
        "76942": "200.00",
        "77002": "250.00",
        "99213": "160.00",
        "99214": "220.00",
        "J3301": "5.00",
        "J1010": "1.00",
        "J0585": "12.00",
    },
    "example": True,
}
EXAMPLE_CONTRACTS = [
    {
        "payer": "Medicare (traditional)",
        "kind": "medicare",
        "method": "medicare",
        "example": True,
        "notes": "Traditional Medicare: PFS and ASP amounts, Part B deductible and 20% coinsurance, 2% sequestration.",
    },
    {
        "payer": "Example Medicare Advantage plan",
        "kind": "medicare_advantage",
        "percent": "100",
        "coinsurance_percent": "20",
        "sequestration": True,
        "prior_authorization": True,
        "frequency_rule": "three_per_12_months",
        "example": True,
        "notes": "Illustrative: 100% of Medicare, rolling year, sequestration passed through, prior authorization.",
    },
    {
        "payer": "Example Commercial PPO",
        "kind": "commercial",
        "percent": "125",
        "medicare_year": 2025,
        "drug_method": "asp_plus",
        "drug_percent": "10",
        "copay": "30",
        "coinsurance_percent": "10",
        "lesser_of_billed": True,
        "guidance_covered": False,
        "frequency_rule": "three_in_90_days",
        "example": True,
        "notes": "Illustrative: 125% of 2025 Medicare, drugs at ASP + 10%, no guidance for TPIs, lesser of billed.",
    },
    {
        "payer": "Example State Medicaid",
        "kind": "medicaid",
        "method": "fee_schedule",
        "fees": {"20552": "32.00", "20553": "38.00", "J3301": "0.70"},
        "em_25_paid": False,
        "example": True,
        "notes": "Illustrative fixed fees; E/M with modifier 25 bundled.",
    },
    {
        "payer": "Self-pay (cash)",
        "kind": "self_pay",
        "method": "percent_of_charges",
        "percent": "60",
        "coinsurance_percent": "100",
        "example": True,
        "notes": "Illustrative: 60% of charges, paid by the patient.",
    },
]


def _contract(text: str) -> Contract:
    try:
        return Contract.from_dict(json.loads(text))
    except (ValueError, TypeError) as error:  # InputError is a ValueError
        raise InputError(str(error)[:300]) from None


def _database_error(error: sqlite3.Error, path: Path) -> InputError:
    """What a user can do about a database fault."""
    code = getattr(error, "sqlite_errorname", "")
    if code.startswith("SQLITE_READONLY"):
        return InputError("the practice database is read-only: nothing was saved (check the file's permissions)", file=path)
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "no such" in str(error):
        return InputError(f"the practice database is damaged ({error}); move the file aside to start a new one", file=path)
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return InputError("the practice database is busy (another program is saving); try again", file=path)
    return InputError(f"the practice database cannot be used ({error})", file=path)


def database_path() -> Path:
    return Path(os.environ.get("TPI_ESTIMATOR_DB") or user_data_dir() / "practice.sqlite3")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Database:
    """Practice, payers and scenarios; every method is one transaction."""

    def __init__(self, path: Path | None = None, *, seed_examples: bool = True):
        self.path = Path(path or database_path())
        self.broken: list[str] = []  # saved payers that no longer read as a contract (see contracts())
        if self.path.is_dir():
            raise InputError("is a folder, not a database file (set TPI_ESTIMATOR_DB to a file)", file=self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot create the database folder ({error.strerror})", file=self.path.parent) from None
        with self.transaction() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise InputError(f"the database was written by a newer version (schema {version})", file=self.path)
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
            if version == 0 and seed_examples:
                self._write_practice(connection, Practice.from_dict(EXAMPLE_PRACTICE))
                for data in EXAMPLE_CONTRACTS:
                    self._insert(connection, Contract.from_dict(data))

    @contextmanager
    def transaction(self):
        """One BEGIN IMMEDIATE transaction; a database that cannot be read or written is an InputError
        naming the file, never a traceback."""
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as error:
            raise InputError(f"the practice database cannot be opened ({error})", file=self.path) from None
        try:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _database_error(error, self.path) from None
            try:
                yield connection
            except sqlite3.Error as error:
                connection.execute("ROLLBACK")
                raise _database_error(error, self.path) from None
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise _database_error(error, self.path) from None
        finally:
            connection.close()

    def schema_version(self) -> int:
        with self.transaction() as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]

    # practice
    def practice(self) -> Practice:
        with self.transaction() as connection:
            row = connection.execute("SELECT data FROM practice WHERE id = 1").fetchone()
        if row is None:
            raise InputError("no practice is saved yet", field="practice")
        try:
            return Practice.from_dict(json.loads(row[0]))
        except (ValueError, TypeError) as error:
            raise InputError(f"the saved practice cannot be read ({error}); import it again", file=self.path) from None

    def save_practice(self, practice: Practice) -> None:
        with self.transaction() as connection:
            self._write_practice(connection, practice)

    @staticmethod
    def _write_practice(connection, practice: Practice) -> None:
        connection.execute(
            "INSERT INTO practice (id, data, updated_at) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (json.dumps(practice.to_dict()), _now()),
        )

    # payers
    def contracts(self) -> list[Contract]:
        """Every saved payer that reads as a valid contract. A row broken by hand (or by an older
        version) is left out and named in ``broken``, so one bad payer never stops the others."""
        with self.transaction() as connection:
            rows = connection.execute("SELECT name, contract FROM payers ORDER BY id").fetchall()
        contracts, self.broken = [], []
        for name, text in rows:
            try:
                contracts.append(_contract(text))
            except InputError as error:
                self.broken.append(f"saved payer {name!r} cannot be read ({error}); edit or delete it")
        return contracts

    def contract(self, name: str) -> Contract:
        with self.transaction() as connection:
            row = connection.execute("SELECT contract FROM payers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise InputError(f"no payer named {name!r}", field="payer")
        return _contract(row[0])

    def add_contracts(self, contracts: list[Contract], *, replace: bool = False) -> None:
        """Add payers (all or none). A name already taken is an error unless ``replace``."""
        with self.transaction() as connection:
            for contract in contracts:
                taken = connection.execute("SELECT 1 FROM payers WHERE name = ?", (contract.payer,)).fetchone()
                if taken and not replace:
                    raise InputError(
                        f"payer name {contract.payer!r} is already taken (choose another name, or replace it)", field="payer"
                    )
                if taken:
                    connection.execute(
                        "UPDATE payers SET kind = ?, contract = ?, updated_at = ? WHERE name = ?",
                        (contract.kind, json.dumps(contract.to_dict()), _now(), contract.payer),
                    )
                else:
                    self._insert(connection, contract)

    def rename_or_update(self, old_name: str, contract: Contract) -> None:
        """Save an edited contract under ``old_name`` (its name may change, to a free one)."""
        with self.transaction() as connection:
            if connection.execute("SELECT 1 FROM payers WHERE name = ?", (old_name,)).fetchone() is None:
                raise InputError(f"no payer named {old_name!r}", field="payer")
            clash = connection.execute("SELECT 1 FROM payers WHERE name = ? AND name <> ?", (contract.payer, old_name)).fetchone()
            if clash:
                raise InputError(f"payer name {contract.payer!r} is already taken", field="payer")
            connection.execute(
                "UPDATE payers SET name = ?, kind = ?, contract = ?, updated_at = ? WHERE name = ?",
                (contract.payer, contract.kind, json.dumps(contract.to_dict()), _now(), old_name),
            )

    def delete_contract(self, name: str) -> None:
        with self.transaction() as connection:
            if connection.execute("DELETE FROM payers WHERE name = ?", (name,)).rowcount == 0:
                raise InputError(f"no payer named {name!r}", field="payer")

    @staticmethod
    def _insert(connection, contract: Contract) -> None:
        connection.execute(
            "INSERT INTO payers (name, kind, contract, updated_at) VALUES (?, ?, ?, ?)",
            (contract.payer, contract.kind, json.dumps(contract.to_dict()), _now()),
        )

    # scenarios
    def scenarios(self) -> dict[str, dict]:
        with self.transaction() as connection:
            return {n: json.loads(d) for n, d in connection.execute("SELECT name, data FROM scenarios ORDER BY id")}

    def save_scenario(self, name: str, data: dict) -> None:
        if not name.strip():
            raise InputError("a scenario needs a name", field="name")
        with self.transaction() as connection:
            connection.execute(
                "INSERT INTO scenarios (name, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                (name.strip(), json.dumps(data), _now()),
            )

    # remittances
    def payer_ids(self) -> dict[str, str]:
        """The remittance payer IDs the user has mapped to saved payers."""
        with self.transaction() as connection:
            return dict(connection.execute("SELECT payer_id, payer FROM payer_ids ORDER BY payer_id").fetchall())

    def map_payer_id(self, payer_id: str, payer: str) -> None:
        """Map a payer ID of the 835 (REF*2U, N1*PR N104 or TRN03) to a saved payer."""
        payer_id = plain_text(payer_id, "payer_id", max_length=80)
        with self.transaction() as connection:
            if connection.execute("SELECT 1 FROM payers WHERE name = ?", (payer,)).fetchone() is None:
                raise InputError(f"no saved payer named {str(payer)[:100]!r}", field="payer")
            connection.execute(
                "INSERT INTO payer_ids (payer_id, payer, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(payer_id) DO UPDATE SET payer = excluded.payer, updated_at = excluded.updated_at",
                (payer_id, payer, _now()),
            )

    def unmap_payer_id(self, payer_id: str) -> None:
        with self.transaction() as connection:
            if connection.execute("DELETE FROM payer_ids WHERE payer_id = ?", (payer_id,)).rowcount == 0:
                raise InputError(f"payer ID {payer_id[:80]!r} is not mapped", field="payer_id")

    def save_remittances(self, payments: list[dict]) -> list[dict]:
        """Keep each payment (``key``, ``file``, ``payer``, ``check_number``, ``payment_date``, ``lines``:
        its worklist rows) unless one with the same key is already kept. All in one transaction; returns
        the payments already imported, each with when and from which file."""
        duplicates = []
        with self.transaction() as connection:
            for payment in payments:
                found = connection.execute(
                    "SELECT file, imported_at FROM remittances WHERE payment_key = ?", (payment["key"],)
                ).fetchone()
                if found:
                    duplicates.append({**payment, "first_file": found[0], "imported_at": found[1]})
                    continue
                connection.execute(
                    "INSERT INTO remittances (payment_key, file, payer, check_number, payment_date, lines, imported_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (payment["key"], payment["file"], payment["payer"], payment["check_number"], payment["payment_date"],
                     json.dumps(payment["lines"]), _now()),
                )  # fmt: skip
        return duplicates

    def remittance_lines(self) -> list[dict]:
        """Every kept worklist row, oldest payment first."""
        with self.transaction() as connection:
            rows = connection.execute("SELECT lines FROM remittances ORDER BY id").fetchall()
        return [line for (text,) in rows for line in json.loads(text)]
