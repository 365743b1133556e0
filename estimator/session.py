"""One trigger point session -> the Medicare claim it produces, line by line, with reasons.

Rules (see fee_schedules/ and the README for sources):
- 20552 for 1-2 distinct muscles, 20553 for 3 or more; one unit per session whatever the
  number of injections; never both; left and right of one muscle are two muscles.
- Imaging guidance 76942 / 77002, one unit; in a facility the physician bills -26.
- A same-day E/M (99202-99215) only with modifier 25 when significant and separately
  identifiable; otherwise it is part of the procedure (global period 000).
- Drugs: units = dose / the ASP file's dosage unit, rounded up; waste from a single-dose
  vial on its own line with JW, JZ when none; local anesthetic and saline are not paid
  separately; the payment limit is the ASP file's (already 106% of ASP).
- Patient share: the remaining Part B deductible first, then coinsurance (20%, or the
  drug's own percentage from the ASP file); sequestration (2%) comes off Medicare's own
  payment, not the allowed amount.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache

import pandas as pd
import yaml

from .errors import InputError
from .parameters import parameter, rate
from .pfs import price, resolve_locality
from .store import SHIPPED, FeeSchedules, Vintage
from .money import CENT, cents_to_decimal, round_cents

PLACES_OF_SERVICE = {
    "11": ("office", "nonfacility"),
    "19": ("hospital outpatient, off campus", "facility"),
    "22": ("hospital outpatient, on campus", "facility"),
    "24": ("ambulatory surgical center", "facility"),
}
EM_CODES = {f"992{n:02d}" for n in (2, 3, 4, 5, 11, 12, 13, 14, 15)}
GUIDANCE = {"none": None, "ultrasound": "76942", "fluoroscopy": "77002"}
REPEAT_MODIFIER = {None: None, "same_physician": "76", "another_physician": "77"}
ICD10 = re.compile(r"[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
MASS_IN_MG = {"MG": Fraction(1), "MCG": Fraction(1, 1000), "G": Fraction(1000)}
UNIT_NAMES = {"mg": "MG", "mcg": "MCG", "g": "G", "unit": "UNIT", "units": "UNIT", "u": "UNIT", "ml": "ML", "cc": "ML"}


@cache
def _yaml(name: str) -> dict:
    return yaml.safe_load((SHIPPED / name).read_text())


def _labels() -> dict:
    return {str(k): v for k, v in _yaml("labels.yaml").items()}


# -- input --------------------------------------------------------------------------------


def _decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InputError(f"{value!r} is not a number", field=name) from None
    if not number.is_finite():
        raise InputError(f"{value!r} is not a number", field=name)
    return number


@dataclass(frozen=True)
class DrugGiven:
    """A drug injected: catalogue name, alias or HCPCS code; dose and unit (mg, mcg, g, units, ml)."""

    drug: str
    dose: Decimal
    unit: str
    wasted: Decimal = Decimal(0)
    concentration: str | None = None  # "40 mg/ml", needed when the dose is in ml
    single_dose_vial: bool = True

    @classmethod
    def parse(cls, text: str) -> DrugGiven:
        """'triamcinolone:40mg' or 'J0585:80units:20' (drug:dose[unit][:wasted])."""
        parts = text.split(":")
        match = re.fullmatch(r"\s*(-?[\d.]+)\s*([a-zA-Z]+)\s*", parts[1]) if len(parts) >= 2 else None
        if not match or len(parts) > 3:
            raise InputError(f"{text!r}: write a drug as NAME:DOSEUNIT[:WASTED], e.g. triamcinolone:40mg", field="drug")
        wasted = _decimal(parts[2], "wasted") if len(parts) == 3 else Decimal(0)
        return cls(parts[0].strip(), _decimal(match.group(1), "dose"), match.group(2), wasted)


@dataclass(frozen=True)
class Session:
    """What was (or will be) done in one trigger point session."""

    date_of_service: dt.date
    place_of_service: str = "11"
    zip_code: str | None = None
    locality: str | None = None
    participating: bool = True
    cf_track: str = "standard"
    work_gpci_floor: bool | None = None
    muscles: tuple[tuple[str, str], ...] = ()
    muscle_count: int | None = None
    injections: int | None = None
    guidance: str = "none"
    drugs: tuple[DrugGiven, ...] = ()
    em_code: str | None = None
    em_separately_identifiable: bool = False
    diagnoses: tuple[str, ...] = ()
    repeat: str | None = None
    prior_sessions: tuple[dt.date, ...] = ()
    deductible_remaining: Decimal | None = None
    requested_units: int = 1
    requested_modifiers: tuple[str, ...] = ()
    frequency_rule: str = "three_per_12_months"
    covered_diagnoses: str = "medicare_example"

    @classmethod
    def from_dict(cls, data: dict) -> Session:
        """Build a session from JSON-like data; every bad field is an InputError naming it."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
        values = dict(data)

        def date(text, name):
            try:
                return dt.date.fromisoformat(str(text))
            except ValueError:
                raise InputError(f"{text!r} is not a date like 2026-03-02", field=name) from None

        if "date_of_service" not in values:
            raise InputError("the date of service is required", field="date_of_service")
        values["date_of_service"] = date(values["date_of_service"], "date_of_service")
        for name in ("prior_sessions", "muscles", "drugs", "diagnoses", "requested_modifiers"):
            if not isinstance(values.get(name, []), (list, tuple)):
                raise InputError(f"{name} must be a list", field=name)
        values["prior_sessions"] = tuple(date(d, "prior_sessions") for d in values.get("prior_sessions", ()))
        values["muscles"] = tuple(_muscle(m) for m in values.get("muscles", ()))
        values["drugs"] = tuple(_drug(d) for d in values.get("drugs", ()))
        values["diagnoses"] = tuple(str(d).strip().upper() for d in values.get("diagnoses", ()))
        values["requested_modifiers"] = tuple(str(m).strip().upper() for m in values.get("requested_modifiers", ()))
        if values.get("deductible_remaining") is not None:
            values["deductible_remaining"] = _decimal(values["deductible_remaining"], "deductible_remaining")
        for name in ("muscle_count", "injections", "requested_units"):
            optional = name != "requested_units"
            if name in values and not (isinstance(values[name], int) and not isinstance(values[name], bool)):
                if not (optional and values[name] is None):
                    raise InputError(f"{values[name]!r} is not a whole number", field=name)
        for name in ("participating", "em_separately_identifiable", "work_gpci_floor"):
            if name in values and not isinstance(values[name], bool) and not (name == "work_gpci_floor" and values[name] is None):
                raise InputError(f"{values[name]!r} is not true or false", field=name)
        for name in ("place_of_service", "zip_code", "locality", "em_code"):
            if values.get(name) is not None:
                values[name] = str(values[name]).strip()
        return cls(**values)


def session_data(session: Session) -> dict:
    """A session as plain data that Session.from_dict reads back (JSON-safe)."""
    data = json.loads(json.dumps(asdict(session), default=str))
    data["muscles"] = [{"muscle": m, "side": s} for m, s in session.muscles]
    return data


def _muscle(entry) -> tuple[str, str]:
    if isinstance(entry, str):
        name, _, side = entry.partition(":")
    elif isinstance(entry, dict) and "muscle" in entry:
        name, side = entry["muscle"], entry.get("side", "")
    else:
        raise InputError(f"{entry!r}: give a muscle as {{'muscle': 'trapezius', 'side': 'left'}} or 'trapezius:left'",
                         field="muscles")  # fmt: skip
    side = str(side).strip().lower()
    if side not in ("left", "right", "", "midline"):
        raise InputError(f"side {side!r} must be left, right or midline", field="muscles")
    if not str(name).strip():
        raise InputError("a muscle needs a name", field="muscles")
    return str(name).strip().lower(), side


def _drug(entry) -> DrugGiven:
    if isinstance(entry, str):
        return DrugGiven.parse(entry)
    if not isinstance(entry, dict) or not {"drug", "dose", "unit"} <= set(entry):
        raise InputError(f"{entry!r}: a drug needs drug, dose and unit", field="drugs")
    concentration = entry.get("concentration")
    if concentration is not None and not isinstance(concentration, str):
        raise InputError(f"concentration {concentration!r}: write it with its units, e.g. '40 mg/ml'", field="concentration")
    single_dose = entry.get("single_dose_vial", True)
    if not isinstance(single_dose, bool):
        raise InputError(f"{single_dose!r} is not true or false", field="single_dose_vial")
    return DrugGiven(str(entry["drug"]), _decimal(entry["dose"], "dose"), str(entry["unit"]),
                     _decimal(entry.get("wasted", 0), "wasted"), concentration, single_dose)  # fmt: skip


# -- output -------------------------------------------------------------------------------


@dataclass
class ClaimLine:
    code: str
    modifiers: tuple[str, ...]
    units: int
    label: str
    biller: str  # physician | facility | not billed
    allowed: Decimal
    reason: str
    source: str
    coinsurance_rate: Fraction = Fraction(0)
    limiting_charge: Decimal | None = None
    unit_price: Fraction | None = None  # drugs: the ASP payment limit per billing unit
    copay: Decimal = Decimal("0.00")
    deductible: Decimal = Decimal("0.00")
    coinsurance: Decimal = Decimal("0.00")
    payer_payment: Decimal = Decimal("0.00")
    sequestration: Decimal = Decimal("0.00")

    @property
    def patient_share(self) -> Decimal:
        return self.copay + self.deductible + self.coinsurance

    @property
    def expected_to_provider(self) -> Decimal:
        """What the biller expects to collect: the patient's share plus the payer's payment after sequestration."""
        return self.patient_share + self.payer_payment - self.sequestration


MONEY_FIELDS = ("allowed", "copay", "deductible", "coinsurance", "patient_share", "payer_payment", "sequestration",
                "expected_to_provider")  # fmt: skip


@dataclass
class Claim:
    session: Session
    setting: str
    locality: str
    lines: list[ClaimLine]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sites: list[dict] = field(default_factory=list)
    facility_notes: list[str] = field(default_factory=list)

    def total(self, name: str) -> Decimal:
        """The practice's claim: every line but those the hospital or ASC bills."""
        return sum((getattr(line, name) for line in self.lines if line.biller != "facility"), Decimal("0.00"))

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for line in self.lines:
            row = {"code": line.code, "modifiers": " ".join(line.modifiers), "units": line.units, "label": line.label,
                   "biller": line.biller}  # fmt: skip
            row |= {name: f"{getattr(line, name):.2f}" for name in MONEY_FIELDS}
            row["limiting_charge"] = "" if line.limiting_charge is None else f"{line.limiting_charge:.2f}"
            row |= {"reason": line.reason, "source": line.source}
            rows.append(row)
        return pd.DataFrame(rows)

    def totals(self) -> dict[str, str]:
        return {name: f"{self.total(name):.2f}" for name in MONEY_FIELDS}

    def to_dict(self) -> dict:
        return {
            "session": session_data(self.session),
            "setting": self.setting,
            "locality": self.locality,
            "lines": self.to_frame().to_dict(orient="records"),
            "totals": self.totals(),
            "warnings": self.warnings,
            "notes": self.notes,
            "sites": self.sites,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# -- the rules ----------------------------------------------------------------------------


def procedure_code(session: Session) -> tuple[str, str]:
    """20552 for 1 or 2 distinct muscles, 20553 for 3 or more (left and right count as two)."""
    if session.muscles:
        distinct = sorted(set(session.muscles))
        count = len(distinct)
        names = ", ".join(f"{m} {s[0].upper()}" if s else m for m, s in distinct)
    elif session.muscle_count is not None:
        count, names = session.muscle_count, ""
    else:
        raise InputError("give the muscles injected (or their number)", field="muscles")
    if count < 1:
        raise InputError(f"{count} muscles: at least one muscle must be injected", field="muscles")
    code = "20552" if count <= 2 else "20553"
    reason = f"{code}: {count} distinct muscle{'s' if count > 1 else ''}" + (f" ({names})" if names else "")
    if session.injections is not None:
        if session.injections < 1:
            raise InputError(f"{session.injections} injections: at least one", field="injections")
        reason += f"; {session.injections} injection{'s' if session.injections > 1 else ''} do not change the code"
    return code, reason + "; one unit per session."


def procedure_warnings(session: Session, code: str) -> list[str]:
    """Denial risks on the TPI line the user meant to bill: extra units, modifiers 50/59/XS."""
    warnings = []
    if session.requested_units > 1:
        warnings.append(f"{code} is billed once per session: {session.requested_units} units would be denied; billed as 1.")
    for modifier in session.requested_modifiers:
        if modifier == "50":
            warnings.append(f"Modifier 50 is not used on {code}: both sides are already inside the code; left off.")
        elif modifier in ("59", "XS", "XE", "XP", "XU"):
            warnings.append(f"Modifier {modifier} is not used on {code} (one session, one code); left off.")
    return warnings


def frequency_warnings(session: Session) -> list[str]:
    """Frequency rules of the payer (fee_schedules/tpi_policies.yaml), given the prior session dates."""
    rules = _yaml("tpi_policies.yaml")["frequency_rules"]
    if session.frequency_rule not in rules:
        raise InputError(f"unknown frequency rule {session.frequency_rule!r} ({', '.join(rules)})", field="frequency_rule")
    day = session.date_of_service
    earlier = sorted(d for d in session.prior_sessions if d < day)
    warnings = []
    if day in session.prior_sessions:
        warnings.append(f"A trigger point session is already recorded on {day}: a second TPI code the same day is denied.")
    for rule in rules[session.frequency_rule]["rules"]:
        if rule["kind"] == "min_days_between" and earlier and (day - earlier[-1]).days < rule["days"]:
            warnings.append(f"Only {(day - earlier[-1]).days} days since the session of {earlier[-1]}; "
                            f"this payer requires at least {rule['days']} days between sessions.")  # fmt: skip
        if rule["kind"] == "max_in_window":
            within = [d for d in earlier if (day - d).days < rule["days"]]
            if len(within) + 1 > rule["sessions"]:
                warnings.append(f"This would be session {len(within) + 1} within {rule['days']} days "
                                f"(limit {rule['sessions']}): likely denied.")  # fmt: skip
    return warnings


def diagnosis_warnings(session: Session) -> list[str]:
    """Covered-diagnosis list in force (fee_schedules/tpi_policies.yaml) and invalid codes."""
    policies = _yaml("tpi_policies.yaml")
    covered = policies["covered_diagnoses"].get(session.covered_diagnoses)
    if covered is None:
        raise InputError(f"unknown diagnosis list {session.covered_diagnoses!r}", field="covered_diagnoses")
    warnings = []
    for code in session.diagnoses:
        if not ICD10.fullmatch(code):
            raise InputError(f"{code!r} is not an ICD-10-CM code (e.g. M79.18)", field="diagnoses")
        if code in policies["invalid_diagnoses"]:
            warnings.append(policies["invalid_diagnoses"][code])
    is_covered = [c in covered["codes"] or c.startswith(tuple(covered["prefixes"])) for c in session.diagnoses]
    if not session.diagnoses:
        warnings.append("No diagnosis given: the claim needs a diagnosis on the payer's covered list.")
    elif not any(is_covered):
        warnings.append(f"None of {', '.join(session.diagnoses)} is on the covered list ({covered['source']})")
    return warnings


def em_line_or_warning(session: Session) -> tuple[str | None, list[str]]:
    """The E/M is billed with modifier 25 only when significant and separately identifiable."""
    if session.em_code is None:
        return None, []
    if session.em_code not in EM_CODES:
        raise InputError(f"{session.em_code} is not an office E/M code (99202-99205, 99211-99215)", field="em_code")
    if not session.em_separately_identifiable:
        return None, [f"{session.em_code} not billed: without a significant, separately identifiable service the visit "
                      "is part of the procedure (global period 000); mark it separately identifiable to bill it with 25."]  # fmt: skip
    return session.em_code, []


def _dosage(text: str, hcpcs: str) -> tuple[Fraction, str]:
    """The ASP file's dosage ('10 MG', '1 UNIT', '3 MG & 3 MG', '250 CC') -> (amount, unit)."""
    parts = re.findall(r"([\d.]+)\s*([A-Za-z]+)", text)
    if "&" not in text:  # "75mg (50mg cft/25mg taz)": the first figure is the unit; "&" joins a combined unit
        parts = parts[:1]
    units = {UNIT_NAMES.get(u.lower(), u.upper()) for _, u in parts}
    if not parts or len(units) != 1:
        raise InputError(f"the ASP dosage {text!r} of {hcpcs} is not understood", field="drugs")
    return sum((Fraction(a) for a, _ in parts), Fraction(0)), units.pop()


def _in_dosage_units(drug: DrugGiven, amount: Decimal, dosage_unit: str, hcpcs: str) -> Fraction:
    unit = UNIT_NAMES.get(drug.unit.strip().lower())
    if unit is None:
        raise InputError(f"unknown dose unit {drug.unit!r} (mg, mcg, g, units, ml)", field="drugs")
    quantity = Fraction(amount)
    if unit == "ML" and dosage_unit != "ML":
        match = re.fullmatch(r"\s*([\d.]+)\s*(mg|mcg|g|units?)\s*/\s*ml\s*", drug.concentration or "", re.I)
        if not match:
            raise InputError(f"{drug.drug} is priced per {dosage_unit} ({hcpcs}); a dose in ml needs a concentration "
                             "such as '40 mg/ml'", field="drugs")  # fmt: skip
        quantity, unit = quantity * Fraction(match.group(1)), UNIT_NAMES[match.group(2).lower()]
    if unit == dosage_unit:
        return quantity
    if unit in MASS_IN_MG and dosage_unit in MASS_IN_MG:
        return quantity * MASS_IN_MG[unit] / MASS_IN_MG[dosage_unit]
    raise InputError(f"a dose in {drug.unit} does not convert to {hcpcs}'s unit ({dosage_unit})", field="drugs")


def resolve_drug(name: str) -> tuple[dict, list[str]]:
    """Catalogue entry for a drug name, alias or HCPCS code; retired codes mapped with a note."""
    catalogue = _yaml("drugs.yaml")
    key = name.strip().lower()
    for drug, entry in catalogue["drugs"].items():
        if key == drug or key in entry.get("aliases", ()) or key.upper() == entry.get("hcpcs"):
            return entry | {"name": drug}, []
    replaced = catalogue["replaced_codes"].get(key.upper())
    if replaced:
        entry, _ = resolve_drug(replaced["by"])
        return entry, [replaced["note"]]
    if re.fullmatch(r"[A-Z]\d{4}", key.upper()):
        return {"name": key.upper(), "hcpcs": key.upper(), "kind": "drug"}, []
    known = ", ".join(catalogue["drugs"])
    raise InputError(f"unknown drug {name!r}; known: {known}, or give its HCPCS code", field="drugs")


def asp_vintage(schedules: FeeSchedules, day: dt.date) -> tuple[Vintage, list[str]]:
    """The ASP quarter in force; failing that the latest earlier one, said loudly."""
    try:
        return schedules.in_force("asp", day), []
    except InputError:
        latest = schedules.latest_on_or_before("asp", day)
        if latest is None:
            raise
        return latest, [f"No ASP file is loaded for {day}; drugs are priced from {latest.label}, the latest held. "
                        "Import the quarter's file for exact figures."]  # fmt: skip


def drug_lines(schedules: FeeSchedules, session: Session) -> tuple[list[ClaimLine], list[str], list[str]]:
    """Drug lines: units rounded up to the ASP dosage, waste with JW, JZ when none, ASP payment limit."""
    lines, warnings, notes = [], [], []
    if not session.drugs:
        return lines, warnings, notes
    vintage, fallback = asp_vintage(schedules, session.date_of_service)
    warnings += fallback
    asp = schedules.table(vintage).set_index("hcpcs")
    for drug in session.drugs:
        if drug.dose <= 0:
            raise InputError(f"dose of {drug.drug} must be more than 0 (got {drug.dose})", field="dose")
        if drug.wasted < 0:
            raise InputError(f"wasted amount of {drug.drug} cannot be negative (got {drug.wasted})", field="wasted")
        entry, replaced = resolve_drug(drug.drug)
        notes += replaced
        dose_text = f"{drug.dose} {drug.unit}"
        if entry.get("separately_payable") is False:
            lines.append(ClaimLine("", (), 0, f"{entry['name']} {dose_text}", "not billed", Decimal("0.00"),
                                   entry["reason"], "fee_schedules/drugs.yaml"))  # fmt: skip
            continue
        hcpcs = entry["hcpcs"]
        if hcpcs not in asp.index or pd.isna(asp.loc[hcpcs, "payment_limit"]):
            warnings.append(f"{hcpcs} ({entry['name']}) has no payment limit in {vintage.label}: the carrier prices it, "
                            "or it is not payable; not priced here.")  # fmt: skip
            lines.append(ClaimLine(hcpcs, (), 0, f"{entry['name']} {dose_text}", "physician", Decimal("0.00"),
                                   "Not on the ASP file in force.", vintage.name))  # fmt: skip
            continue
        row = asp.loc[hcpcs]
        per_unit, dosage_unit = _dosage(row["dosage"], hcpcs)
        given = _in_dosage_units(drug, drug.dose, dosage_unit, hcpcs) / per_unit
        total = _in_dosage_units(drug, drug.dose + drug.wasted, dosage_unit, hcpcs) / per_unit
        units, all_units = math.ceil(given), math.ceil(total)
        limit = Fraction(int(row["payment_limit"]), 1000)
        coinsurance = Fraction(int(row["coinsurance_percent"]), 100_000)
        modifiers = ("JZ",) if drug.single_dose_vial and drug.wasted == 0 else ()
        basis = f"{units} x {row['dosage']} at ${limit.numerator / limit.denominator:.3f} (ASP payment limit, already 106% of ASP)"
        lines.append(ClaimLine(hcpcs, modifiers, units, f"{entry['name']} {dose_text}", "physician",
                               round_cents(units * limit), f"{dose_text} = {units} unit(s) of {row['dosage']}, rounded up; {basis}.",
                               vintage.name, coinsurance, unit_price=limit))  # fmt: skip
        if all_units > units:
            wasted_text = f"{drug.wasted} {drug.unit} discarded from a single-dose vial"
            lines.append(ClaimLine(hcpcs, ("JW",), all_units - units, f"{entry['name']} waste", "physician",
                                   round_cents((all_units - units) * limit), f"{wasted_text}: {all_units - units} unit(s).",
                                   vintage.name, coinsurance, unit_price=limit))  # fmt: skip
        elif drug.wasted > 0:
            notes.append(f"The {drug.wasted} {drug.unit} of {entry['name']} discarded is within the units already billed.")
    return lines, warnings, notes


def apply_patient_share(lines: list[ClaimLine], *, deductible: Decimal, sequestration: Fraction,
                        copay: Decimal = Decimal("0.00"), coinsurance: Fraction | None = None) -> None:  # fmt: skip
    """Copay, then the remaining deductible (line order), then coinsurance per line; sequestration last.

    Medicare Part B: no copay, the Part B deductible, 20% coinsurance or the drug's own
    percentage from the ASP file (42 CFR 410.152, 410.160); sequestration of 2% comes off
    Medicare's own payment (Budget Control Act of 2011 s. 251A as extended). Other payers
    bring their own copay, deductible and coinsurance. Each figure is rounded half up to the
    cent per line.
    """
    copay_left, deductible_left = copay.quantize(CENT), deductible.quantize(CENT)
    for line in lines:
        if line.allowed <= 0:
            continue
        line.copay = min(copay_left, line.allowed)
        copay_left -= line.copay
        line.deductible = min(deductible_left, line.allowed - line.copay)
        deductible_left -= line.deductible
        share = line.coinsurance_rate if coinsurance is None else coinsurance
        line.coinsurance = round_cents(Fraction(line.allowed - line.copay - line.deductible) * share)
        line.payer_payment = line.allowed - line.copay - line.deductible - line.coinsurance
        line.sequestration = round_cents(Fraction(line.payer_payment) * sequestration)


def pfs_lines(schedules, session, setting, codes: list[tuple[str, str, tuple[str, ...], str]], where):
    """Price (code, pfs row modifier, claim modifiers, reason) lines from the PFS; returns lines and basis."""
    frame, basis = price(schedules, session.date_of_service, codes=sorted({c if not m else f"{c}-{m}" for c, m, _, _ in codes}),
                         localities=[where] if where != ("", "") else "national", cf_track=session.cf_track,
                         work_gpci_floor=session.work_gpci_floor)  # fmt: skip
    coinsurance = rate("part_b/coinsurance_rate", session.date_of_service)
    labels = _labels()
    lines = []
    for code, pfs_modifier, modifiers, reason in codes:
        row = frame[(frame["hcpcs"] == code) & (frame["modifier"] == pfs_modifier)].iloc[0]
        if pd.isna(row[f"{setting}_amount"]):
            lines.append(ClaimLine(code, modifiers, 1, labels.get(code, code), "physician", Decimal("0.00"),
                                   f"{reason} Not paid: {row['status_reason']}", basis.rvu.name))  # fmt: skip
            continue
        amount = row[f"{setting}_payment"] if session.participating else row[f"{setting}_nonpar_amount"]
        rates = f"Priced at the {'par' if session.participating else 'non-par (95%)'} {setting.replace('non', 'non-')} PFS amount"
        lines.append(ClaimLine(code, modifiers, 1, labels.get(code, code), "physician", cents_to_decimal(amount), f"{reason} {rates}.", f"{basis.rvu.name}, {basis.gpci.name}",
                               coinsurance, None if session.participating else cents_to_decimal(row[f"{setting}_limiting_charge"])))  # fmt: skip
    return lines, basis


def _latest(schedules: FeeSchedules, kind: str, day: dt.date) -> tuple[Vintage | None, list[str]]:
    """The file in force, or the latest earlier one with a note saying so (OPPS and ASC rates)."""
    try:
        return schedules.in_force(kind, day), []
    except InputError:
        latest = schedules.latest_on_or_before(kind, day)
        if latest is None:
            return None, []
        return latest, [f"No {latest.source['title']} is loaded for {day}; {latest.label} is used."]


def facility_lines(schedules: FeeSchedules, session: Session, procedures: list[tuple[str, int]],
                   drugs: list[ClaimLine]) -> tuple[list[ClaimLine], list[str]]:  # fmt: skip
    """What the hospital (OPPS Addendum B) or the ASC (Addenda AA/BB) is paid, national unadjusted.

    OPPS: status T / J2 / K / K1 paid at the payment rate, N packaged (42 CFR 419.2(b)).
    ASC: P3 procedures at the rate in AA; ancillaries in BB paid when K2, packaged when N1.
    """
    day, pos = session.date_of_service, session.place_of_service
    kinds = ("asc_aa", "asc_bb") if pos == "24" else ("opps_b", "opps_b")
    coinsurance = rate("part_b/coinsurance_rate", day)
    found = [_latest(schedules, kind, day) for kind in kinds]
    notes = [n for _, ns in found for n in ns]
    if any(v is None for v, _ in found):
        return [], notes + [f"No {'ASC' if pos == '24' else 'OPPS'} file on or before {day}: the facility payment is not estimated."]
    (main, _), (ancillary, _) = found
    procedure_table, ancillary_table = schedules.table(main).set_index("hcpcs"), schedules.table(ancillary).set_index("hcpcs")
    paid = {"T", "J2", "K", "K1", "K2", "P3", "G", "A2", "G2", "P2", "R2", "Z2"}
    places = {"opps_b": 3, "asc_aa": 2, "asc_bb": 3}
    lines = []
    items = [(code, units, procedure_table, main, f"{code} (facility)") for code, units in procedures]
    items += [(d.code, d.units, ancillary_table, ancillary, d.label) for d in drugs if d.code and d.units]
    for code, units, table, vintage, label in items:
        if code not in table.index:
            lines.append(ClaimLine(code, (), units, label, "facility", Decimal("0.00"),
                                   f"Not payable in this setting (not in {vintage.name}).", vintage.name))  # fmt: skip
            continue
        row = table.loc[code]
        indicator = row.get("status_indicator", row.get("payment_indicator"))
        rate_units = row["payment_rate"]
        if indicator in paid and not pd.isna(rate_units):
            amount = round_cents(units * Fraction(int(rate_units), 10 ** places[vintage.kind]))
            apc = f", APC {row['apc']}" if row.get("apc") else ""
            reason = f"Paid ({indicator}{apc}), national unadjusted rate ${amount:.2f}."
            lines.append(ClaimLine(code, (), units, label, "facility", amount, reason, vintage.name, coinsurance))
        else:
            lines.append(ClaimLine(code, (), units, label, "facility", Decimal("0.00"),
                                   f"Packaged ({indicator}): no separate facility payment.", vintage.name))  # fmt: skip
    return lines, notes + ["Facility rates are national unadjusted (no wage index)."]


def estimate(schedules: FeeSchedules, session: Session, *, compare_sites: bool = True) -> Claim:
    """The claim a trigger point session produces, priced for traditional Medicare."""
    if session.place_of_service not in PLACES_OF_SERVICE:
        raise InputError(f"place of service {session.place_of_service!r}: use 11 (office), 19 or 22 (hospital "
                         "outpatient) or 24 (ASC)", field="place_of_service")  # fmt: skip
    if session.guidance not in GUIDANCE:
        raise InputError(f"guidance {session.guidance!r}: use none, ultrasound or fluoroscopy", field="guidance")
    if session.repeat not in REPEAT_MODIFIER:
        raise InputError(f"repeat {session.repeat!r}: use same_physician or another_physician", field="repeat")
    day = session.date_of_service
    site, setting = PLACES_OF_SERVICE[session.place_of_service]
    where = resolve_locality(schedules, day, zip_code=session.zip_code, locality=session.locality)
    code, reason = procedure_code(session)
    warnings = procedure_warnings(session, code) + frequency_warnings(session) + diagnosis_warnings(session)
    em, em_warnings = em_line_or_warning(session)
    warnings += em_warnings
    repeat = REPEAT_MODIFIER[session.repeat]
    if repeat:
        reason += f" Modifier {repeat}: repeat session by {'the same' if repeat == '76' else 'another'} physician."
    items = [(code, "", (repeat,) if repeat else (), reason)]
    guidance = GUIDANCE[session.guidance]
    if guidance:
        kind = "Ultrasound" if guidance == "76942" else "Fluoroscopic"
        if setting == "facility":
            items.append((guidance, "26", ("26",), f"{kind} guidance, one unit; professional component (-26) in a facility."))
        else:
            items.append((guidance, "", (), f"{kind} guidance, one unit, global (the office owns the equipment)."))
    if em:
        items.append((em, "", ("25",), "Significant, separately identifiable visit the same day: modifier 25."))
    lines, basis = pfs_lines(schedules, session, setting, items, where)
    drugs, drug_warnings, notes = drug_lines(schedules, session)
    warnings += drug_warnings
    if setting == "facility":
        procedures = [(code, 1)] + ([(guidance, 1)] if guidance else []) + ([("G0463", 1)] if em and session.place_of_service != "24" else [])
        facility, facility_notes = facility_lines(schedules, session, procedures, drugs)
        lines += [d for d in drugs if not d.code] + facility
        if any(d.code for d in drugs):
            facility_notes.append("In a facility the drugs are supplied and billed by the facility.")
        facility_notes.append("Totals are the practice's own claim; the facility's lines are shown for information.")
    else:
        lines += drugs
        facility_notes = []
    annual = round_cents(parameter("part_b/deductible", day).value)
    deductible = session.deductible_remaining
    if deductible is None:
        deductible = Decimal(0)
        notes.append("Part B deductible assumed already met (give the patient's remaining deductible to include it).")
    if not 0 <= deductible <= annual:
        raise InputError(f"remaining deductible {deductible} must be between 0 and the {day.year} deductible {annual}",
                         field="deductible_remaining")  # fmt: skip
    apply_patient_share(lines, deductible=deductible, sequestration=rate("sequestration_rate", day))
    if not session.participating:
        notes.append("Non-participating: PFS lines at 95% of the par amount; the patient may be billed up to the "
                     "limiting charge (109.25% of par) when the claim is not assigned. Drugs are paid on assignment.")  # fmt: skip
    locality = "national" if where == ("", "") else f"{where[0]}-{where[1]}"
    claim = Claim(session, f"{site} (POS {session.place_of_service}, {setting} rates)", locality, lines, warnings,
                  list(dict.fromkeys(basis.notes() + notes + facility_notes)), facility_notes=list(dict.fromkeys(facility_notes)))  # fmt: skip
    if compare_sites:
        claim.sites = [site_summary(estimate(schedules, replace(session, place_of_service=pos), compare_sites=False))
                       for pos in ("11", "22", "24")]  # fmt: skip
    return claim


def site_summary(claim: Claim) -> dict:
    """One row of the office / hospital outpatient / ASC comparison."""
    def by(name: str, *billers: str) -> Decimal:
        return sum((getattr(line, name) for line in claim.lines if line.biller in billers), Decimal("0.00"))

    everyone = ("physician", "facility", "not billed")
    sources = sorted({line.source for line in claim.lines if line.source and line.allowed > 0})
    return {
        "site": claim.setting,
        "physician_allowed": f"{by('allowed', 'physician'):.2f}",
        "facility_allowed": f"{by('allowed', 'facility'):.2f}",
        "total_allowed": f"{by('allowed', *everyone):.2f}",
        "patient_share": f"{by('patient_share', *everyone):.2f}",
        "medicare_payment_after_sequestration": f"{by('payer_payment', *everyone) - by('sequestration', *everyone):.2f}",
        "sources": ", ".join(sources),
        "notes": " ".join(claim.facility_notes),
    }
