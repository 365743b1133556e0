"""One trigger point session -> the claim it produces, priced by the engine, with reasons.

Coding rules (sources in fee_schedules/ and the README):
- 20552 for 1-2 distinct muscles, 20553 for 3 or more; one unit per session whatever the number of
  injections; never both. A muscle counts once per side: left and right of one muscle are two; a
  muscle named without a side counts once, and not again when the same muscle is also named by side.
- Imaging guidance 76942 / 77002, one unit (in a facility the engine bills its -26).
- A same-day E/M (99202-99215) only with modifier 25 when significant and separately identifiable;
  otherwise it is part of the procedure (global period 000) and is not billed.
- Drugs: units = dose / the ASP file's dosage unit, rounded up. From a single-dose container, the
  discarded amount billed beyond the units given goes on its own line with JW; when nothing
  discarded is billed separately the drug line carries JZ (CMS JW/JZ policy, from July 1, 2023).
  JW and JZ apply to single-dose containers only. Local anesthetic and saline are not billed.
- In a hospital outpatient department or ASC the facility bills its own lines (the procedure, the
  guidance, the drugs and, at a hospital, the clinic visit G0463); they are shown for information.

Pricing (Medicare amounts, claim edits, multiple procedures, lesser of charges, cost sharing) is the
engine's (estimator.engine); this module only turns a session into claim lines and back.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache

import numpy as np
import pandas as pd
import yaml

from .contracts import TRADITIONAL_MEDICARE, Contract, Practice
from .domain import Biller, FacilityPayment, Kind, Setting, place_of_service
from .engine import Book, Priced, price
from .errors import InputError
from .parameters import parameter
from .policies import covered_list, diagnosis_warnings, frequency_warnings, limits
from .store import SHIPPED, FeeSchedules
from .textio import decimal_field

REPEAT_MODIFIER = {None: None, "same_physician": "76", "another_physician": "77"}
MASS_IN_MG = {"MG": Fraction(1), "MCG": Fraction(1, 1000), "G": Fraction(1000)}
UNIT_NAMES = {"mg": "MG", "mcg": "MCG", "g": "G", "unit": "UNIT", "units": "UNIT", "u": "UNIT", "ml": "ML", "cc": "ML"}
LIMITS = {"muscles": 100, "drugs": 20, "diagnoses": 12, "prior_sessions": 100, "requested_modifiers": 4}
MAX_DOSE = Decimal(100_000)  # in the unit given
MAX_UNITS = 9999


@cache
def _yaml(name: str) -> dict:
    return yaml.safe_load((SHIPPED / name).read_text())


def labels() -> dict[str, str]:
    """Plain labels written for the codes the product centres on (fee_schedules/labels.yaml)."""
    return {str(k): v for k, v in _yaml("labels.yaml").items()}


def guidance_codes(day: dt.date) -> dict[str, str]:
    return parameter("coding/imaging_guidance_codes", day).value["by_kind"]


# -- input --------------------------------------------------------------------------------


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
            raise InputError(f"{text[:60]!r}: write a drug as NAME:DOSEUNIT[:WASTED], e.g. triamcinolone:40mg", field="drug")
        wasted = decimal_field(parts[2], "wasted") if len(parts) == 3 else Decimal(0)
        return cls(parts[0].strip(), decimal_field(match.group(1), "dose"), match.group(2), wasted)


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
    frequency_rule: str | None = None  # a preset's name (policies); None: traditional Medicare's default
    covered_diagnoses: str | tuple[str, ...] | None = None  # a list's name or codes; None: Medicare's default

    @classmethod
    def from_dict(cls, data) -> Session:
        """Build a session from JSON-like data; every bad field is an InputError naming it."""
        if not isinstance(data, dict):
            raise InputError("the session must be a mapping of fields", field="session")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)[:200]}", field=unknown[0][:40])
        values = dict(data)

        def date(text, name):
            try:
                return dt.date.fromisoformat(str(text)[:10] if isinstance(text, str) and len(text) == 10 else str(text))
            except ValueError:
                raise InputError(f"{str(text)[:30]!r} is not a date like 2026-03-02", field=name) from None

        if "date_of_service" not in values:
            raise InputError("the date of service is required", field="date_of_service")
        values["date_of_service"] = date(values["date_of_service"], "date_of_service")
        for name, limit in LIMITS.items():
            if not isinstance(values.get(name, []), (list, tuple)):
                raise InputError(f"{name} must be a list", field=name)
            if len(values.get(name, [])) > limit:
                raise InputError(f"{len(values[name])} entries; at most {limit}", field=name)
        values["prior_sessions"] = tuple(date(d, "prior_sessions") for d in values.get("prior_sessions", ()))
        values["muscles"] = tuple(_muscle(m) for m in values.get("muscles", ()))
        values["drugs"] = tuple(_drug(d) for d in values.get("drugs", ()))
        values["diagnoses"] = tuple(str(d).strip().upper()[:10] for d in values.get("diagnoses", ()))
        values["requested_modifiers"] = tuple(str(m).strip().upper()[:2] for m in values.get("requested_modifiers", ()))
        if values.get("frequency_rule") is not None:
            limits(values["frequency_rule"], "frequency_rule")  # a preset's name
        values["covered_diagnoses"] = covered_list(values.get("covered_diagnoses"))
        if values.get("deductible_remaining") is not None:
            values["deductible_remaining"] = decimal_field(values["deductible_remaining"], "deductible_remaining", places=2)
        for name, high in (("muscle_count", 100), ("injections", 1000), ("requested_units", 99)):
            optional = name != "requested_units"
            whole = isinstance(values.get(name), int) and not isinstance(values.get(name), bool)
            if name in values and not whole and not (optional and values[name] is None):
                raise InputError(f"{repr(values[name])[:20]} is not a whole number", field=name)
            if isinstance(values.get(name), int) and values[name] > high:
                raise InputError(f"{values[name]} is more than {high}", field=name)
        for name in ("participating", "em_separately_identifiable", "work_gpci_floor"):
            if name in values and not isinstance(values[name], bool) and not (name == "work_gpci_floor" and values[name] is None):
                raise InputError(f"{repr(values[name])[:20]} is not true or false", field=name)
        for name in ("place_of_service", "zip_code", "locality", "em_code"):
            if values.get(name) is not None:
                values[name] = str(values[name]).strip()[:20] or None
        if values.get("place_of_service") is None:
            values.pop("place_of_service", None)
        if values.get("zip_code") and not re.fullmatch(r"\d{5}(?:-?\d{4})?", values["zip_code"]):
            raise InputError(f"{values['zip_code']!r} is not a ZIP code (5 digits, or ZIP+4)", field="zip_code")
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
        raise InputError(
            f"{str(entry)[:60]!r}: give a muscle as {{'muscle': 'trapezius', 'side': 'left'}} or 'trapezius:left'",
            field="muscles",
        )
    side = "" if side is None or (isinstance(side, float) and side != side) else str(side).strip().lower()
    if side not in ("left", "right", "", "midline"):
        raise InputError(f"side {side[:20]!r} must be left, right or midline", field="muscles")
    name = "" if name is None or (isinstance(name, float) and name != name) else str(name).strip().lower()
    if not name:
        raise InputError("a muscle needs a name", field="muscles")
    return name[:60], side


def _drug(entry) -> DrugGiven:
    if isinstance(entry, str):
        return DrugGiven.parse(entry)
    if not isinstance(entry, dict) or not {"drug", "dose", "unit"} <= set(entry):
        raise InputError(f"{str(entry)[:60]!r}: a drug needs drug, dose and unit", field="drugs")
    concentration = entry.get("concentration")
    if concentration is not None and not isinstance(concentration, str):
        raise InputError(f"concentration {concentration!r}: write it with its units, e.g. '40 mg/ml'", field="concentration")
    single_dose = entry.get("single_dose_vial", True)
    if not isinstance(single_dose, bool):
        raise InputError(f"{str(single_dose)[:20]!r} is not true or false", field="single_dose_vial")
    return DrugGiven(
        str(entry["drug"])[:60],
        decimal_field(entry["dose"], "dose"),
        str(entry["unit"])[:10],
        decimal_field(entry.get("wasted", 0) or 0, "wasted"),
        concentration,
        single_dose,
    )


# -- coding: the session's claim lines ------------------------------------------------------


def distinct_muscles(muscles: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Each muscle once per side; a muscle named without a side is absorbed by its sided entries."""
    sided = {name for name, side in muscles if side}
    return sorted({(name, side) for name, side in muscles if side or name not in sided})


def procedure_code(session: Session) -> tuple[str, str]:
    """20552 for 1 or 2 distinct muscles, 20553 for 3 or more (left and right count as two)."""
    if session.muscles:
        distinct = distinct_muscles(session.muscles)
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


def em_line_or_warning(session: Session) -> tuple[str | None, list[str]]:
    """The E/M is billed with modifier 25 only when significant and separately identifiable."""
    if session.em_code is None:
        return None, []
    if session.em_code not in parameter("coding/office_visit_codes", session.date_of_service).value:
        raise InputError(f"{session.em_code} is not an office E/M code (99202-99205, 99211-99215)", field="em_code")
    if not session.em_separately_identifiable:
        return None, [
            f"{session.em_code} not billed: without a significant, separately identifiable service the visit "
            "is part of the procedure (global period 000); mark it separately identifiable to bill it with 25."
        ]
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
            raise InputError(
                f"{drug.drug} is priced per {dosage_unit} ({hcpcs}); a dose in ml needs a concentration such as '40 mg/ml'",
                field="drugs",
            )
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
    raise InputError(f"unknown drug {name[:60]!r}; known: {known}, or give its HCPCS code", field="drugs")


def drug_lines(schedules: FeeSchedules, session: Session, biller: Biller) -> tuple[list[dict], list[str], list[str]]:
    """Drug lines: units rounded up to the ASP dosage, waste with JW, JZ when no waste is billed."""
    lines: list[dict] = []
    warnings: list[str] = []
    notes: list[str] = []
    if not session.drugs:
        return lines, warnings, notes
    vintage, _ = schedules.in_force_or_latest("asp", session.date_of_service)
    if vintage is None:
        raise InputError(f"no ASP file is held for {session.date_of_service} or before", field="date of service")
    asp = schedules.table(vintage).set_index("hcpcs")
    for drug in session.drugs:
        if not 0 < drug.dose <= MAX_DOSE:
            raise InputError(f"dose of {drug.drug} must be more than 0 and at most {MAX_DOSE:,} (got {drug.dose})", field="dose")
        if not 0 <= drug.wasted <= MAX_DOSE:
            raise InputError(
                f"wasted amount of {drug.drug} must be between 0 and {MAX_DOSE:,} (got {drug.wasted})", field="wasted"
            )
        entry, replaced = resolve_drug(drug.drug)
        notes += replaced
        given_text = f"{drug.dose} {drug.unit}"
        if entry.get("separately_payable") is False:
            lines.append(
                {
                    "code": "",
                    "biller": Biller.NOT_BILLED.value,
                    "label": f"{entry['name']} {given_text}",
                    "reason": entry["reason"],
                    "units": 1,
                }
            )
            continue
        hcpcs = entry["hcpcs"]
        if hcpcs not in asp.index or pd.isna(asp.loc[hcpcs, "payment_limit"]):
            raise InputError(
                f"{hcpcs} ({entry['name']}) has no payment limit in {vintage.label}: the carrier prices it, or it is not payable",
                field="drugs",
            )
        per_unit, dosage_unit = _dosage(asp.loc[hcpcs, "dosage"], hcpcs)
        units = math.ceil(_in_dosage_units(drug, drug.dose, dosage_unit, hcpcs) / per_unit)
        all_units = math.ceil(_in_dosage_units(drug, drug.dose + drug.wasted, dosage_unit, hcpcs) / per_unit)
        if all_units > MAX_UNITS:
            raise InputError(
                f"{given_text} of {entry['name']} is {all_units:,} billing units of {asp.loc[hcpcs, 'dosage']}; "
                f"at most {MAX_UNITS:,} can be billed on a line: check the dose and its unit",
                field="dose",
            )
        waste_line = drug.single_dose_vial and all_units > units
        modifiers = "JZ" if drug.single_dose_vial and not waste_line else ""
        limit = asp.loc[hcpcs, "payment_limit"] / 1000
        reason = (
            f"{given_text} = {units} unit(s) of {asp.loc[hcpcs, 'dosage']}, rounded up; at ${limit:.3f} per unit "
            "(ASP payment limit, already 106% of ASP)."
        )
        lines.append(
            {
                "code": hcpcs,
                "modifiers": modifiers,
                "units": units,
                "biller": biller.value,
                "label": f"{entry['name']} {given_text}",
                "reason": reason,
            }
        )
        if waste_line:
            lines.append(
                {
                    "code": hcpcs,
                    "modifiers": "JW",
                    "units": all_units - units,
                    "biller": biller.value,
                    "label": f"{entry['name']} waste",
                    "reason": f"{drug.wasted} {drug.unit} discarded from a single-dose vial: {all_units - units} unit(s).",
                }
            )
        elif drug.wasted > 0:
            notes.append(
                f"The {drug.wasted} {drug.unit} of {entry['name']} discarded is within the units already billed"
                + (
                    " (JZ: no discarded amount is billed separately)."
                    if drug.single_dose_vial
                    else "; a multi-dose vial carries neither JW nor JZ."
                )
            )
    return lines, warnings, notes


@dataclass
class Coded:
    """The claim lines of a session at one place of service, with what the coder must know."""

    place: str
    lines: list[dict]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facility_notes: list[str] = field(default_factory=list)


def code_session(schedules: FeeSchedules, session: Session, place: str | None = None) -> Coded:
    """The session's claim lines at ``place`` (default: its own place of service)."""
    pos = place_of_service(place or session.place_of_service)
    day = session.date_of_service
    if session.guidance not in ("none", *guidance_codes(day)):
        raise InputError(f"guidance {session.guidance!r}: use none, {', '.join(guidance_codes(day))}", field="guidance")
    if session.repeat not in REPEAT_MODIFIER:
        raise InputError(f"repeat {session.repeat!r}: use same_physician or another_physician", field="repeat")
    code, reason = procedure_code(session)
    warnings = procedure_warnings(session, code)
    em, em_warnings = em_line_or_warning(session)
    warnings += em_warnings
    repeat = REPEAT_MODIFIER[session.repeat]
    if repeat:
        reason += f" Modifier {repeat}: repeat session by {'the same' if repeat == '76' else 'another'} physician."
    names = labels()
    lines = [{"code": code, "modifiers": repeat or "", "label": names.get(code, code), "reason": reason}]
    guidance = guidance_codes(day).get(session.guidance)
    if guidance:
        where = "" if pos.setting == Setting.FACILITY else ", global (the office owns the equipment)"
        lines.append(
            {
                "code": guidance,
                "label": names.get(guidance, guidance),
                "reason": f"{session.guidance.capitalize()} guidance, one unit{where}.",
            }
        )
    if em:
        lines.append(
            {
                "code": em,
                "modifiers": "25",
                "label": names.get(em, em),
                "reason": "Significant, separately identifiable visit the same day: modifier 25.",
            }
        )
    facility_drugs = pos.facility != FacilityPayment.NONE
    drugs, drug_warnings, notes = drug_lines(schedules, session, Biller.FACILITY if facility_drugs else Biller.PHYSICIAN)
    warnings += drug_warnings
    facility_notes = []
    if pos.facility == FacilityPayment.NONE:
        lines += drugs
    else:
        lines += [d for d in drugs if d["biller"] == Biller.NOT_BILLED]
        facility = [code] + ([guidance] if guidance else [])
        if em and pos.facility == FacilityPayment.OPPS:
            facility.append(parameter("facility/clinic_visit_code", day).value)
        lines += [{"code": c, "biller": Biller.FACILITY.value, "label": f"{c} (facility)"} for c in facility]
        lines += [d for d in drugs if d["biller"] == Biller.FACILITY]
        if any(d["biller"] == Biller.FACILITY for d in drugs):
            facility_notes.append("In a facility the drugs are supplied and billed by the facility.")
        facility_notes += [
            "Facility rates are national unadjusted (no wage index).",
            "Totals are the practice's own claim; the facility's lines are shown for information.",
        ]
    return Coded(pos.code, lines, warnings, notes, facility_notes)


def line_table(
    session: Session, coded: Coded, claim: str, payer: str, *, deductible: Decimal = Decimal(0), practice: Practice | None = None
) -> pd.DataFrame:
    """The engine's input table for a coded session under one payer (billed charges from the
    practice's charge master when it has one)."""
    frame = pd.DataFrame(coded.lines)
    for name, default in (("modifiers", ""), ("units", 1), ("biller", Biller.PHYSICIAN.value), ("reason", "")):
        frame[name] = frame[name].fillna(default) if name in frame else default
    frame["claim"], frame["payer"], frame["place_of_service"] = claim, payer, coded.place
    frame["line"] = range(1, len(frame) + 1)
    frame["date_of_service"] = session.date_of_service
    frame["zip_code"], frame["locality"] = session.zip_code or "", session.locality or ""
    frame["participating"], frame["cf_track"] = session.participating, session.cf_track
    frame["work_gpci_floor"] = "" if session.work_gpci_floor is None else ("on" if session.work_gpci_floor else "off")
    frame["deductible"] = int(deductible * 100)
    frame["billed"] = pd.array([None] * len(frame), dtype="Int64")
    if practice is not None and practice.charges:
        keys = frame["code"] + np.where(
            frame["modifiers"].str.contains(r"\b(?:26|TC)\b"),
            "-" + frame["modifiers"].str.extract(r"\b(26|TC)\b")[0].fillna(""),
            "",
        )
        per_unit = practice.charge_cents(frame["code"], keys)
        physician = frame["biller"] == Biller.PHYSICIAN
        frame["billed"] = pd.array(
            [c * u if c is not None and p else None for c, u, p in zip(per_unit, frame["units"], physician, strict=True)],
            dtype="Int64",
        )
    return frame


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
    release: str  # the CMS files that priced the line
    edit: str = ""
    medicare: Decimal = Decimal("0.00")
    limiting_charge: Decimal | None = None
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


MONEY_FIELDS = (
    "allowed",
    "copay",
    "deductible",
    "coinsurance",
    "patient_share",
    "payer_payment",
    "sequestration",
    "expected_to_provider",
)


def _dollars(cents) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def claim_lines(priced: pd.DataFrame) -> list[ClaimLine]:
    """The engine's priced rows of one claim as display lines."""
    out = []
    for r in priced.itertuples(index=False):
        not_billed = r.biller == Biller.NOT_BILLED
        out.append(
            ClaimLine(
                "" if not_billed else r.code,
                tuple(r.modifiers.split()),
                0 if not_billed else int(r.units),
                r.label,
                r.biller,
                _dollars(r.allowed),
                r.reason,
                r.release,
                r.edit,
                _dollars(r.medicare),
                None if pd.isna(r.limiting_charge) else _dollars(r.limiting_charge),
                _dollars(r.copay),
                _dollars(r.deductible_applied),
                _dollars(r.coinsurance),
                _dollars(r.payer_payment),
                _dollars(r.sequestration),
            )
        )
    return out


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
        return sum((getattr(line, name) for line in self.lines if line.biller != Biller.FACILITY), Decimal("0.00"))

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for line in self.lines:
            row = {
                "code": line.code,
                "modifiers": " ".join(line.modifiers),
                "units": line.units,
                "label": line.label,
                "biller": line.biller,
            }
            row |= {name: f"{getattr(line, name):.2f}" for name in MONEY_FIELDS}
            row["limiting_charge"] = "" if line.limiting_charge is None else f"{line.limiting_charge:.2f}"
            row |= {"edit": line.edit, "reason": line.reason, "release": line.release}
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


SITES = ("11", "22", "24")


def policy_warnings(session: Session, contract: Contract) -> list[str]:
    """The session under a payer's policy: its frequency limits and covered diagnoses. For traditional
    Medicare, a preset or list chosen on the session stands in for the contract's (else the default)."""
    rules, covered = contract.frequency_limits(), contract.diagnosis_list()
    if contract.kind == Kind.MEDICARE:
        rules = limits(session.frequency_rule) if session.frequency_rule else rules
        covered = session.covered_diagnoses or covered
    warnings = frequency_warnings(rules, session.date_of_service, session.prior_sessions)
    return warnings + diagnosis_warnings(covered, session.diagnoses)


def part_b_deductible_owed(session: Session) -> Decimal:
    """The patient's Part B deductible still owed on this claim: the figure given, between 0 and the
    year's deductible (parameters/part_b/deductible.yaml); 0 when none is given (assumed met)."""
    owed = session.deductible_remaining
    if owed is None:
        return Decimal(0)
    annual = parameter("part_b/deductible", session.date_of_service).value
    if not 0 <= owed <= annual:
        raise InputError(
            f"remaining deductible {owed} must be between 0 and the {session.date_of_service.year} deductible {annual}",
            field="deductible_remaining",
        )
    return owed


def estimate(schedules: FeeSchedules, session: Session, *, practice: Practice | None = None, compare_sites: bool = True) -> Claim:
    """The claim a trigger point session produces, priced for traditional Medicare; with the same
    session at the office, the hospital outpatient department and the ASC, priced in the same call."""
    places = [session.place_of_service] + (list(SITES) if compare_sites else [])
    owed = part_b_deductible_owed(session)
    coded = [code_session(schedules, session, place) for place in places]
    tables = [
        line_table(session, c, f"site {i}", TRADITIONAL_MEDICARE.payer, deductible=owed, practice=practice)
        for i, c in enumerate(coded)
    ]
    priced = price(pd.concat(tables, ignore_index=True), Book(schedules, {TRADITIONAL_MEDICARE.payer: TRADITIONAL_MEDICARE}))
    failed = priced.lines[~priced.ok]
    if not failed.empty:
        raise InputError(failed["error"].iloc[0], field=failed["error_field"].iloc[0])
    claims = [priced_claim(session, c, priced, f"site {i}", owed) for i, c in enumerate(coded)]
    claim = claims[0]
    claim.warnings = policy_warnings(session, TRADITIONAL_MEDICARE) + claim.warnings
    if compare_sites:
        claim.sites = [site_summary(c) for c in claims[1:]]
    return claim


def priced_claim(session: Session, coded: Coded, priced: Priced, claim: str, owed: Decimal | None) -> Claim:
    rows = priced.lines[priced.lines["claim"] == claim]
    pos = place_of_service(coded.place)
    notes, warnings, facility_notes = list(priced.notes) + coded.notes, list(coded.warnings), list(coded.facility_notes)
    for biller, category, note in rows[["biller", "category", "note"]].itertuples(index=False):
        if not note:
            continue
        if biller == Biller.FACILITY:
            facility_notes.insert(0, note)
        elif category == "drug":
            warnings.append(note + " Import the quarter's ASP file for exact drug figures.")
        else:
            notes.append(note)
    warnings, facility_notes = list(dict.fromkeys(warnings)), list(dict.fromkeys(facility_notes))
    if owed is None:
        notes.append("Part B deductible assumed already met (give the patient's remaining deductible to include it).")
    if not session.participating:
        notes.append(
            "Non-participating: PFS lines at 95% of the par amount; the patient may be billed up to the limiting "
            "charge (109.25% of par) when the claim is not assigned. Drugs are paid on assignment."
        )
    first = rows.iloc[0]
    locality = "national" if not first["carrier"] else f"{first['carrier']}-{first['locality']}"
    return Claim(
        session,
        f"{pos.label} (POS {pos.code}, {pos.setting.value} rates)",
        locality,
        claim_lines(rows),
        warnings,
        list(dict.fromkeys(notes + facility_notes)),
        facility_notes=facility_notes,
    )


def site_summary(claim: Claim) -> dict:
    """One row of the office / hospital outpatient / ASC comparison."""

    def by(name: str, *billers: str) -> Decimal:
        return sum((getattr(line, name) for line in claim.lines if line.biller in billers), Decimal("0.00"))

    everyone = (Biller.PHYSICIAN, Biller.FACILITY, Biller.NOT_BILLED)
    sources = sorted({line.release for line in claim.lines if line.release and line.allowed > 0})
    return {
        "site": claim.setting,
        "physician_allowed": f"{by('allowed', Biller.PHYSICIAN):.2f}",
        "facility_allowed": f"{by('allowed', Biller.FACILITY):.2f}",
        "total_allowed": f"{by('allowed', *everyone):.2f}",
        "patient_share": f"{by('patient_share', *everyone):.2f}",
        "medicare_payment_after_sequestration": f"{by('payer_payment', *everyone) - by('sequestration', *everyone):.2f}",
        "sources": ", ".join(sources),
        "notes": " ".join(claim.facility_notes),
    }
