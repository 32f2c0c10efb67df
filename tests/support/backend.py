"""The database backend of this run and how a missing prerequisite is reported.

SHAREHUB_TEST_DB=sqlite|postgres picks the database (`make test` runs both). With CI=true a
missing PostgreSQL (or browser, or server binary) is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os

import pytest

BACKEND = os.environ.get("SHAREHUB_TEST_DB", "sqlite")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(message: str):
    """A prerequisite is missing: fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
