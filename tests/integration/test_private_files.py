"""What opstrack writes to disk is its owner's only: the SQLite database (with its
WAL and shared-memory files), the dev token file, the stack's state dir."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services.stack.secrets import write_secret
from services.stack.supervisor import make_state_dir
from services.store.db import make_engine
from services.store.migrate import init_db

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    # The usual 022 (files 0644): what made the database world-readable.
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        init_db(engine)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        engine.dispose()


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    db.touch()
    db.chmod(0o640)
    engine = make_engine(f"sqlite:///{db}")
    try:
        init_db(engine)
    finally:
        engine.dispose()
    assert oct(mode(db)) == "0o640"


@pytest.mark.usefixtures("loose_umask")
def test_a_secret_file_is_0600_even_over_an_older_wider_one(tmp_path: Path) -> None:
    path = tmp_path / "dev-token"
    path.write_text("old")
    path.chmod(0o644)
    assert write_secret(path, "ops_new") == path
    assert (path.read_text(), oct(mode(path))) == ("ops_new\n", "0o600")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev-token"]  # no temporary left


@pytest.mark.usefixtures("loose_umask")
def test_the_state_dir_is_created_0700(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    make_state_dir(state)
    assert oct(mode(state)) == "0o700"
