"""Where things live in a checkout of the repository.

Every path is absolute, because dbt runs with the dbt project as its working
directory and a relative path would then point somewhere else.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
PROFILES_DIR = REPO_ROOT
PROFILES_PATH = PROFILES_DIR / "profiles.yml"
PROFILES_EXAMPLE_PATH = REPO_ROOT / "profiles.example.yml"

DEFAULT_DATABASE = REPO_ROOT / "warehouse" / "campaign_report.duckdb"
DEFAULT_LANDING = REPO_ROOT / "landing"
DEFAULT_CONFIG = REPO_ROOT / "config" / "reports.yml"
HILLSTROM_CONFIG = REPO_ROOT / "examples" / "hillstrom.yml"


def ensure_profiles() -> Path:
    """Copy profiles.example.yml to profiles.yml unless the person already has one.

    profiles.yml is ignored by git so that local connection details stay local;
    `make setup` creates it, and this covers a run that skipped set-up.
    """
    if not PROFILES_PATH.is_file():
        shutil.copyfile(PROFILES_EXAMPLE_PATH, PROFILES_PATH)
    return PROFILES_PATH


def dbt_executable() -> str:
    """The dbt next to this Python, so that a run works without an activated venv."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.is_file() else "dbt"
