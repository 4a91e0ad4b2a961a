"""The mistake log: one SQLite file (WAL mode), the only module that speaks SQL."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from lessons import faults
from lessons.models.base import ModelInfo, SamplingParams
from lessons.prompts import PromptTemplate
from lessons.records import Attempt, AttemptRow, ModelVersion, RunComponents, RunRecord
from lessons.sandbox import execution_from_json, execution_to_json
from lessons.store.diagnoses import DiagnosisLog
from lessons.store.loops import LoopLog
from lessons.store.migrations import MIGRATIONS, NewerLogError, apply_migrations, recorded_migrations
from lessons.tasks.base import GoldStep, SuiteInfo, Task

DEFAULT_DB = "lessons.db"
# Seconds one statement waits for another process's write lock. Every transaction of
# lessons is a short batch of SQL, so a wait this long means a stuck writer; the lock is
# then tried once more over the same span before a one-line error.
BUSY_TIMEOUT_S = 60.0


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


def content_id(*parts: Any) -> str:
    """Short stable id from content, so the same component is stored once."""
    return hashlib.sha256(_json(parts).encode()).hexdigest()[:16]


class StoreError(RuntimeError):
    """A problem with the mistake log, for the user: one line that starts with its path."""


class Store(DiagnosisLog, LoopLog):
    """Open with `Store.open(path)`; migrates on open. Not shared across threads.
    Several processes may use one log at once: every write is a short BEGIN IMMEDIATE
    transaction that waits its turn; reads never wait for writers (WAL)."""

    def __init__(self, db: sqlite3.Connection, path: str, read_only: str | None = None,
                 busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.db, self.path = db, path
        self.read_only = read_only  # why the log can't be written, or None
        self.busy_timeout_s = busy_timeout_s

    @classmethod
    def open(cls, path: str | Path = DEFAULT_DB, busy_timeout_s: float | None = None) -> "Store":
        """Open (creating when absent) and migrate the log. A corrupt, foreign or newer
        file is refused with a StoreError before anything is written to it; a read-only
        one opens for reading when it needs no migration."""
        path = str(path)
        busy_timeout_s = BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        read_only = None if path == ":memory:" else _read_only_reason(path)
        store = cls(_connect(path, read_only, busy_timeout_s), path, read_only, busy_timeout_s)
        try:
            store._prepare()
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self) -> None:
        try:
            done = self._retry_busy(lambda: _recorded_migrations(self.db), "open")
        except NewerLogError as e:
            raise StoreError(f"{self.path}: {e}") from None
        except sqlite3.OperationalError as e:
            raise StoreError(f"{self.path}: cannot open ({e})") from None
        except sqlite3.DatabaseError as e:  # SQLITE_NOTADB, SQLITE_CORRUPT: random bytes, a truncated file
            raise StoreError(f"{self.path}: not a lessons mistake log ({e})") from None
        if done is None:
            raise StoreError(f"{self.path}: not a lessons mistake log (an SQLite database without a migrations table)")
        self.db.execute("PRAGMA foreign_keys=ON")
        pending = [name for name, _ in MIGRATIONS if name not in done]
        if self.read_only:
            if pending:
                raise StoreError(f"{self.path}: read-only, cannot write the migrations it needs "
                                 f"({', '.join(pending)}; {self.read_only})")
            return
        if self.path != ":memory:":
            try:
                self._retry_busy(self._enter_wal, "switch to WAL mode")
            except sqlite3.OperationalError as e:  # e.g. a device file, a filesystem without shared memory
                raise StoreError(f"{self.path}: cannot use WAL mode ({e})") from None
        self.db.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses no committed batch
        if pending:
            try:
                self._retry_busy(lambda: apply_migrations(self.db), "migrate")
            except NewerLogError as e:  # a newer lessons migrated it while we waited
                raise StoreError(f"{self.path}: {e}") from None

    def _enter_wal(self) -> None:
        # Switching needs an exclusive lock and does not wait on the busy timeout, so two
        # processes creating one log at once race here: the loser gets SQLITE_BUSY and retries.
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"{self.path}: cannot use WAL mode (journal mode stays {mode!r})")

    def _retry_busy(self, fn: Callable[[], Any], doing: str) -> Any:
        """Run `fn` again while it fails with SQLITE_BUSY, at least once and for about one
        more busy timeout, then raise a one-line StoreError: `database is locked` never
        reaches the user. (Some waits skip the busy handler: the WAL switch, a stale snapshot.)"""
        deadline = time.monotonic() + 2 * self.busy_timeout_s
        for attempt in itertools.count():
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                if attempt > 0 and time.monotonic() >= deadline:
                    raise StoreError(
                        f"{self.path}: busy: another process held the mistake log's lock for over "
                        f"{2 * self.busy_timeout_s:g} s, so this command could not {doing}; try again when it finishes"
                    ) from None
            time.sleep(min(1.0, 0.01 * 2 ** min(attempt, 7)) * random.uniform(0.5, 1.0))  # jitter: racers part

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start (BEGIN IMMEDIATE),
        so it never fails half-way on another writer. Inside another it joins that one."""
        if self.db.in_transaction:
            yield self.db
            return
        if self.read_only:
            raise StoreError(f"{self.path}: read-only, cannot write ({self.read_only})")
        self._retry_busy(lambda: self.db.execute("BEGIN IMMEDIATE"), "write")
        try:
            yield self.db
            faults.point("log-commit")
            self.db.execute("COMMIT")
        except BaseException as e:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError) and _errorname(e).startswith("SQLITE_READONLY"):
                raise StoreError(f"{self.path}: read-only, cannot write ({e})") from None
            raise

    # -- components -------------------------------------------------------------------

    def save_suite(self, info: SuiteInfo, tasks: Sequence[Task]) -> str:
        """Record a suite and its tasks (idempotent: known tasks are left as they are)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO suites VALUES (?, ?, ?, ?, ?, ?, datetime('now'))",
                (info.id, info.name, info.version, info.source, info.fingerprint, _json(info.params)),
            )
            db.executemany(
                "INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        info.id, t.id, t.prompt, t.answer,
                        _json([asdict(s) for s in t.steps]), _json(t.metadata), t.skill, t.split,
                    )
                    for t in tasks
                ],
            )
        return info.id

    def tasks(self, suite_id: str, task_ids: Iterable[str] | None = None) -> list[Task]:
        rows = self.db.execute("SELECT * FROM tasks WHERE suite_id = ?", (suite_id,)).fetchall()
        by_id = {r["task_id"]: _task_from_row(r) for r in rows}
        if task_ids is None:
            return list(by_id.values())
        return [by_id[t] for t in task_ids if t in by_id]

    def save_model_version(
        self, info: ModelInfo, parent_id: str | None = None, lineage: dict | None = None
    ) -> str:
        version_id = content_id(info.backend, info.source, info.args)
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'))",
                (version_id, info.name, info.backend, info.source, _json(info.args), parent_id, _json(lineage or {})),
            )
        return version_id

    def model_versions(self) -> list[ModelVersion]:
        rows = self.db.execute("SELECT * FROM model_versions ORDER BY created_at").fetchall()
        return [ModelVersion(id=r["id"], name=r["name"], backend=r["backend"], source=r["source"],
                             args=json.loads(r["args"]), parent_id=r["parent_id"],
                             lineage=json.loads(r["lineage"]), created_at=r["created_at"]) for r in rows]

    def registered_models(self) -> dict[str, str]:
        """Model versions made by `lessons train` (they have a lineage): name -> local dir."""
        rows = self.db.execute("SELECT name, source FROM model_versions WHERE lineage != '{}'").fetchall()
        return {r["name"]: r["source"] for r in rows}

    def save_template(self, template: PromptTemplate) -> str:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO prompt_templates VALUES (?, ?, ?, ?, datetime('now'))",
                (template.id, template.name, template.system, template.user),
            )
        return template.id

    # -- runs -------------------------------------------------------------------------

    def start_run(
        self,
        name: str,
        suite_id: str,
        model_version_id: str,
        template_id: str,
        sampling: SamplingParams,
        components: RunComponents,
        task_ids: Sequence[str],
    ) -> RunRecord:
        """Create the run, or return it for resuming when one of that name exists with the
        same configuration; a different configuration under the same name is an error.
        One transaction, so two processes starting the same run both get it."""
        fields = dict(
            suite_id=suite_id, model_version_id=model_version_id, template_id=template_id,
            sampling=sampling, task_ids=tuple(task_ids),
        )
        with self.transaction() as db:
            existing = self.find_run(name)
            if existing is not None:
                differs = [k for k, v in fields.items() if getattr(existing, k) != v]
                if differs:
                    raise StoreError(
                        f"run {name!r} exists with a different {', '.join(differs)}; "
                        "choose another --run name to start a new run"
                    )
                db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (existing.id,))
                return self.get_run(existing.id)
            run_id = content_id(name, suite_id, model_version_id, template_id, asdict(sampling), list(task_ids))
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', datetime('now'), NULL)",
                (
                    run_id, name, suite_id, model_version_id, template_id,
                    _json(asdict(sampling)), _json(components.to_json()), _json(list(task_ids)),
                ),
            )
            return self.get_run(run_id)

    def finish_run(self, run_id: str, status: str = "done") -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = ?, finished_at = datetime('now') WHERE id = ?", (status, run_id))

    def find_run(self, name_or_id: str) -> RunRecord | None:
        row = self.db.execute(
            "SELECT runs.*, model_versions.name AS model_name FROM runs "
            "JOIN model_versions ON model_versions.id = runs.model_version_id "
            "WHERE runs.id = ? OR runs.name = ?",
            (name_or_id, name_or_id),
        ).fetchone()
        return _run_from_row(row) if row else None

    def get_run(self, name_or_id: str) -> RunRecord:
        run = self.find_run(name_or_id)
        if run is None:
            known = [r.name for r in self.runs()[-10:]]
            raise StoreError(f"no run {name_or_id!r} in {self.path}; recent runs: {', '.join(known) or '(none)'}")
        return run

    def runs(self) -> list[RunRecord]:
        rows = self.db.execute(
            "SELECT runs.*, model_versions.name AS model_name FROM runs "
            "JOIN model_versions ON model_versions.id = runs.model_version_id ORDER BY runs.created_at, runs.rowid"
        ).fetchall()
        return [_run_from_row(r) for r in rows]

    # -- attempts ---------------------------------------------------------------------

    def done_samples(self, run_id: str) -> dict[str, set[int]]:
        done: dict[str, set[int]] = {}
        for task_id, sample in self.db.execute(
            "SELECT task_id, sample FROM attempts WHERE run_id = ?", (run_id,)
        ):
            done.setdefault(task_id, set()).add(sample)
        return done

    def add_attempts(self, attempts: Sequence[Attempt]) -> int:
        """Write a batch in one transaction; an attempt already logged (same run, task,
        sample) is kept as it was, so re-running after a crash adds no duplicate."""
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO attempts (run_id, task_id, sample, text, answer, extraction_status, "
                "extraction_method, correct, verifier, verdict_detail, prompt_tokens, completion_tokens, "
                "finish_reason, logprob, latency_s, execution, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))",
                [_attempt_values(a) for a in attempts],
            )
            return db.total_changes - before

    def attempts(
        self,
        run_id: str,
        mistakes_only: bool = False,
        skill: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[AttemptRow]:
        sql = [_ATTEMPT_SELECT, "WHERE a.run_id = ?"]
        args: list[Any] = [run_id]
        if mistakes_only:
            sql.append("AND a.correct = 0")
        if skill:
            sql.append("AND t.skill = ?")
            args.append(skill)
        if status:
            sql.append("AND a.extraction_status = ?")
            args.append(status)
        sql.append("ORDER BY a.id")
        if limit:
            sql.append("LIMIT ?")
            args.append(limit)
        return [_attempt_from_row(r) for r in self.db.execute(" ".join(sql), args)]

    def attempt(self, attempt_id: int) -> AttemptRow:
        row = self.db.execute(_ATTEMPT_SELECT + " WHERE a.id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise StoreError(f"no attempt {attempt_id} in {self.path}")
        return _attempt_from_row(row)


def _read_only_reason(path: str) -> str | None:
    """Why the log at `path` can't be written, or None. Write bits count even for root
    (who may write anyway): a log made 0444 was made read-only on purpose."""
    def writable(p: Path) -> bool:
        return os.access(p, os.W_OK) and bool(p.stat().st_mode & 0o222)

    file, folder = Path(path), Path(path).absolute().parent
    if file.exists() and not writable(file):
        return f"file mode {file.stat().st_mode & 0o777:04o}"
    if folder.exists() and not writable(folder):  # SQLite could not create the -wal and -shm files
        return f"directory {folder} is read-only"
    return None


def _connect(path: str, read_only: str | None, busy_timeout_s: float) -> sqlite3.Connection:
    try:
        if read_only is None:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s)
        elif not Path(path).exists():
            raise StoreError(f"{path}: read-only, cannot create a mistake log there ({read_only})")
        else:
            # immutable: nothing can change the file, so SQLite needs no -shm file (which it
            # could not create in a read-only folder); not when a -wal holds commits to read
            wal = Path(path + "-wal")
            immutable = "&immutable=1" if not wal.exists() or wal.stat().st_size == 0 else ""
            uri = f"{Path(path).absolute().as_uri()}?mode=ro{immutable}"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_s)
    except (OSError, sqlite3.Error) as e:
        raise StoreError(f"{path}: cannot open ({getattr(e, 'strerror', None) or e})") from None
    db.row_factory = sqlite3.Row
    return db


def _recorded_migrations(db: sqlite3.Connection) -> set[str] | None:
    """Migrations recorded in the log (only reads); None for an SQLite file of something else."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return None if tables and "migrations" not in tables else recorded_migrations(db)


def _errorname(e: sqlite3.Error) -> str:
    return getattr(e, "sqlite_errorname", "") or ""


def _is_busy(e: sqlite3.OperationalError) -> bool:
    name = _errorname(e)
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or (not name and "locked" in str(e))


_ATTEMPT_SELECT = (
    "SELECT a.*, t.prompt, t.answer AS gold, t.skill, t.split, t.metadata FROM attempts a "
    "JOIN runs r ON r.id = a.run_id "
    "JOIN tasks t ON t.suite_id = r.suite_id AND t.task_id = a.task_id"
)


def _attempt_values(a: Attempt) -> tuple:
    c, v = a.completion, a.verdict
    return (
        a.run_id, a.task_id, a.sample, c.text, v.extraction.answer, v.extraction.status,
        v.extraction.method, int(v.correct), v.verifier, v.detail, c.prompt_tokens,
        c.completion_tokens, c.finish_reason, c.logprob, c.latency_s,
        None if v.execution is None else execution_to_json(v.execution),
    )


def _attempt_from_row(r: sqlite3.Row) -> AttemptRow:
    d = dict(r)
    d["correct"] = bool(d["correct"])
    d["metadata"] = json.loads(d["metadata"])
    d["execution"] = None if d["execution"] is None else execution_from_json(d["execution"])
    return AttemptRow(**d)


def _task_from_row(r: sqlite3.Row) -> Task:
    return Task(
        id=r["task_id"],
        prompt=r["prompt"],
        answer=r["answer"],
        steps=tuple(GoldStep(**s) for s in json.loads(r["steps"])),
        metadata=json.loads(r["metadata"]),
        split=r["split"],
    )


def _run_from_row(r: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=r["id"],
        name=r["name"],
        suite_id=r["suite_id"],
        model_version_id=r["model_version_id"],
        model_name=r["model_name"],
        template_id=r["template_id"],
        sampling=SamplingParams(**{**json.loads(r["sampling"]), "stop": tuple(json.loads(r["sampling"])["stop"])}),
        components=RunComponents.from_json(json.loads(r["components"])),
        task_ids=tuple(json.loads(r["task_ids"])),
        status=r["status"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )
