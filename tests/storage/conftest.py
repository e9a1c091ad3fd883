"""Store-level fixtures: every `Store` operation runs directly against each backend.

`store_url` is a database of each kind: SQLite (a temp file), PostgreSQL (the run's database, skipping
or failing as tests/conftest.py says) and embedded ClickHouse (chdb; one directory for the whole run,
since chdb opens one directory per process). Each test works in organizations of its own.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "chdb"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "chdb":
        url: str = request.getfixturevalue("chdb_url")
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.getbasetemp() / 'store-conformance.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    return url
