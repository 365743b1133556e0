"""The product's vocabulary: typed values every rule decides on (never message text or file names).

The enums are ``StrEnum``s, so a column of a priced line table holds plain strings that compare
equal to the members (``frame["category"] == Category.DRUG``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """What a claim line is, for the rules that treat kinds of lines differently."""

    PROCEDURE = "procedure"
    GUIDANCE = "guidance"
    EM = "em"
    DRUG = "drug"
    FACILITY = "facility"  # the hospital's or ASC's own line (OPPS / ASC rates)
    NOT_BILLED = "not billed"  # shown for information (local anesthetic, saline)


class Biller(StrEnum):
    PHYSICIAN = "physician"
    FACILITY = "facility"
    NOT_BILLED = "not billed"


class Setting(StrEnum):
    """Which PFS practice-expense RVU prices the physician's line (RVU25D.pdf)."""

    NONFACILITY = "nonfacility"
    FACILITY = "facility"


class FacilityPayment(StrEnum):
    """Which Medicare system pays the facility at a place of service."""

    NONE = ""
    OPPS = "opps"
    ASC = "asc"


@dataclass(frozen=True)
class PlaceOfService:
    code: str
    label: str
    setting: Setting
    facility: FacilityPayment


PLACES_OF_SERVICE = {
    p.code: p
    for p in (
        PlaceOfService("11", "office", Setting.NONFACILITY, FacilityPayment.NONE),
        PlaceOfService("19", "hospital outpatient, off campus", Setting.FACILITY, FacilityPayment.OPPS),
        PlaceOfService("21", "inpatient hospital", Setting.FACILITY, FacilityPayment.NONE),
        PlaceOfService("22", "hospital outpatient, on campus", Setting.FACILITY, FacilityPayment.OPPS),
        PlaceOfService("24", "ambulatory surgical center", Setting.FACILITY, FacilityPayment.ASC),
    )
}


def place_of_service(code: str) -> PlaceOfService:
    from .errors import InputError

    place = PLACES_OF_SERVICE.get(str(code).strip().zfill(2))
    if place is None:
        known = ", ".join(f"{p.code} ({p.label})" for p in PLACES_OF_SERVICE.values())
        raise InputError(f"place of service {code!r} is not one of {known}", field="place_of_service")
    return place


class Kind(StrEnum):
    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    COMMERCIAL = "commercial"
    MEDICAID = "medicaid"
    SELF_PAY = "self_pay"


class Method(StrEnum):
    MEDICARE = "medicare"
    PERCENT_OF_MEDICARE = "percent_of_medicare"
    FEE_SCHEDULE = "fee_schedule"
    PERCENT_OF_CHARGES = "percent_of_charges"
    DOLLARS_PER_RVU = "dollars_per_rvu"


class DrugMethod(StrEnum):
    SAME_AS_PROCEDURES = "same_as_procedures"
    ASP_PLUS = "asp_plus"
    PERCENT_OF_ASP = "percent_of_asp"
    PER_UNIT = "per_unit"
    NOT_COVERED = "not_covered"


class Edit(StrEnum):
    """A claim edit or payment rule that changed what a line pays (the ``edit`` column)."""

    NONE = ""
    UNITS = "units"  # more units than allowed per claim and date (MUE or unit-of-service rule)
    EXCLUSIVE = "exclusive"  # one code of a group per session
    EM_IN_GLOBAL = "em_in_global"  # E/M on the day of a minor procedure without modifier 25
    ADD_ON = "add_on"  # add-on code without its primary procedure
    PROFESSIONAL = "professional_component"  # imaging in a facility: the physician's -26 only
    MULTIPLE_PROCEDURE = "multiple_procedure"  # ranked and reduced (MULT PROC indicator)
    NOT_PAID = "not_paid"  # PFS status or facility packaging: priced at 0 with its reason
    PROPOSED = "proposed"  # a proposed rule's reduction, in a what-if (estimator.proposals)
