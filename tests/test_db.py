"""The practice database: first run, names, exact money, migrations, killed and concurrent writers."""

import json
import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from estimator.contracts import Contract
from estimator.db import MIGRATIONS, Database
from estimator.errors import InputError

ROOT = __import__("pathlib").Path(__file__).parent.parent


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "practice.sqlite3"


def test_first_use_creates_schema_and_labelled_examples(db_path):
    database = Database(db_path)
    assert database.schema_version() == len(MIGRATIONS)
    contracts = database.contracts()
    assert len(contracts) == 5 and all(c.example for c in contracts)
    assert database.practice().example and "example" in database.practice().name.lower()
    Database(db_path)  # opening again neither migrates nor seeds twice
    assert len(Database(db_path).contracts()) == 5


def test_names_are_unique_and_imports_all_or_nothing(db_path):
    database = Database(db_path, seed_examples=False)
    database.add_contracts([Contract.from_dict({"payer": "Acme PPO"})])
    with pytest.raises(InputError, match="'acme ppo' is already taken"):
        database.add_contracts([Contract.from_dict({"payer": "acme ppo"})])
    with pytest.raises(InputError, match="already taken"):
        database.add_contracts([Contract.from_dict({"payer": "New One"}), Contract.from_dict({"payer": "Acme PPO"})])
    assert [c.payer for c in database.contracts()] == ["Acme PPO"]
    database.add_contracts([Contract.from_dict({"payer": "Acme PPO", "percent": "130"})], replace=True)
    assert database.contract("Acme PPO").percent == Decimal("130")
    with pytest.raises(InputError, match="no payer named 'Nobody'"):
        database.delete_contract("Nobody")


def test_money_is_stored_as_exact_text(db_path):
    database = Database(db_path, seed_examples=False)
    database.add_contracts(
        [
            Contract.from_dict(
                {"payer": "=cmd|' /C calc'!A0", "percent": "125.125", "fees": {"J3301": "0.10"}, "method": "fee_schedule"}
            )
        ]
    )
    stored = sqlite3.connect(db_path).execute("SELECT contract, typeof(contract) FROM payers").fetchone()
    assert stored[1] == "text" and json.loads(stored[0])["fees"] == {"J3301": "0.10"}
    contract = database.contracts()[0]
    assert contract.percent == Decimal("125.125") and contract.payer == "=cmd|' /C calc'!A0"


def test_database_from_a_newer_version_is_refused(db_path):
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(InputError, match="newer version"):
        Database(db_path)


def _python(code: str, db_path) -> subprocess.Popen:
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script, str(db_path)])


def test_a_writer_killed_mid_transaction_loses_nothing_and_leaves_no_half_write(db_path):
    Database(db_path, seed_examples=False).add_contracts([Contract.from_dict({"payer": "Kept"})])
    killed = _python(
        """
        import os, sys, json
        from estimator.db import Database
        from estimator.contracts import Contract
        database = Database(sys.argv[1], seed_examples=False)
        with database.transaction() as connection:
            database._insert(connection, Contract.from_dict({"payer": "Half written"}))
            connection.execute("DELETE FROM payers WHERE name = 'Kept'")
            os._exit(9)  # killed before COMMIT
    """,
        db_path,
    )
    assert killed.wait(60) == 9
    database = Database(db_path, seed_examples=False)
    assert [c.payer for c in database.contracts()] == ["Kept"]
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_writers_at_once_lose_nothing(db_path):
    Database(db_path, seed_examples=False)
    writer = """
        import sys
        from estimator.db import Database
        from estimator.contracts import Contract
        database = Database(sys.argv[1], seed_examples=False)
        for n in range(40):
            database.add_contracts([Contract.from_dict({"payer": f"%s {n}", "percent": str(100 + n)})])
    """
    writers = [_python(writer % name, db_path) for name in ("Alpha", "Beta")]
    assert [w.wait(120) for w in writers] == [0, 0]
    names = {c.payer for c in Database(db_path, seed_examples=False).contracts()}
    assert len(names) == 80 and {"Alpha 39", "Beta 0"} <= names


def test_killed_during_a_run_of_saves_the_database_is_intact_and_each_save_whole_or_absent(db_path):
    """SIGKILL at an arbitrary moment of many saves: integrity_check is ok and every payer reads whole."""
    import signal
    import time

    Database(db_path, seed_examples=False)
    writer = _python(
        """
        import sys
        from estimator.db import Database
        from estimator.contracts import Contract
        database = Database(sys.argv[1], seed_examples=False)
        for n in range(100000):
            database.add_contracts([Contract.from_dict({"payer": f"Payer {n}", "percent": str(100 + n % 50), "notes": "x" * 2000})])
    """,
        db_path,
    )
    time.sleep(3)
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(60) == -signal.SIGKILL
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    saved = Database(db_path, seed_examples=False).contracts()
    assert saved and all(c.notes == "x" * 2000 for c in saved)
    numbers = sorted(int(c.payer.split()[1]) for c in saved)
    assert numbers == list(range(len(numbers)))  # every save up to the kill, none half done


def test_a_database_of_an_older_schema_is_migrated_and_keeps_its_data(db_path):
    connection = sqlite3.connect(db_path)
    connection.executescript(MIGRATIONS[0])
    connection.execute(
        "INSERT INTO payers (name, kind, contract, updated_at) VALUES ('Old Plan', 'commercial', ?, '2025-01-01')",
        (json.dumps({"payer": "Old Plan", "percent": "120"}),),
    )
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()
    database = Database(db_path)
    assert database.schema_version() == len(MIGRATIONS)
    assert [c.payer for c in database.contracts()] == ["Old Plan"]  # not seeded over: it is not a new database
