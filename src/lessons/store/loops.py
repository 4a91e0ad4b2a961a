"""The loop half of the mistake log: which stages of a `lessons loop` are done, and what
each produced (run names, model names, lesson-set paths), so a killed loop resumes at the
stage it was in. A mixin of `Store`, like `DiagnosisLog`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lessons.records import LoopRecord


class LoopLog:
    db: sqlite3.Connection

    def transaction(self) -> Any: ...  # provided by Store

    def start_loop(self, name: str, config: dict[str, Any], out_dir: str) -> dict[str, Any]:
        """Record a new loop, or return the recorded config of an existing one (the caller
        checks that it matches). One transaction, so two processes starting it agree."""
        with self.transaction() as db:
            row = db.execute("SELECT config FROM loops WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return json.loads(row["config"])
            db.execute(
                "INSERT INTO loops VALUES (?, ?, ?, datetime('now'), NULL)",
                (name, json.dumps(config, sort_keys=True), out_dir),
            )
        return config

    def finish_loop(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE loops SET finished_at = datetime('now') WHERE name = ?", (name,))

    def loop(self, name: str) -> LoopRecord | None:
        row = self.db.execute("SELECT * FROM loops WHERE name = ?", (name,)).fetchone()
        return None if row is None else _loop(row)

    def loops(self) -> list[LoopRecord]:
        return [_loop(r) for r in self.db.execute("SELECT * FROM loops ORDER BY created_at").fetchall()]

    def save_stage(self, loop: str, round: int, stage: str, output: dict[str, Any], wall_s: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO loop_stages VALUES (?, ?, ?, ?, ?, datetime('now'))",
                (loop, round, stage, json.dumps(output, sort_keys=True, default=str), wall_s),
            )

    def stages(self, loop: str) -> dict[tuple[int, str], dict[str, Any]]:
        """(round, stage) -> output of every finished stage, with `wall_s` added."""
        rows = self.db.execute("SELECT * FROM loop_stages WHERE loop = ? ORDER BY rowid", (loop,)).fetchall()
        return {(r["round"], r["stage"]): json.loads(r["output"]) | {"wall_s": r["wall_s"]} for r in rows}


def _loop(row: sqlite3.Row) -> LoopRecord:
    return LoopRecord(name=row["name"], config=json.loads(row["config"]), out_dir=row["out_dir"],
                      created_at=row["created_at"], finished_at=row["finished_at"])
