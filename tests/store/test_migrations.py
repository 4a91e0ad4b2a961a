import re
import sqlite3

import pytest

from lessons.store import MIGRATIONS, Store, apply_migrations


def test_migrations_are_numbered_contiguously():
    numbers = [int(re.fullmatch(r"m(\d{3})_\w+", name).group(1)) for name, _ in MIGRATIONS]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))


@pytest.mark.parametrize("shipped", range(len(MIGRATIONS) + 1))
def test_a_database_from_every_shipped_schema_migrates_to_today(tmp_path, shipped):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, fn in MIGRATIONS[:shipped]:
        fn(db)
        db.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
    db.close()
    store = Store.open(path)
    applied = [r[0] for r in store.db.execute("SELECT name FROM migrations ORDER BY name")]
    assert applied == [name for name, _ in MIGRATIONS]
    assert apply_migrations(store.db) == []  # nothing left to do on a second open


def test_a_database_from_a_newer_lessons_is_refused(tmp_path):
    store = Store.open(tmp_path / "x.db")
    store.db.execute("INSERT INTO migrations VALUES ('m999_future', 'later')")
    store.close()
    with pytest.raises(RuntimeError, match="newer lessons"):
        Store.open(tmp_path / "x.db")


def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("boom")

    monkeypatch.setattr("lessons.store.migrations.MIGRATIONS", MIGRATIONS + [(f"m{len(MIGRATIONS) + 1:03d}_broken", broken)])
    with pytest.raises(sqlite3.OperationalError):
        Store.open(tmp_path / "y.db")
    db = sqlite3.connect(tmp_path / "y.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half_done" not in tables and "attempts" in tables


def test_wal_mode(tmp_path):
    store = Store.open(tmp_path / "w.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_diagnoses_from_before_m004_keep_their_rows_with_empty_arguments(tmp_path):
    path = tmp_path / "m003.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, fn in MIGRATIONS[:3]:
        fn(db)
        db.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
    db.execute("INSERT INTO diagnoses VALUES (7, 'arith', '[[0, 3]]', 0, 0.9, 'd', 'e', '[\"calculation\"]', "
               "'calculation', 0, 'then')")
    name, m004 = MIGRATIONS[3]
    assert name == "m004_diagnosis_args"
    m004(db)  # on the bare connection: the row's attempt is left out, so foreign keys stay off
    row = db.execute("SELECT attempt_id, method, args, error_type FROM diagnoses").fetchone()
    assert row == (7, "arith", "{}", "calculation")
