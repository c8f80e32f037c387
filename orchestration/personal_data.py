"""The salt that staging hashes ids with when they are phone numbers or e-mail addresses.

dbt reads it from the environment (macros/personal_data.sql); this module checks it before
anything runs, so that a run without it stops with one line that names the variable instead
of failing inside dbt after the raw tables were replaced.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

PII_SALT_ENV = "CAMPAIGN_REPORT_PII_SALT"
# A phone number has about ten digits, so a short salt could be found by trying them all
# against a known number's hash. macros/personal_data.sql holds dbt to the same length.
MIN_SALT_LENGTH = 16
# Public on purpose: the demo and the examples hold no real person, and a fixed salt keeps
# their hashed ids the same from run to run and machine to machine.
DEMO_PII_SALT = "campaign-report-demo-salt-not-for-real-data"


class PiiSaltError(RuntimeError):
    """The salt is missing or too short to protect a phone number."""


def require_pii_salt(environ: Mapping[str, str] | None = None) -> None:
    """Fail, naming the variable and what it needs, unless the salt is set and long enough."""
    env = os.environ if environ is None else environ
    salt = env.get(PII_SALT_ENV, "")
    if not salt:
        raise PiiSaltError(
            f"{PII_SALT_ENV} is not set: staging replaces ids that are phone numbers or "
            f"e-mail addresses with a salted hash; set it to a random secret of at least "
            f"{MIN_SALT_LENGTH} characters and keep it unchanged between runs"
        )
    # Blanks add nothing an attacker would have to guess, so they do not count.
    counted = len("".join(salt.split()))
    if counted < MIN_SALT_LENGTH:
        raise PiiSaltError(
            f"{PII_SALT_ENV}: expected a secret of at least {MIN_SALT_LENGTH} characters "
            f"other than blanks, got {counted}"
        )


@contextmanager
def demo_pii_salt() -> Iterator[None]:
    """Hash with the public demo salt for the duration of a demo or example run.

    The dbt process that dagster-dbt starts inherits this process's environment, so the
    variable is set here and put back as it was afterwards.
    """
    previous = os.environ.get(PII_SALT_ENV)
    os.environ[PII_SALT_ENV] = DEMO_PII_SALT
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PII_SALT_ENV, None)
        else:
            os.environ[PII_SALT_ENV] = previous
