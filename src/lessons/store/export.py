"""Export a run's attempts (with their tasks) to Parquet or JSONL."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from lessons.atomic import replace_file
from lessons.store.db import Store

ExportFormat = Literal["parquet", "jsonl"]


def export_run(store: Store, run_name: str, fmt: ExportFormat, path: str | Path) -> tuple[Path, int]:
    """Write every attempt of the run, one row each; returns the path and row count."""
    run = store.get_run(run_name)
    rows = []
    for a in store.attempts(run.id):
        row = asdict(a)
        row["metadata"] = json.dumps(row["metadata"], ensure_ascii=False)  # heterogeneous: keep as JSON text
        row |= {"run_name": run.name, "model": run.model_name, "suite_id": run.suite_id}
        rows.append(row)
    if fmt not in ("parquet", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}; use parquet or jsonl")
    path = Path(path)
    with replace_file(path) as tmp:  # a killed export leaves no half file for a reader to trust
        if fmt == "jsonl":
            with open(tmp, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
    return path, len(rows)
