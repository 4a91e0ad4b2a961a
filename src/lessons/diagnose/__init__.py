"""Diagnosis: where each mistake first goes wrong, its error types, the living taxonomy.

    from lessons.diagnose import DiagnoseConfig, diagnose
    summary = diagnose(store, "my-run", "arith")    # parts (model, embedder) from lessons.deps.Deps
    summary.located, summary.by_type                # 16, {"calculation": 16, ...}

`diagnose_run(store, run, locator, config, embedder)` takes the parts made already.

Locators (`locators.names()`): arith, rollout, critic, consensus; others join through the
entry-point group `lessons.locators`. The records a diagnosis persists (Step, Location,
Diagnosis, Cluster) live in `lessons.records` and are re-exported here.
"""

from lessons.diagnose.base import (
    ERROR_TYPES, Case, Cluster, Diagnosis, ErrorType, Location, Locator, Step,
)
from lessons.diagnose.locators import locator_args, locators, make_locator, needs_backend
from lessons.diagnose.pipeline import DiagnoseConfig, DiagnoseSummary, diagnose, diagnose_attempts, diagnose_run
from lessons.diagnose.taxonomy import embedders

__all__ = [
    "ERROR_TYPES", "Case", "Cluster", "DiagnoseConfig", "DiagnoseSummary", "Diagnosis", "ErrorType", "Location",
    "Locator", "Step", "diagnose", "diagnose_attempts", "diagnose_run", "embedders", "locator_args", "locators",
    "make_locator", "needs_backend",
]
