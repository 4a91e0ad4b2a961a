"""The diagnosis half of the mistake log: diagnoses, the living taxonomy, weak slices.

A mixin of `Store` (it uses `self.db` and `self.transaction()`), kept apart so that each
module stays readable. Steps are stored as offsets into the attempt's text, so a stored
diagnosis always maps back to the exact characters it judged.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from lessons.records import Cluster, Diagnosis, Location, Step


class DiagnosisLog:
    db: sqlite3.Connection

    def transaction(self) -> Any: ...  # provided by Store

    # -- diagnoses ----------------------------------------------------------------------

    def save_diagnoses(self, diagnoses: Sequence[Diagnosis]) -> None:
        """Write a batch in one transaction; a re-diagnosis by the same method with the same
        arguments replaces the old one, so re-running never duplicates."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO diagnoses (attempt_id, method, args, steps, first_wrong_step, confidence, "
                "detail, evidence, error_types, error_type, tokens, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))",
                [_diagnosis_values(d) for d in diagnoses],
            )

    def diagnosed_attempts(self, run_id: str, method: str, args: Mapping[str, Any] | None = None) -> set[int]:
        """Attempts of the run diagnosed by `method` (with exactly `args`, when given)."""
        where, params = _method_filter(method, args)
        rows = self.db.execute(
            "SELECT d.attempt_id FROM diagnoses d JOIN attempts a ON a.id = d.attempt_id "
            "WHERE a.run_id = ? " + where,
            (run_id, *params),
        )
        return {r[0] for r in rows}

    def diagnoses(
        self, run_id: str, method: str | None = None, args: Mapping[str, Any] | None = None,
    ) -> list[Diagnosis]:
        """The run's diagnoses, by attempt id; with several per attempt (other methods, or
        one method with other arguments) left open, each attempt's latest diagnosis."""
        where, params = _method_filter(method, args)
        sql = (
            "SELECT d.*, a.text FROM diagnoses d JOIN attempts a ON a.id = d.attempt_id "
            "WHERE a.run_id = ? " + where + "ORDER BY d.attempt_id, d.created_at, d.rowid"
        )
        latest: dict[int, Diagnosis] = {}
        for r in self.db.execute(sql, (run_id, *params)):
            latest[r["attempt_id"]] = _diagnosis_from_row(r)
        return list(latest.values())

    def diagnosis_of(self, attempt_id: int) -> Diagnosis | None:
        """The attempt's latest diagnosis, by any method."""
        row = self.db.execute(
            "SELECT d.*, a.text FROM diagnoses d JOIN attempts a ON a.id = d.attempt_id "
            "WHERE d.attempt_id = ? ORDER BY d.created_at DESC, d.rowid DESC LIMIT 1",
            (attempt_id,),
        ).fetchone()
        return _diagnosis_from_row(row) if row else None

    def error_type_counts(self, run_id: str) -> dict[str, int]:
        return {t: n for t, n in self.db.execute(
            "SELECT error_type, COUNT(DISTINCT d.attempt_id) FROM diagnoses d "
            "JOIN attempts a ON a.id = d.attempt_id WHERE a.run_id = ? GROUP BY error_type ORDER BY 2 DESC",
            (run_id,),
        )}

    # -- taxonomy -----------------------------------------------------------------------

    def clusters(self, taxonomy: str = "default") -> list[Cluster]:
        rows = self.db.execute("SELECT * FROM clusters WHERE taxonomy = ? ORDER BY cluster_id", (taxonomy,))
        return [_cluster_from_row(r) for r in rows]

    def save_taxonomy(
        self, taxonomy: str, clusters: Sequence[Cluster], members: dict[int, int], descriptions: dict[int, str],
        similarities: dict[int, float] | None = None,
    ) -> None:
        """Add or rename the taxonomy's clusters (centroids are fixed at birth) and set the
        cluster of each member attempt, all in one transaction."""
        similarities = similarities or {}
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO clusters (taxonomy, cluster_id, name, terms, centroid, radius, generation, size, "
                "examples, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, datetime('now')) "
                "ON CONFLICT (taxonomy, cluster_id) DO UPDATE SET name = excluded.name, terms = excluded.terms, "
                # a cluster that got no new member keeps its examples
                "examples = CASE WHEN excluded.examples = '[]' THEN clusters.examples ELSE excluded.examples END, "
                "updated_at = excluded.updated_at",
                [(taxonomy, c.id, c.name, json.dumps(list(c.terms)), np.asarray(c.centroid, np.float32).tobytes(),
                  c.radius, c.generation, json.dumps(list(c.examples))) for c in clusters],
            )
            db.executemany(
                "INSERT OR REPLACE INTO cluster_members (taxonomy, attempt_id, cluster_id, similarity, description) "
                "VALUES (?, ?, ?, ?, ?)",
                [(taxonomy, a, c, similarities.get(a, 0.0), descriptions.get(a, "")) for a, c in members.items()],
            )
            db.execute(  # sizes count every member, from every run placed so far
                "UPDATE clusters SET size = (SELECT COUNT(*) FROM cluster_members m WHERE m.taxonomy = "
                "clusters.taxonomy AND m.cluster_id = clusters.cluster_id) WHERE taxonomy = ?",
                (taxonomy,),
            )

    def cluster_members(self, run_id: str, taxonomy: str = "default") -> dict[int, int]:
        """attempt id -> cluster id, for the run's mistakes that have been placed."""
        rows = self.db.execute(
            "SELECT m.attempt_id, m.cluster_id FROM cluster_members m JOIN attempts a ON a.id = m.attempt_id "
            "WHERE a.run_id = ? AND m.taxonomy = ?",
            (run_id, taxonomy),
        )
        return {a: c for a, c in rows}

    # -- slices -------------------------------------------------------------------------

    def save_slices(self, run_id: str, view: str, slices: Sequence[dict[str, Any]]) -> None:
        """Replace the run's slices of one view (slices are recomputed as a whole)."""
        with self.transaction() as db:
            db.execute("DELETE FROM slices WHERE run_id = ? AND view = ?", (run_id, view))
            db.executemany(
                "INSERT INTO slices (run_id, view, rank, predicates, size, errors, error_rate, lift) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, view, rank, json.dumps(s["predicates"], sort_keys=True), s["size"], s["errors"],
                  s["error_rate"], s["lift"]) for rank, s in enumerate(slices)],
            )

    def slices(self, run_id: str) -> Iterator[dict[str, Any]]:
        # fetched whole: a half-read cursor would keep a stale snapshot that a later write can't upgrade
        rows = self.db.execute("SELECT * FROM slices WHERE run_id = ? ORDER BY view, rank", (run_id,)).fetchall()
        for r in rows:
            yield {**dict(r), "predicates": json.loads(r["predicates"])}


def args_json(args: Mapping[str, Any]) -> str:
    """The one text of a method's arguments: it is part of the key, so equal arguments
    must give equal text (sorted keys; values that JSON lacks by their str)."""
    return json.dumps(dict(args), sort_keys=True, ensure_ascii=False, default=str)


def _method_filter(method: str | None, args: Mapping[str, Any] | None) -> tuple[str, tuple[str, ...]]:
    if method is None:
        return "", ()
    if args is None:
        return "AND d.method = ? ", (method,)
    return "AND d.method = ? AND d.args = ? ", (method, args_json(args))


def _diagnosis_values(d: Diagnosis) -> tuple:
    loc = d.location
    return (
        d.attempt_id, loc.method, args_json(d.method_args), json.dumps([[s.start, s.end] for s in d.steps]), loc.step, loc.confidence,
        loc.detail, loc.evidence, json.dumps(list(d.error_types)), d.error_type, loc.tokens,
    )


def _diagnosis_from_row(r: sqlite3.Row) -> Diagnosis:
    text = r["text"]
    steps = tuple(Step(i, text[s:e], s, e) for i, (s, e) in enumerate(json.loads(r["steps"])))
    location = Location(step=r["first_wrong_step"], method=r["method"], confidence=r["confidence"],
                        detail=r["detail"], tokens=r["tokens"], evidence=r["evidence"])
    return Diagnosis(attempt_id=r["attempt_id"], steps=steps, location=location,
                     error_types=tuple(json.loads(r["error_types"])), method_args=json.loads(r["args"]))


def _cluster_from_row(r: sqlite3.Row) -> Cluster:
    return Cluster(
        id=r["cluster_id"], name=r["name"], terms=tuple(json.loads(r["terms"])),
        centroid=np.frombuffer(r["centroid"], dtype=np.float32).copy(), size=r["size"],
        examples=tuple(str(x) for x in json.loads(r["examples"])), radius=r["radius"], generation=r["generation"],
    )
