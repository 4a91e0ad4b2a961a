"""Schema migrations of the mistake log: an append-only list of small named functions.

Never edit one that shipped; add `m00N_...` instead. Applied names are recorded in the
`migrations` table, so a database from any earlier version migrates to today's.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def run_script(db: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one; unlike `executescript` this stays inside the
    caller's transaction, so a migration is all-or-nothing."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE suites (
            id TEXT PRIMARY KEY,            -- name@version:fingerprint
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            source TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            params TEXT NOT NULL,           -- JSON
            created_at TEXT NOT NULL
        );
        CREATE TABLE tasks (
            suite_id TEXT NOT NULL REFERENCES suites(id),
            task_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            answer TEXT NOT NULL,
            steps TEXT NOT NULL,            -- JSON list of {text, value}
            metadata TEXT NOT NULL,         -- JSON
            skill TEXT,
            split TEXT NOT NULL CHECK (split IN ('train', 'heldout')),
            PRIMARY KEY (suite_id, task_id)
        );
        CREATE TABLE model_versions (
            id TEXT PRIMARY KEY,            -- hash of backend, source and args
            name TEXT NOT NULL,
            backend TEXT NOT NULL,
            source TEXT NOT NULL,
            args TEXT NOT NULL,             -- JSON
            parent_id TEXT REFERENCES model_versions(id),
            lineage TEXT NOT NULL DEFAULT '{}',  -- JSON: how this version was made
            created_at TEXT NOT NULL
        );
        CREATE INDEX model_versions_name ON model_versions(name);
        CREATE TABLE prompt_templates (
            id TEXT PRIMARY KEY,            -- hash of the template text
            name TEXT NOT NULL,
            system TEXT NOT NULL,
            user TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            suite_id TEXT NOT NULL REFERENCES suites(id),
            model_version_id TEXT NOT NULL REFERENCES model_versions(id),
            template_id TEXT NOT NULL REFERENCES prompt_templates(id),
            sampling TEXT NOT NULL,         -- JSON SamplingParams
            components TEXT NOT NULL,       -- JSON: every component as {name, args}
            task_ids TEXT NOT NULL,         -- JSON list: the tasks this run covers, in order
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(id),
            task_id TEXT NOT NULL,
            sample INTEGER NOT NULL,
            text TEXT NOT NULL,
            answer TEXT,
            extraction_status TEXT NOT NULL,
            extraction_method TEXT,
            correct INTEGER NOT NULL,
            verifier TEXT NOT NULL,
            verdict_detail TEXT NOT NULL DEFAULT '',
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            finish_reason TEXT NOT NULL,
            logprob REAL,
            latency_s REAL NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (run_id, task_id, sample)
        );
        CREATE INDEX attempts_run_correct ON attempts(run_id, correct);
        """
    )



@migration
def m002_diagnoses(db: sqlite3.Connection) -> None:
    """Diagnoses of mistakes (one per attempt and locating method), the living taxonomy's
    clusters and memberships, and the weak slices found per run."""
    run_script(
        db,
        """
        CREATE TABLE diagnoses (
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            method TEXT NOT NULL,           -- locator that placed the first wrong step
            steps TEXT NOT NULL,            -- JSON [[start, end], ...]: offsets into the attempt text
            first_wrong_step INTEGER,       -- 0-based; NULL when the method found nothing wrong
            confidence REAL NOT NULL,
            detail TEXT NOT NULL,
            evidence TEXT NOT NULL,         -- kind of finding: false_statement, gold_mismatch, wrong_answer, ...
            error_types TEXT NOT NULL,      -- JSON list, most specific first, never empty
            error_type TEXT NOT NULL,       -- the first of error_types, for grouping in SQL
            tokens INTEGER NOT NULL,        -- tokens the method generated to decide
            created_at TEXT NOT NULL,
            PRIMARY KEY (attempt_id, method)
        );
        CREATE INDEX diagnoses_type ON diagnoses(error_type);
        CREATE TABLE clusters (
            taxonomy TEXT NOT NULL,         -- one living taxonomy per name ("default")
            cluster_id INTEGER NOT NULL,    -- stable: kept when mistakes are added or re-diagnosed
            name TEXT NOT NULL,
            terms TEXT NOT NULL,            -- JSON list of distinctive terms (c-TF-IDF)
            centroid BLOB NOT NULL,         -- float32 unit vector, fixed at birth
            radius REAL NOT NULL,           -- similarity of its least similar founding member
            generation INTEGER NOT NULL,    -- update in which it was born
            size INTEGER NOT NULL,          -- members in the latest update
            examples TEXT NOT NULL,         -- JSON list of attempt ids closest to the centroid
            updated_at TEXT NOT NULL,
            PRIMARY KEY (taxonomy, cluster_id)
        );
        CREATE TABLE cluster_members (
            taxonomy TEXT NOT NULL,
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            cluster_id INTEGER NOT NULL,
            similarity REAL NOT NULL,       -- cosine similarity to the centroid when assigned
            description TEXT NOT NULL,      -- the text that was embedded
            PRIMARY KEY (taxonomy, attempt_id)
        );
        CREATE TABLE slices (
            run_id TEXT NOT NULL REFERENCES runs(id),
            view TEXT NOT NULL,             -- "mistakes" or "type:<error type>"
            rank INTEGER NOT NULL,
            predicates TEXT NOT NULL,       -- JSON {feature: value}
            size INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            error_rate REAL NOT NULL,
            lift REAL NOT NULL,             -- error rate over the run's overall rate
            PRIMARY KEY (run_id, view, rank)
        );
        """,
    )

@migration
def m003_loops(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE loops (
            name TEXT PRIMARY KEY,
            config TEXT NOT NULL,           -- JSON LoopConfig; a resumed loop must match it
            out_dir TEXT NOT NULL,          -- lesson sets, models and the report
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE loop_stages (
            loop TEXT NOT NULL REFERENCES loops(name),
            round INTEGER NOT NULL,         -- 0: stages outside the rounds (the base's held-out run)
            stage TEXT NOT NULL,
            output TEXT NOT NULL,           -- JSON: run names, model names, lesson-set paths, counts
            wall_s REAL NOT NULL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (loop, round, stage)
        );
        """,
    )


@migration
def m004_diagnosis_args(db: sqlite3.Connection) -> None:
    """Diagnoses keyed by method *and* its arguments, so the same method run with other
    arguments (rollout with 4 and with 16 samples) keeps both. SQLite cannot change a
    primary key in place: the table is rebuilt; earlier rows get the empty arguments."""
    run_script(
        db,
        """
        CREATE TABLE diagnoses_args (
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            method TEXT NOT NULL,           -- locator that placed the first wrong step
            args TEXT NOT NULL,             -- JSON object (sorted keys): the locator's arguments
            steps TEXT NOT NULL,            -- JSON [[start, end], ...]: offsets into the attempt text
            first_wrong_step INTEGER,       -- 0-based; NULL when the method found nothing wrong
            confidence REAL NOT NULL,
            detail TEXT NOT NULL,
            evidence TEXT NOT NULL,         -- kind of finding: false_statement, gold_mismatch, wrong_answer, ...
            error_types TEXT NOT NULL,      -- JSON list, most specific first, never empty
            error_type TEXT NOT NULL,       -- the first of error_types, for grouping in SQL
            tokens INTEGER NOT NULL,        -- tokens the method generated to decide
            created_at TEXT NOT NULL,
            PRIMARY KEY (attempt_id, method, args)
        );
        INSERT INTO diagnoses_args
            SELECT attempt_id, method, '{}', steps, first_wrong_step, confidence, detail, evidence,
                   error_types, error_type, tokens, created_at
            FROM diagnoses ORDER BY rowid;
        DROP TABLE diagnoses;
        ALTER TABLE diagnoses_args RENAME TO diagnoses;
        CREATE INDEX diagnoses_type ON diagnoses(error_type);
        """,
    )


@migration
def m005_attempt_execution(db: sqlite3.Connection) -> None:
    """Code attempts keep what running their tests gave (per-test outcomes, the first failing
    test, the exception and its line, output, time); NULL for every other attempt."""
    run_script(db, "ALTER TABLE attempts ADD COLUMN execution TEXT;  -- JSON: lessons.sandbox.execution_to_json")


class NewerLogError(RuntimeError):
    """The log records migrations this code doesn't know: a newer lessons wrote it."""

    def __init__(self, unknown: set[str]):
        self.unknown = sorted(unknown)
        super().__init__(
            f"written by a newer lessons (unknown migration{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(self.unknown)}); upgrade lessons"
        )


def recorded_migrations(db: sqlite3.Connection) -> set[str]:
    """Names in the `migrations` table (none before the first migration); only reads.
    Raises NewerLogError when one of them is unknown here."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").fetchone() is None:
        return set()
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    unknown = done - {name for name, _ in MIGRATIONS}
    if unknown:
        raise NewerLogError(unknown)
    return done


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; return
    the names applied now. Refuses a database that knows migrations this code doesn't.
    `db` must be in autocommit mode (isolation_level=None): transactions are explicit.

    Safe when several processes open one log at once: each migration takes the write
    lock (BEGIN IMMEDIATE) and re-reads what is recorded inside it, so only one process
    applies it. A process that finds the lock held waits on the connection's busy timeout;
    the caller retries on SQLITE_BUSY (everything here can simply run again)."""
    done = recorded_migrations(db)  # read-only fast path: a migrated log takes no lock
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")  # one transaction per migration: a failed one leaves nothing
        try:
            db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            if name not in recorded_migrations(db):  # another process may have applied it meanwhile
                fn(db)
                db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
                applied.append(name)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return applied
