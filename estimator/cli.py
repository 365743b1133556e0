"""Command line: python -m estimator COMMAND ... (see --help)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
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
        click.echo(f"stored {source['vintage']} ({source['title']}, {source['rows']} rows, "
                   f"{source['effective_from']} to {source['effective_to']}) in {folder}")  # fmt: skip


@main.command("build-fee-schedules")
@click.option("--cms", "cms_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder holding the CMS files named in fee_schedules/recipe.yaml.")  # fmt: skip
def build_fee_schedules(cms_dir):
    """Rebuild the shipped fee_schedules/tables from the CMS files, through the importer."""
    for entry in yaml.safe_load((SHIPPED / "recipe.yaml").read_text()):
        options = {k: entry[k] for k in ("effective_from", "effective_to", "vintage") if k in entry}
        (folder,) = import_files([cms_dir / entry["file"]], SHIPPED, note=entry.get("note", ""),
                                 origin=entry["origin"], replace=True, **options)  # fmt: skip
        click.echo(f"built {folder.relative_to(SHIPPED)}")


@main.command("vintages")
def vintages():
    """List the loaded CMS vintages, their sources and effective dates."""
    for v in sorted(FeeSchedules().vintages, key=lambda v: (v.kind, v.effective_from)):
        where = "shipped" if v.shipped else "imported"
        click.echo(f"{v.kind:9} {v.name:15} {v.effective_from} to {v.effective_to}  {where}  {v.source['source_file']}")


@main.command("fee-schedule")
@click.option("--date", "day", type=DATE, required=True, help="Date of service.")
@click.option("--locality", help="Carrier-locality, e.g. 10112-00.")
@click.option("--zip", "zip_code", help="ZIP code (mapped with the CMS ZIP5 file).")
@click.option("--national", is_flag=True, help="National amounts (all GPCIs 1.000); the default.")
@click.option("--all-localities", is_flag=True, help="Every Medicare locality.")
@click.option("--codes", help="Comma-separated HCPCS, e.g. 20552,20553,76942-26 (default: all codes).")
@click.option("--cf-track", type=click.Choice(["standard", "qualifying_apm"]), default="standard",
              help="Conversion factor: standard, or qualifying APM participant (2026 on).")  # fmt: skip
@click.option("--work-gpci-floor", type=click.Choice(["on", "off"]), help="Override the dated 1.0 work GPCI floor rule.")
@click.option("--output", type=click.Path(path_type=Path), help="Write .csv or .xlsx (default: CSV to stdout).")
def fee_schedule(day, locality, zip_code, national, all_localities, codes, cf_track, work_gpci_floor, output):
    """Priced Medicare PFS schedule: par, non-par and limiting charge, office and facility."""
    from .pfs import price, published, resolve_locality

    schedules = FeeSchedules()
    if sum(map(bool, (locality, zip_code, national, all_localities))) > 1:
        raise InputError("give one of --locality, --zip, --national, --all-localities", field="locality")
    where = "all" if all_localities else "national"
    if locality or zip_code:
        where = [resolve_locality(schedules, day, zip_code=zip_code, locality=locality)]
    floor = None if work_gpci_floor is None else work_gpci_floor == "on"
    frame, basis = price(schedules, day, codes=codes.split(",") if codes else None, localities=where,
                         cf_track=cf_track, work_gpci_floor=floor)  # fmt: skip
    table = published(frame, basis)
    for note in basis.notes():
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(table.to_csv(index=False, lineterminator="\n"), nl=False)
    elif output.suffix.lower() == ".xlsx":
        write_xlsx(table, output)
    elif output.suffix.lower() == ".csv":
        table.to_csv(output, index=False, lineterminator="\n")
    else:
        raise InputError("the output must end in .csv or .xlsx", field="--output")
    if output:
        click.echo(f"wrote {len(table)} rows to {output}", err=True)


def write_xlsx(table, path: Path) -> None:
    """Amount columns as numbers with two decimals; everything else as text (never a formula)."""
    from decimal import Decimal

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Fee schedule"
    sheet.append(list(table.columns))
    money = [i for i, c in enumerate(table.columns) if c.endswith(("_amount", "_charge", "_cap", "_payment"))]
    for row in table.itertuples(index=False):
        cells = [Decimal(v) if i in money and v else v for i, v in enumerate(row)]
        sheet.append(cells)
    for i in money:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = "0.00"
    for column_cells in sheet.iter_rows(min_row=2):
        for cell in column_cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    workbook.save(path)


@main.command("session")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", "day", type=DATE, help="Date of service.")
@click.option("--pos", "place_of_service", type=click.Choice(["11", "19", "22", "24"]), help="Place of service (11 office).")
@click.option("--zip", "zip_code", help="ZIP code of the place of service.")
@click.option("--locality", help="Carrier-locality, e.g. 10112-00.")
@click.option("--muscles", "muscle_count", type=int, help="Number of distinct muscles injected.")
@click.option("--muscle", "muscles", multiple=True, help="A muscle as NAME:SIDE (repeat), e.g. trapezius:left.")
@click.option("--injections", type=int, help="Number of injections (recorded; never changes the code).")
@click.option("--guidance", type=click.Choice(list(("none", "ultrasound", "fluoroscopy"))), help="Imaging guidance.")
@click.option("--drug", "drugs", multiple=True, help="NAME:DOSEUNIT[:WASTED], e.g. triamcinolone:40mg (repeat).")
@click.option("--em", "em_code", help="Same-day office E/M code (99202-99215).")
@click.option("--em-separate", "em_separately_identifiable", is_flag=True, default=None,
              help="The E/M is significant and separately identifiable (modifier 25).")  # fmt: skip
@click.option("--dx", "diagnoses", multiple=True, help="ICD-10-CM diagnosis (repeat).")
@click.option("--repeat", type=click.Choice(["same_physician", "another_physician"]), help="Repeat session (76 / 77).")
@click.option("--prior", "prior_sessions", multiple=True, help="Date of a prior TPI session (repeat).")
@click.option("--deductible", "deductible_remaining", help="Patient's remaining Part B deductible in dollars.")
@click.option("--nonpar", is_flag=True, default=None, help="The provider does not participate in Medicare.")
@click.option("--cf-track", type=click.Choice(["standard", "qualifying_apm"]))
@click.option("--json", "as_json", is_flag=True, help="Print the claim as JSON.")
def session_command(file, as_json, nonpar, day, **flags):
    """Estimate the Medicare claim of one trigger point session (from FILE.json and/or flags)."""
    from .session import Session, estimate

    data = {}
    if file:
        try:
            data = json.loads(file.read_text(), parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise InputError(f"not valid JSON ({error.msg})", file=file.name, row=error.lineno) from None
        if not isinstance(data, dict):
            raise InputError("the session must be a JSON object", file=file.name)
    if day:
        data["date_of_service"] = day.isoformat()
    if nonpar:
        data["participating"] = False
    for name, value in flags.items():
        if value not in (None, ()):
            data[name] = list(value) if isinstance(value, tuple) else value
    claim = estimate(FeeSchedules(), Session.from_dict(data))
    if as_json:
        click.echo(claim.to_json())
        return
    click.echo(f"{claim.session.date_of_service}  {claim.setting}  locality {claim.locality}")
    table = claim.to_frame()[["code", "modifiers", "units", "biller", "allowed", "patient_share", "payer_payment",
                              "sequestration", "expected_to_provider", "reason"]]  # fmt: skip
    click.echo(table.to_string(index=False, max_colwidth=90))
    totals = claim.totals()
    click.echo("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for warning in claim.warnings:
        click.echo(f"warning: {warning}")
    for note in claim.notes:
        click.echo(f"note: {note}")
    click.echo("\nsame session by site of service:")
    click.echo(pd.DataFrame(claim.sites).drop(columns="notes").to_string(index=False))


@main.command("bench")
def bench():
    """Print timings: cold vintage load, whole national schedule x 109 localities, peak memory."""
    from .bench import run

    run(click.echo)
