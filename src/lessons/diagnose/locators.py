"""Locators by name: the registry `make_locator` builds from.

Built-ins are lazy "module:attr" strings, so naming "arith" never imports a model stack;
other packages add locators through the entry-point group `lessons.locators`. A locator
class that generates sets `needs_backend = True` and takes the backend as its first
argument; the others take only keyword options.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Mapping, Sequence

from lessons.diagnose.base import Locator
from lessons.models.base import Backend
from lessons.records import RunComponents
from lessons.registry import Registry
from lessons.store.diagnoses import args_json

locators: Registry = Registry("locator")
locators.register("arith", "lessons.diagnose.arith_check:ArithLocator")
locators.register("rollout", "lessons.diagnose.rollout:RolloutLocator")
locators.register("critic", "lessons.diagnose.critic:CriticLocator")
locators.register("consensus", "lessons.diagnose.consensus:ConsensusLocator")
locators.register("trace", "lessons.diagnose.trace:TraceLocator")  # code: the reference's trace

CONSENSUS_METHODS: tuple[str, ...] = ("arith", "rollout", "critic")  # what "consensus" combines by default


def needs_backend(name: str) -> bool:
    return bool(getattr(locators.get(name), "needs_backend", False))


def run_locator_options(name: str, components: RunComponents, rollouts: int = 4) -> dict[str, Any]:
    """`make_locator` options that make locator `name` judge a run's mistakes as the run
    judged its attempts: rollouts are rendered with the run's template and scored with its
    verifier and answer extraction (a rollout scored by another verifier would call a
    prefix good or bad by a rule the run never used). `components` is the run's record."""
    verifier = components.verifier
    rollout: dict[str, Any] = {"template": components.template.name or None, "rollouts": rollouts,
                               "verifier": verifier.name}
    if verifier.extract:
        rollout["methods"] = verifier.extract
    rollout = {k: v for k, v in rollout.items() if v is not None}
    if name == "rollout":
        return rollout
    if name == "consensus":
        return {"method_options": {"rollout": rollout}}
    return {}


def make_locator(name: str, backend: Backend | None = None, **options: Any) -> Locator:
    """Build the locator registered as `name` with its keyword options. Model-based ones
    need `backend`. "consensus" takes `methods` (names; default arith, rollout, critic, the
    model-based ones left out when there is no backend) and `method_options`
    ({name: {option: value}})."""
    if name == "consensus":
        return _make_consensus(backend, **options)
    cls = locators.get(name)
    if not getattr(cls, "needs_backend", False):
        locator = cls(**options)
    elif backend is None:
        raise ValueError(f"locator {name!r} generates text and needs a model backend: pass --model")
    else:
        locator = cls(backend, **options)
    locator.args = _with_defaults(cls, options)
    return locator


def locator_args(locator: Locator) -> dict[str, Any]:
    """The arguments a locator was built with, as JSON values (recorded with each of its
    diagnoses, as a run records its components); {} for one not built by `make_locator`."""
    return dict(getattr(locator, "args", {}))


def _with_defaults(cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every keyword argument of `cls`, defaults included, so that "rollout" and
    "rollout, rollouts=4" are recorded as the same diagnosis. The backend is the run's
    model, recorded elsewhere, so it is left out."""
    params = inspect.signature(cls).parameters
    args = {k: p.default for k, p in params.items()
            if k != "backend" and p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD}
    args.update(options)
    return _as_json(args)


def _as_json(args: Mapping[str, Any]) -> dict[str, Any]:
    # tuples become lists and objects their str, as the log will store them, so a
    # diagnosis compares equal before and after a round trip through the log
    return json.loads(args_json(args))


def _make_consensus(
    backend: Backend | None,
    methods: Sequence[str] | None = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Locator:
    if methods is None:
        methods = [m for m in CONSENSUS_METHODS if backend is not None or not needs_backend(m)]
    if "consensus" in methods:
        raise ValueError("consensus cannot include itself")
    if backend is None:
        # Refuse before building any part: a part may be slow to build.
        unmet = [m for m in methods if needs_backend(m)]
        if unmet:
            raise ValueError(f"locator {unmet[0]!r} generates text and needs a model backend: pass --model")
    options = method_options or {}
    parts = [make_locator(m, backend, **dict(options.get(m, {}))) for m in methods]
    consensus = locators.get("consensus")(parts)
    consensus.args = _as_json({"methods": list(methods), "method_options": {p.name: locator_args(p) for p in parts}})
    return consensus
