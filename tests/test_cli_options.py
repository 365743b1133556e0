"""Every option of the session commands changes what they produce (or is refused): no option is
accepted and ignored. Each option is run against the same baseline session and its output compared."""

import json

import pytest
from click.testing import CliRunner

from estimator.cli import SESSION_OPTIONS, main

BASE = ["--date", "2026-03-02", "--zip", "35203", "--muscles", "2"]
VALUES = {  # option: the arguments that set it to something other than the baseline
    "--date": ["--date", "2025-06-02"],
    "--pos": ["--pos", "22"],
    "--zip": ["--zip", "10001"],
    "--locality": ["--locality", "01112-18"],
    "--muscles": ["--muscles", "3"],
    "--muscle": ["--muscle", "trapezius:left", "--muscle", "rhomboid:left", "--muscle", "levator scapulae:left"],
    "--injections": ["--injections", "12"],
    "--guidance": ["--guidance", "ultrasound"],
    "--drug": ["--drug", "triamcinolone:40mg"],
    "--em": ["--em", "99213", "--em-separate"],
    "--em-separate": ["--em", "99213", "--em-separate"],
    "--dx": ["--dx", "M54.2"],
    "--repeat": ["--repeat", "same_physician"],
    "--prior": ["--prior", "2025-10-01", "--prior", "2025-12-01", "--prior", "2026-02-01"],
    "--deductible": ["--deductible", "100"],
    "--nonpar": ["--nonpar"],
    "--cf-track": ["--cf-track", "qualifying_apm"],
}


def names(option) -> str:
    return max(option(lambda: None).__click_params__[0].opts, key=len)


def run(args) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("option", sorted(names(o) for o in SESSION_OPTIONS))
def test_every_session_option_changes_the_estimate(option):
    assert option in VALUES, f"{option}: add a value that exercises it"
    base = run(["session", *BASE, "--json"])
    changed = run(["session", *BASE, *VALUES[option], "--json"])
    assert base[0] == 0
    if changed[0] == 0:
        before, after = json.loads(base[1]), json.loads(changed[1])
        without_echo = {k: v for k, v in after.items() if k != "session"}
        assert without_echo != {k: v for k, v in before.items() if k != "session"}, option
    else:
        assert changed[0] == 2 and "error:" in changed[1], (option, changed[1])
