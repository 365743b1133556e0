"""Command line: python -m estimator COMMAND ... (see --help)."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import contextmanager
from pathlib import Path

import click
import pandas as pd
import yaml

from .errors import InputError
from .store import SHIPPED, FeeSchedules, import_files, user_data_dir


class Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-03-02", param, ctx)


DATE = Date()


class Command(click.Group):
    """Bad input ends with its message and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=Command)
def main():
    """Trigger point injection reimbursement estimator and Medicare fee-schedule calculator."""


@main.command("import-cms")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), help="Store here instead of the user data folder.")
@click.option("--effective-from", type=DATE, help="When the file does not state it (e.g. OPPSCAP).")
@click.option("--effective-to", type=DATE)
@click.option("--vintage", help="Name of the stored vintage (default: from the file, e.g. RVU26C).")
@click.option("--note", default="", help="Kept with the vintage's source record.")
@click.option("--replace", is_flag=True, help="Overwrite a stored vintage of the same name.")
def import_cms(files, data_dir, **options):
    """Validate official CMS files and store each as a vintage picked by date of service.

    Reads PPRRVU (csv/xlsx), GPCI (Addendum E), LOCCO, ZIP5 (txt/xlsx), ASP payment limits,
    OPPS Addendum B, OPPSCAP and ASC Addenda AA/BB. Every file is checked before any is
    stored; a bad file names its row and column and nothing is imported.
    """
    root = data_dir or user_data_dir()
    for folder in import_files(list(files), root, **options):
        source = yaml.safe_load((folder / "source.yaml").read_text())
        click.echo(
            f"stored {source['vintage']} ({source['title']}, {source['rows']} rows, "
            f"{source['effective_from']} to {source['effective_to']}) in {folder}"
        )
        in_force = FeeSchedules().in_force(source["kind"], source["effective_from"])
        if in_force.name != source["vintage"]:
            click.echo(
                f"note: {in_force.name} ({in_force.source['release'] or 'a later file'}) stays in force from "
                f"{source['effective_from']}: it takes effect the same day or later, or is a later release"
            )


@main.command("build-fee-schedules")
@click.option(
    "--cms",
    "cms_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding the CMS files named in fee_schedules/recipe.yaml.",
)
def build_fee_schedules(cms_dir):
    """Rebuild the shipped fee_schedules/tables from the CMS files, through the importer."""
    for entry in yaml.safe_load((SHIPPED / "recipe.yaml").read_text()):
        options = {k: entry[k] for k in ("effective_from", "effective_to", "vintage") if k in entry}
        (folder,) = import_files(
            [cms_dir / entry["file"]], SHIPPED, note=entry.get("note", ""), origin=entry["origin"], replace=True, **options
        )
        click.echo(f"built {folder.relative_to(SHIPPED)}")


@main.command("vintages")
def vintages():
    """List the loaded CMS vintages, their sources and effective dates."""
    schedules, today = FeeSchedules(), dt.date.today()
    for v in sorted(schedules.vintages, key=lambda v: (v.kind, v.effective_from)):
        where = "shipped" if v.shipped else "imported"
        current = "  (in force today)" if v.covers(today) and schedules.in_force(v.kind, today) == v else ""
        click.echo(f"{v.kind:9} {v.name:15} {v.effective_from} to {v.effective_to}  {where}  {v.source['source_file']}{current}")


@main.group("data")
def data_group():
    """The CMS data held: what, for which dates, and whether it is sound."""


@data_group.command("check")
@click.option("--year", type=click.IntRange(2000, 2100), default=dt.date.today().year, show_default=True)
def data_check(year):
    """List the files held per kind, the gaps in YEAR, and check checksums, tables, overlaps, parameters
    and policies. Exit code 1 when a check fails."""
    from .datacheck import gaps, held, problems

    schedules = FeeSchedules()
    click.echo(pd.DataFrame(held(schedules)).to_string(index=False))
    missing = gaps(schedules, year)
    click.echo(f"\n{year}: " + ("every kind has a file in force every day" if not missing else "days without a file in force"))
    if missing:
        click.echo(pd.DataFrame(missing).to_string(index=False))
    found = problems(schedules)
    click.echo(f"\nchecks: {'all passed' if not found else f'{len(found)} problem(s)'}")
    for finding in found:
        click.echo(f"problem: {finding.check}: {finding.subject}: {finding.problem}")
    if found:
        sys.exit(1)


@main.command("policies")
def policies_command():
    """The frequency presets and covered-diagnosis lists a contract can name, with their sources."""
    from .policies import diagnosis_lists, limits, presets

    click.echo("frequency presets (frequency_rule: NAME in a contract, or frequency: [{at_most: N, days: D}]):")
    for name, preset in presets().items():
        click.echo(f"  {name:32} {'; '.join(limit.describe() for limit in limits(name)):40} {preset['description']}")
    click.echo("\ncovered-diagnosis lists (covered_diagnoses: NAME in a contract, or a list of codes):")
    for name, listed in diagnosis_lists().items():
        flag = " [example]" if listed.get("example") else (" [not yet verified]" if listed.get("verified") is False else "")
        click.echo(f"  {name:32} {len(listed['codes']):3} codes  {listed['title']}{flag}")
    from .proposals import proposals

    click.echo("\nproposed rules (compare --proposal NAME; proposal: NAME in a forecast scenario):")
    for name, rule in proposals().items():
        click.echo(f"  {name:32} {rule.title}: {'; '.join(rule.reference)}")


@main.command("fee-schedule")
@click.option("--date", "day", type=DATE, required=True, help="Date of service.")
@click.option("--locality", help="Carrier-locality, e.g. 10112-00.")
@click.option("--zip", "zip_code", help="ZIP code (mapped with the CMS ZIP5 file).")
@click.option("--national", is_flag=True, help="National amounts (all GPCIs 1.000); the default.")
@click.option("--all-localities", is_flag=True, help="Every Medicare locality.")
@click.option("--codes", help="Comma-separated HCPCS, e.g. 20552,20553,76942-26 (default: all codes).")
@click.option(
    "--cf-track",
    type=click.Choice(["standard", "qualifying_apm"]),
    default="standard",
    help="Conversion factor: standard, or qualifying APM participant (2026 on).",
)
@click.option("--work-gpci-floor", type=click.Choice(["on", "off"]), help="Override the dated 1.0 work GPCI floor rule.")
@click.option("--output", type=click.Path(path_type=Path), help="Write .csv, .parquet or .xlsx (default: CSV to stdout).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), help="Output format (default: from --output).")
def fee_schedule(day, locality, zip_code, national, all_localities, codes, cf_track, work_gpci_floor, output, fmt):
    """Priced Medicare PFS schedule: par, non-par and limiting charge, office and facility.

    Amounts are exact to the cent (Parquet: DECIMAL(18, 2)); the README lists every column."""
    from .export import output_format
    from .pfs import price, resolve_locality, schedule_table

    schedules = FeeSchedules()
    if sum(map(bool, (locality, zip_code, national, all_localities))) > 1:
        raise InputError("give one of --locality, --zip, --national, --all-localities", field="locality")
    where: str | list[tuple[str, str]] = "all" if all_localities else "national"
    if locality or zip_code:
        where = [resolve_locality(schedules, day, zip_code=zip_code, locality=locality)]
    floor = None if work_gpci_floor is None else work_gpci_floor == "on"
    output_format(output, fmt)  # a wrong --output or --format is said before any work
    frame, basis = price(
        schedules, day, codes=codes.split(",") if codes else None, localities=where, cf_track=cf_track, work_gpci_floor=floor
    )
    for note in basis.notes():
        click.echo(f"note: {note}", err=True)
    write_table(schedule_table(frame, basis), output, "Fee schedule", fmt)


SESSION_OPTIONS = [
    click.option("--date", "day", type=DATE, help="Date of service."),
    click.option("--pos", "place_of_service", type=click.Choice(["11", "19", "22", "24"]), help="Place of service (11 office)."),
    click.option("--zip", "zip_code", help="ZIP code of the place of service."),
    click.option("--locality", help="Carrier-locality, e.g. 10112-00."),
    click.option("--muscles", "muscle_count", type=int, help="Number of distinct muscles injected."),
    click.option("--muscle", "muscles", multiple=True, help="A muscle as NAME:SIDE (repeat), e.g. trapezius:left."),
    click.option("--injections", type=int, help="Number of injections (recorded; never changes the code)."),
    click.option("--guidance", type=click.Choice(["none", "ultrasound", "fluoroscopy"]), help="Imaging guidance."),
    click.option("--drug", "drugs", multiple=True, help="NAME:DOSEUNIT[:WASTED], e.g. triamcinolone:40mg (repeat)."),
    click.option("--em", "em_code", help="Same-day office E/M code (99202-99215)."),
    click.option(
        "--em-separate",
        "em_separately_identifiable",
        is_flag=True,
        default=None,
        help="The E/M is significant and separately identifiable (modifier 25).",
    ),
    click.option("--dx", "diagnoses", multiple=True, help="ICD-10-CM diagnosis (repeat)."),
    click.option("--repeat", type=click.Choice(["same_physician", "another_physician"]), help="Repeat session (76 / 77)."),
    click.option("--prior", "prior_sessions", multiple=True, help="Date of a prior TPI session (repeat)."),
    click.option("--deductible", "deductible_remaining", help="Patient's remaining Part B deductible in dollars."),
    click.option("--nonpar", is_flag=True, default=None, help="The provider does not participate in Medicare."),
    click.option("--cf-track", type=click.Choice(["standard", "qualifying_apm"])),
]


def session_options(command):
    for option in reversed(SESSION_OPTIONS):
        command = option(command)
    return command


def read_json(file: Path):
    from .textio import load_json, read_text

    return load_json(read_text(file), file.name)


@contextmanager
def naming(file: Path | None):
    """An error about the session read from ``file`` names the file (the field is already named); one
    about the saved payers does not."""
    try:
        yield
    except InputError as error:
        if file is None or error.file or error.field == "payers":
            raise
        raise InputError(error.message, file=file.name, row=error.row, field=error.field) from None


def session_data(data: dict, day, nonpar, flags: dict) -> dict:
    """A session's fields from a JSON object, overridden by command-line flags."""
    if not isinstance(data, dict):
        raise InputError("the session must be a JSON object", field="session")
    data = dict(data)
    if day:
        data["date_of_service"] = day.isoformat()
    if nonpar:
        data["participating"] = False
    for name, value in flags.items():
        if value not in (None, ()):
            data[name] = list(value) if isinstance(value, tuple) else value
    return data


@main.command("session")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@session_options
@click.option("--json", "as_json", is_flag=True, help="Print the claim as JSON.")
def session_command(file, as_json, nonpar, day, **flags):
    """Estimate the Medicare claim of one trigger point session (from FILE.json and/or flags)."""
    from .session import Session, estimate

    data = session_data(read_json(file) if file else {}, day, nonpar, flags)
    with naming(file):
        claim = estimate(FeeSchedules(), Session.from_dict(data))
    if as_json:
        click.echo(claim.to_json())
        return
    click.echo(f"{claim.session.date_of_service}  {claim.setting}  locality {claim.locality}")
    table = claim.to_frame()[
        [
            "code",
            "modifiers",
            "units",
            "biller",
            "allowed",
            "patient_share",
            "payer_payment",
            "sequestration",
            "expected_to_provider",
            "edit",
            "reason",
            "release",
        ]
    ]
    click.echo(table.to_string(index=False, max_colwidth=90))
    totals = claim.totals()
    click.echo("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for warning in claim.warnings:
        click.echo(f"warning: {warning}")
    for note in claim.notes:
        click.echo(f"note: {note}")
    click.echo("\nsame session by site of service:")
    click.echo(pd.DataFrame(claim.sites).drop(columns="notes").to_string(index=False))


# -- payers, practice, comparison, forecast -------------------------------------------------


@main.group()
def payers():
    """Payer contracts saved in the practice database (see TPI_ESTIMATOR_DB)."""


@payers.command("list")
def payers_list():
    """One line per saved payer."""
    from .db import Database

    for c in saved_contracts(Database()):
        basis = {
            "medicare": "Medicare PFS/ASP",
            "percent_of_medicare": f"{c.percent}% of Medicare" + (f" {c.medicare_year}" if c.medicare_year else " (rolling)"),
            "fee_schedule": f"fee schedule ({len(c.fees)} codes)",
            "percent_of_charges": f"{c.percent}% of charges",
            "dollars_per_rvu": f"${c.dollars_per_rvu} per RVU",
        }[c.method.value]
        click.echo(f"{c.payer:40} {c.kind.value:19} {basis}{'  [example]' if c.example else ''}")


def saved_contracts(database) -> list:
    """The saved payers that read as contracts; each one that does not is named on stderr."""
    contracts = database.contracts()
    for problem in database.broken:
        click.echo(f"warning: {problem}", err=True)
    return contracts


@payers.command("show")
@click.argument("name")
def payers_show(name):
    """A payer's contract as YAML."""
    from .contracts import dump_contracts
    from .db import Database

    click.echo(dump_contracts([Database().contract(name)]), nl=False)


@payers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite payers of the same name.")
def payers_import(file, replace):
    """Add contracts from a YAML or JSON file (all or none)."""
    from .contracts import load_contracts
    from .db import Database
    from .textio import read_text

    contracts = load_contracts(read_text(file), file.name)
    Database().add_contracts(contracts, replace=replace)
    click.echo(f"imported {len(contracts)} contract(s): {', '.join(c.payer for c in contracts)}")


@payers.command("export")
@click.option("--output", type=click.Path(path_type=Path), help="Write to a .yaml or .json file (default: stdout).")
def payers_export(output):
    """All contracts as YAML (or JSON when the output ends in .json)."""
    from .contracts import dump_contracts
    from .db import Database

    text = dump_contracts(saved_contracts(Database()), as_json=bool(output and output.suffix.lower() == ".json"))
    if output:
        write_file(output, text.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@payers.command("delete")
@click.argument("name")
def payers_delete(name):
    """Delete a saved payer."""
    from .db import Database

    Database().delete_contract(name)
    click.echo(f"deleted {name}")


@payers.command("map")
@click.argument("payer_id", required=False)
@click.argument("name", required=False)
@click.option("--remove", is_flag=True, help="Forget the mapping of PAYER_ID.")
def payers_map(payer_id, name, remove):
    """Map a remittance payer ID (835 REF*2U, N1*PR or TRN03) to a saved payer; no arguments: list the mappings."""
    from .db import Database

    database = Database()
    if remove:
        if not payer_id or name:
            raise InputError("give only the payer ID to forget", field="--remove")
        database.unmap_payer_id(payer_id)
        click.echo(f"payer ID {payer_id} is no longer mapped")
    elif payer_id and name:
        database.map_payer_id(payer_id, name)
        click.echo(f"payer ID {payer_id} -> {name}")
    elif payer_id:
        raise InputError("give the payer ID and the saved payer's name", field="NAME")
    for known, payer in database.payer_ids().items():
        click.echo(f"{known}\t{payer}")


@payers.command("fees")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", "day", type=DATE, default=dt.date.today, help="Check codes against the files in force then.")
def payers_fees(name, file, day):
    """Load a payer's fee schedule (CSV/XLSX: code [, modifier], amount) into its contract."""
    from .contracts import Contract
    from .db import Database
    from .uploads import read_fee_schedule

    known = FeeSchedules().known_codes(day)
    database = Database()
    contract = database.contract(name)
    fees = read_fee_schedule(file, known)
    updated = Contract.from_dict(contract.to_dict() | {"fees": {k: str(v) for k, v in fees.items()}, "method": "fee_schedule"})
    database.add_contracts([updated], replace=True)
    click.echo(f"{name}: {len(fees)} fees loaded; the contract now pays by fee schedule")


@main.group()
def practice():
    """The practice: location, participation, CF track, charge master."""


@practice.command("show")
def practice_show():
    from .db import Database

    click.echo(yaml.safe_dump(Database().practice().to_dict(), sort_keys=False), nl=False)


@practice.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def practice_import(file):
    """Replace the practice from a YAML or JSON file."""
    from .contracts import Practice
    from .db import Database
    from .pfs import check_location
    from .textio import load_yaml, read_text

    data = load_yaml(read_text(file), file.name)
    try:
        practice = Practice.from_dict(data)
        check_location(FeeSchedules(), practice.zip_code, practice.locality)
    except InputError as error:
        raise InputError(error.message, file=file.name, field=error.field) from None
    Database().save_practice(practice)
    click.echo(f"saved practice {practice.name}")


def mix_items(schedules, mix: list, base: dict, day, flags: dict, codes: str | None) -> list:
    """The comparison items of a session mix; an error names the mix entry (its row)."""
    from .compare import codes_item, session_item
    from .session import Session

    items = []
    for number, entry in enumerate(mix, start=1):
        try:
            count = entry.get("count", 1) if isinstance(entry, dict) else None
            if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1_000_000:
                raise InputError(f"{str(count)[:20]!r}: a count is a whole number of sessions from 1 to 1,000,000", field="count")
            if not isinstance(entry.get("session", {}), dict):
                raise InputError("each session of a mix must be a JSON object", field="session")
            data = session_data(base | entry.get("session", {}), day, None, flags)
            if codes:
                data.setdefault("muscle_count", 1)
            session = Session.from_dict(data)
            items.append(codes_item(codes.split(","), session, count) if codes else session_item(schedules, session, count))
        except InputError as error:
            where = f"mix entry {number}: " if len(mix) > 1 else ""
            raise InputError(where + error.message, file=error.file, row=error.row, field=error.field) from None
    return items


@main.command("compare")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@session_options
@click.option("--codes", help="Compare a list of PFS codes instead of a session, e.g. 20552,76942.")
@click.option("--payers", "payer_names", help="Comma-separated payer names (default: every saved payer).")
@click.option("--lines", "show_lines", is_flag=True, help="Also print every payer's claim lines.")
@click.option("--output", type=click.Path(path_type=Path), help="Write the per-line comparison to .csv, .parquet or .xlsx.")
@click.option(
    "--proposal",
    help="Also price under a proposed rule, side by side (python -m estimator policies lists them), e.g. cy2027_pfs_proposed.",
)
def compare_command(file, codes, payer_names, show_lines, output, proposal, nonpar, day, **flags):
    """Compare saved payers for one session, a session mix ({"mix": [{"count": N, "session": {...}}]}) or --codes."""
    from dataclasses import replace

    from .compare import compare
    from .db import Database

    database, schedules = Database(), FeeSchedules()
    practice_ = database.practice()
    if nonpar:
        practice_ = replace(practice_, participating=False)
    contracts = saved_contracts(database)
    if payer_names:
        contracts = [database.contract(n.strip()) for n in payer_names.split(",")]
    where = {k: v for k, v in (("zip_code", practice_.zip_code), ("locality", practice_.locality)) if v}
    base = {"participating": practice_.participating, "cf_track": practice_.cf_track} | where
    raw = read_json(file) if file else {}
    if not isinstance(raw, dict):
        raise InputError('the file must hold a session (a JSON object) or {"mix": [...]}', file=file.name if file else None)
    mix = raw.get("mix", [{"count": 1, "session": raw}])
    if not isinstance(mix, list) or not mix or len(mix) > 100:
        raise InputError('a mix is a list of 1 to 100 {"count": N, "session": {...}}', field="mix")
    with naming(file):
        items = mix_items(schedules, mix, base, day, flags, codes)
        totals, lines = compare(schedules, items, contracts, practice_)
        if proposal:
            from .proposals import proposal as named

            rule = named(proposal)
            proposed, proposed_lines = compare(schedules, items, contracts, practice_, proposal)
            lines = pd.concat([lines.assign(scenario="current"), proposed_lines.assign(scenario=proposal)], ignore_index=True)
    shown = totals[
        [
            "rank",
            "payer",
            "kind",
            "allowed",
            "patient_share",
            "payer_payment",
            "sequestration",
            "expected",
            "collected",
            "cost",
            "margin",
            "percent_of_medicare",
            "difference_to_best",
        ]
    ]
    click.echo(shown.to_string(index=False))
    if proposal:
        side = totals[["payer", "expected"]].merge(proposed[["payer", "expected"]], on="payer", suffixes=("", "_proposed"))
        side["change"] = side["expected_proposed"] - side["expected"]
        click.echo(f"\nunder {rule.title}, a proposal ({'; '.join(rule.reference)}):")
        click.echo(side.to_string(index=False))
    for row in totals.itertuples():
        if row.reasons or row.warnings:
            click.echo(f"\n{row.payer}: " + " ".join(part for part in (row.reasons, row.warnings) if part))
    if show_lines:
        click.echo(
            "\n"
            + lines[["payer", "item", "code", "modifiers", "units", "allowed", "patient_share", "edit", "reason"]].to_string(
                index=False
            )
        )
    if output:
        write_table(lines, output, "Payer comparison")


def write_file(output: Path, content: bytes) -> None:
    """Write all of ``content`` or nothing: a temporary file renamed into place."""
    if not output.parent.is_dir():
        raise InputError("no such folder", file=output.parent, field="--output")
    temporary = output.with_name(f".{output.name}.partial")
    try:
        temporary.write_bytes(content)
        temporary.replace(output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write the file ({error.strerror})", file=output, field="--output") from None


def write_table(table, output: Path | None, title: str, fmt: str | None = None) -> None:
    """A result table to ``output`` (CSV, Parquet or xlsx, all or nothing), or as CSV to the screen."""
    from .export import to_screen, write

    if output is None:
        to_screen(table)
        return
    rows = write(table, output, title, fmt)
    click.echo(f"wrote {rows} rows to {output}", err=True)


@main.command("forecast")
@click.argument("scenario_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), help="Write the monthly table to .csv, .parquet or .xlsx.")
def forecast_command(scenario_file, output):
    """Monthly revenue forecast per payer and scenario from a scenario file (YAML)."""
    from .db import Database
    from .forecast import load_scenario_file, run, summary

    database = Database()
    with naming(scenario_file):
        table = run(FeeSchedules(), load_scenario_file(scenario_file), saved_contracts(database), database.practice())
    click.echo(summary(table).to_string(index=False))
    if output:
        write_table(table, output, "Forecast")


@main.command("excel")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@session_options
@click.option("--output", required=True, type=click.Path(path_type=Path), help="The .xlsx to write.")
@click.option("--codes", help="Codes for the fee schedule sheet (the session's codes are always included).")
@click.option("--all-codes", is_flag=True, help="Every payable code of the locality in the fee schedule sheet.")
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True, help="Forecast horizon.")
@click.option("--volume", default="40", show_default=True, help="Sessions per month in the forecast.")
@click.option("--growth", default="0", show_default=True, help="Growth per month, %.")
@click.option("--per-patient", default="3", show_default=True, help="Sessions per patient per year.")
@click.option(
    "--propose",
    "proposals",
    multiple=True,
    metavar="PAYER=TERMS",
    help='Proposed terms priced beside the current ones: a percent ("Acme PPO=130") or a fee schedule file ("Acme PPO=fees.csv").',
)
def excel_command(file, output, codes, all_codes, months, volume, growth, per_patient, proposals, nonpar, day, **flags):
    """An Excel model (live formulas) of the session across the saved payers, with fee schedule and forecast."""
    from dataclasses import replace

    from .db import Database
    from .excel import ForecastInputs, estimate_workbook
    from .session import Session
    from .textio import decimal_field

    if output.suffix.lower() != ".xlsx":
        raise InputError("the output must end in .xlsx", field="--output")
    database = Database()
    practice_ = database.practice()
    if nonpar:
        practice_ = replace(practice_, participating=False)
    where = {k: v for k, v in (("zip_code", practice_.zip_code), ("locality", practice_.locality)) if v}
    data = session_data(where | (read_json(file) if file else {}), day, nonpar, flags)
    forecast = ForecastInputs(
        months=months,
        sessions_per_month=decimal_field(volume, "--volume", low=0, high=100_000),
        growth_percent_per_month=decimal_field(growth, "--growth", low=-100, high=100),
        sessions_per_patient_per_year=decimal_field(per_patient, "--per-patient", low=0, high=52),
    )
    from .excel import proposed_terms

    proposed = proposed_terms(proposals, {c.payer: c for c in saved_contracts(database)}, data["date_of_service"], files=True)
    with naming(file):
        content = estimate_workbook(
            FeeSchedules(),
            Session.from_dict(data),
            saved_contracts(database),
            practice_,
            codes=codes.split(",") if codes else None,
            all_codes=all_codes,
            forecast=forecast,
            proposals=proposed,
        )
    write_file(output, content)
    click.echo(f"wrote {output} ({len(content):,} bytes)")


@main.command("price-claims")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--output", required=True, type=click.Path(path_type=Path), help="Priced lines: .csv, .parquet or .xlsx.")
@click.option(
    "--errors", "errors_path", type=click.Path(path_type=Path), help="Rows that could not be priced (default: OUTPUT.errors.csv)."
)
@click.option("--map", "mapping", multiple=True, help="STANDARD=COLUMN when a column is named otherwise, e.g. payer=Insurance.")
@click.option(
    "--tolerance", default="0.01", show_default=True, help="Dollars below the expected payment before a line is underpaid."
)
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True)
@click.option("--scheduler", help="Address of an existing Dask cluster (with --engine dask); default: a local cluster.")
@click.option("--chunk-rows", type=click.IntRange(1000), default=250_000, show_default=True, help="Lines read at a time.")
def price_claims(source, output, errors_path, mapping, tolerance, engine, scheduler, chunk_rows):
    """Price claim lines (CSV, XLSX, Parquet) under each payer's contract; flag underpayments.

    Exit code 0 when every line was priced, 1 when some lines went to the errors file.
    """
    from fractions import Fraction

    from .batch import Book, price_file, price_file_dask
    from .db import Database
    from .textio import decimal_field

    pairs = dict(item.partition("=")[::2] for item in mapping)
    database = Database()
    book = Book(FeeSchedules(), {c.payer: c for c in saved_contracts(database)}, database.practice())
    limit = Fraction(decimal_field(tolerance, "--tolerance", places=2, low=0, high=1_000_000))
    if engine == "dask":
        summary = price_file_dask(
            source, output, book, scheduler=scheduler, mapping=pairs, tolerance=limit, errors_path=errors_path
        )
    elif sys.stderr.isatty():
        with click.progressbar(length=source.stat().st_size if source.is_file() else 0, label="pricing", file=sys.stderr) as bar:
            summary = price_file(
                source,
                output,
                book,
                mapping=pairs,
                tolerance=limit,
                errors_path=errors_path,
                rows_per_chunk=chunk_rows,
                progress=lambda done: bar.update(done - bar.pos),
            )
    else:
        summary = price_file(
            source, output, book, mapping=pairs, tolerance=limit, errors_path=errors_path, rows_per_chunk=chunk_rows
        )
    click.echo(summary.render())
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    sys.exit(1 if summary.failed else 0)


@main.command("remittance")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the worklist, scorecard and appeals.",
)
@click.option(
    "--tolerance", default="0.01", show_default=True, help="Dollars a payment may differ from the expected before it is flagged."
)
@click.option("--validate", is_flag=True, help="Also check each file against the 5010 guide (pyx12; about 0.5 ms a segment).")
@click.option("--save/--no-save", default=True, show_default=True, help="Keep the payments in the practice database.")
def remittance_command(files, output, tolerance, validate, save):
    """Reconcile X12 835 remittances (and the 837P claims they answer) against each payer's contract.

    Writes worklist.csv, worklist.xlsx, scorecard.csv and an appeal packet per underpaid or denied
    claim (appeals/). Exit code 0 when every file could be read, even if some lines are not priced.
    """
    from .batch import Book
    from .db import Database
    from .remittance import payments_to_keep, reconcile, write_outputs
    from .textio import decimal_field
    from .x12 import read_paths
    from .x12 import validate as check

    limit = int(decimal_field(tolerance, "--tolerance", places=2, low=0, high=1_000_000) * 100)
    read = read_paths(list(files))
    database = Database()
    book = Book(FeeSchedules(), {c.payer: c for c in saved_contracts(database)}, database.practice())
    result = reconcile(read, book, database.payer_ids(), limit)
    validation = None
    if validate:
        import pandas as pd

        found = [error for path in files for error in check(Path(path).name, Path(path).read_bytes())]
        validation = pd.DataFrame(found, columns=["file", "segment", "element", "message"])
    write_outputs(result, output, validation)
    counts = result.worklist["status"].value_counts()
    click.echo(f"{len(result.worklist):,} lines: " + ", ".join(f"{counts[s]:,} {s}" for s in counts.index))
    for row in result.scorecard.itertuples(index=False):
        if row.lines_judged:
            click.echo(f"{row.payer}: expected {row.expected_payment:,.2f}, paid {row.paid:,.2f}, variance {row.variance:,.2f}")
        else:
            click.echo(f"{row.payer}: {row.lines:,} lines, none judged (see their status and reason in the worklist)")
    if validation is not None:
        checked = validation["segment"].notna()
        click.echo(f"{int(checked.sum()):,} implementation-guide findings in validation.csv")
        for message in validation.loc[~checked, "message"]:
            click.echo(f"note: {message}", err=True)
    if save:
        duplicates = database.save_remittances(payments_to_keep(read, result.worklist))
        for payment in duplicates:
            click.echo(
                f"note: payment {payment['check_number']} of {payment['payer']} ({payment['file']}) was imported on "
                f"{payment['imported_at'][:10]} from {payment['first_file']}; not counted again",
                err=True,
            )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {output}")


@main.command("bench")
@click.option("--json", "as_json", is_flag=True, help="All figures as one line of JSON (to compare runs).")
@click.option(
    "--claim-rows",
    default="100000,1000000",
    show_default=True,
    help="Sizes of the synthetic claim files priced end to end, comma-separated.",
)
def bench(as_json, claim_rows):
    """Time every command a user waits for, each beside its target: cold start, the core, the national
    schedule to CSV and Parquet, price-claims at each size (lines/s, peak memory), the Excel model."""
    from .bench import run

    try:
        rows = tuple(int(r) for r in claim_rows.split(",") if r.strip())
    except ValueError:
        raise InputError("a comma-separated list of line counts, e.g. 100000,1000000", field="--claim-rows") from None
    if not rows or min(rows) < 1 or max(rows) > 20_000_000:
        raise InputError("line counts from 1 to 20,000,000", field="--claim-rows")
    run(click.echo, as_json=as_json, claim_rows=rows)
