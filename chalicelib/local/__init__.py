"""The embedded runtime for `make run` and the tests: a moto server on loopback, the tables
built from the production definitions, demo data, and captured email and SMS."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

PROJECT_DIR = Path(__file__).resolve().parents[2]


def app_module() -> ModuleType:
    """The project's app.py (importable from anywhere, e.g. the `lastmile` console script)."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    return importlib.import_module("app")
