"""The mistake log: one SQLite file (WAL mode), the only module that speaks SQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from lessons.models.base import ModelInfo, SamplingParams
from lessons.prompts import PromptTemplate
from lessons.records import Attempt
from lessons.store.diagnoses import DiagnosisLog
from lessons.store.loops import LoopLog
from lessons.store.migrations import apply_migrations
from lessons.tasks.base import GoldStep, SuiteInfo, Task

DEFAULT_DB = "lessons.db"


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


def content_id(*parts: Any) -> str:
    """Short stable id from content, so the same component is stored once."""
    return hashlib.sha256(_json(parts).encode()).hexdigest()[:16]


class StoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunRecord:
    id: str
    name: str
    suite_id: str
    model_version_id: str
    model_name: str
    template_id: str
    sampling: SamplingParams
    components: dict[str, Any]
    task_ids: tuple[str, ...]
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class AttemptRow:
    """An attempt as stored, with the task fields a reader needs beside it."""

    id: int
    run_id: str
    task_id: str
    sample: int
    text: str
    answer: str | None
    extraction_status: str
    extraction_method: str | None
    correct: bool
    verifier: str
    verdict_detail: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprob: float | None
    latency_s: float
    created_at: str
    prompt: str
    gold: str
    skill: str | None
    split: str
    metadata: dict[str, Any]


class Store(DiagnosisLog, LoopLog):
    """Open with `Store.open(path)`; migrates on open. Not shared across threads."""

    def __init__(self, db: sqlite3.Connection, path: str):
        self.db, self.path = db, path

    @classmethod
    def open(cls, path: str | Path = DEFAULT_DB) -> "Store":
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a crash loses no committed batch
        db.execute("PRAGMA foreign_keys=ON")
        apply_migrations(db)
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

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
        self.db.execute(
            "INSERT OR IGNORE INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'))",
            (version_id, info.name, info.backend, info.source, _json(info.args), parent_id, _json(lineage or {})),
        )
        return version_id

    def model_versions(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM model_versions ORDER BY created_at").fetchall()
        return [dict(r) | {"args": json.loads(r["args"]), "lineage": json.loads(r["lineage"])} for r in rows]

    def registered_models(self) -> dict[str, str]:
        """Model versions made by `lessons train` (they have a lineage): name -> local dir."""
        rows = self.db.execute("SELECT name, source FROM model_versions WHERE lineage != '{}'").fetchall()
        return {r["name"]: r["source"] for r in rows}

    def save_template(self, template: PromptTemplate) -> str:
        self.db.execute(
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
        components: dict[str, Any],
        task_ids: Sequence[str],
    ) -> RunRecord:
        """Create the run, or return it for resuming when one of that name exists with the
        same configuration; a different configuration under the same name is an error."""
        existing = self.find_run(name)
        fields = dict(
            suite_id=suite_id, model_version_id=model_version_id, template_id=template_id,
            sampling=sampling, task_ids=tuple(task_ids),
        )
        if existing is not None:
            differs = [k for k, v in fields.items() if getattr(existing, k) != v]
            if differs:
                raise StoreError(
                    f"run {name!r} exists with a different {', '.join(differs)}; "
                    "choose another --run name to start a new run"
                )
            self.db.execute("UPDATE runs SET status = 'running' WHERE id = ?", (existing.id,))
            return self.get_run(existing.id)
        run_id = content_id(name, suite_id, model_version_id, template_id, asdict(sampling), list(task_ids))
        self.db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', datetime('now'), NULL)",
            (
                run_id, name, suite_id, model_version_id, template_id,
                _json(asdict(sampling)), _json(components), _json(list(task_ids)),
            ),
        )
        return self.get_run(run_id)

    def finish_run(self, run_id: str, status: str = "done") -> None:
        self.db.execute(
            "UPDATE runs SET status = ?, finished_at = datetime('now') WHERE id = ?", (status, run_id)
        )

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
                "finish_reason, logprob, latency_s, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))",
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
    )


def _attempt_from_row(r: sqlite3.Row) -> AttemptRow:
    d = dict(r)
    d["correct"] = bool(d["correct"])
    d["metadata"] = json.loads(d["metadata"])
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
        components=json.loads(r["components"]),
        task_ids=tuple(json.loads(r["task_ids"])),
        status=r["status"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )
