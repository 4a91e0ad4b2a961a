"""Import evaluations that other tools ran: each becomes a run in the mistake log.

    from lessons.imports import import_lm_eval, import_inspect
    results = import_lm_eval(store, "out/")          # lm-eval's output folder, one run per task
    result = import_inspect(store, "logs/x.eval")    # one Inspect log, one run

Responses are re-judged by this project's verifier (so every later stage works on them as
on a run of `lessons eval`); the tool's own score of each is kept beside, in the run's
components (`source_scores(run)` reads them back).
"""

from __future__ import annotations

from pathlib import Path

from lessons.imports.base import (
    ImportedRun, ImportedSample, ImportFileError, ImportResult, SourceScore, VerifyConfig, source_scores, write_run,
)
from lessons.imports.inspect_log import read_inspect
from lessons.imports.lmeval import read_lm_eval
from lessons.store import Store


def import_lm_eval(store: Store, path: str | Path, config: VerifyConfig = VerifyConfig(), task: str | None = None,
                   run_name: str | None = None) -> list[ImportResult]:
    """Every task (or only `task`) of the lm-eval output under `path`, each as one run."""
    runs = read_lm_eval(path, task)
    if run_name is not None and len(runs) > 1:
        raise ImportFileError(f"{path}: holds {len(runs)} task runs ({', '.join(r.task for r in runs)}); "
                              "a run name fits one: choose it with --task")
    return [write_run(store, run, config, run_name) for run in runs]


def import_inspect(store: Store, path: str | Path, config: VerifyConfig = VerifyConfig(),
                   run_name: str | None = None) -> ImportResult:
    """The Inspect log at `path` as one run."""
    return write_run(store, read_inspect(path), config, run_name)


__all__ = [
    "ImportFileError", "ImportResult", "ImportedRun", "ImportedSample", "SourceScore", "VerifyConfig",
    "import_inspect", "import_lm_eval", "read_inspect", "read_lm_eval", "source_scores", "write_run",
]
