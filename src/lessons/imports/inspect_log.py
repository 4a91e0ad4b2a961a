"""Inspect AI logs (`.eval` or `.json`), read with `inspect_ai.log.read_eval_log`.

inspect_ai is an optional dependency: it is imported only here, when a log is read, and its
absence is a one-line error that says what to install. Each sample (per epoch) becomes one
attempt: the user's input is the prompt, the first target the gold answer, the output's
completion the response, and every scorer's value and extracted answer the source score.
Samples that errored in Inspect have no response and are counted as skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lessons.imports.base import ImportedRun, ImportedSample, ImportFileError, SourceScore
from lessons.models.base import ModelInfo, SamplingParams
from lessons.tasks.fields import plain_gold

TOOL = "inspect"
_PASS_FAIL = {"C": True, "I": False}  # inspect_ai.scorer's CORRECT and INCORRECT
_LENGTH = {"max_tokens", "model_length"}  # stop reasons that mean the response was cut off


def read_inspect(path: str | Path) -> ImportedRun:
    """The log at `path` as one run."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    log = _read(path)
    if not log.samples:
        raise ImportFileError(f"{path}: the log holds no samples (Inspect was run without logging them)")
    samples, skipped = [], 0
    for s in log.samples:
        if s.error is not None or s.output is None or not s.output.choices:
            skipped += 1
            continue
        samples.append(_sample(path, s))
    config = _generate_config(log)
    return ImportedRun(
        tool=TOOL, path=str(path), task=str(log.eval.task),
        task_version=str(getattr(log.eval, "task_version", "") or ""),
        model=_model(log.eval),
        sampling=_sampling(config, max((s.sample for s in samples), default=0) + 1),
        settings=_settings(log, config),
        metrics=_metrics(log),
        samples=tuple(samples),
        skipped=skipped,
    )


def _reader() -> Callable[..., Any]:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise ImportFileError("reading an Inspect log needs inspect_ai, which is not installed: "
                              "pip install inspect-ai") from None
    return read_eval_log


def _read(path: Path) -> Any:
    read_eval_log = _reader()
    try:
        return read_eval_log(str(path))
    except Exception as e:  # noqa: BLE001 - pydantic, zip and JSON errors alike mean a log it cannot read
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ImportFileError(f"{path}: not a readable Inspect log ({reason[:200]})") from None


def _sample(path: Path, s: Any) -> ImportedSample:
    where = f"{path}: sample {s.id!r} (epoch {s.epoch})"
    usage = s.output.usage
    return ImportedSample(
        task_id=str(s.id), prompt=_prompt(where, s.input), gold=_gold(where, s.target),
        response=s.output.completion, sample=int(s.epoch) - 1,
        finish_reason="length" if str(s.output.stop_reason) in _LENGTH else "stop",
        prompt_tokens=int(usage.input_tokens) if usage else 0,
        completion_tokens=int(usage.output_tokens) if usage else 0,
        score=_score(s.scores or {}),
        metadata={k: v for k, v in (s.metadata or {}).items()
                  if isinstance(v, (str, int, float)) and not isinstance(v, bool) and k not in ("id", "source")},
    )


def _prompt(where: str, given: Any) -> str:
    """A plain input is the question; a chat input's user messages are (joined)."""
    if isinstance(given, str):
        text = given
    else:
        text = "\n\n".join(m.text for m in given if getattr(m, "role", "") == "user")
    if not text.strip():
        raise ImportFileError(f"{where}: field 'input': no user text")
    return text


def _gold(where: str, target: Any) -> str:
    first = target[0] if isinstance(target, list) and target else target
    if not isinstance(first, str) or not first.strip():
        raise ImportFileError(f"{where}: field 'target': expected a gold answer as text, got {target!r}")
    return plain_gold(first.strip())


def _score(scores: dict[str, Any]) -> SourceScore:
    """Each scorer's value and answer; the first scorer's value decides pass/fail when it is one."""
    kept = {name: {"value": _json_value(s.value), "answer": s.answer} for name, s in scores.items()}
    first = next(iter(scores.values()), None)
    value = None if first is None else first.value
    if isinstance(value, str):
        correct = _PASS_FAIL.get(value)
    elif isinstance(value, (bool, int, float)) and value in (0, 1):
        correct = bool(value)
    else:
        correct = None
    return SourceScore(correct, kept)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _generate_config(log: Any) -> dict[str, Any]:
    """Generation settings that were set: the model's own, then the plan's (which the eval call sets)."""
    config: dict[str, Any] = {}
    for source in (getattr(log.eval, "model_generate_config", None), getattr(log.plan, "config", None)):
        if source is not None:
            config.update({k: v for k, v in source.model_dump().items() if v is not None})
    return config


def _model(eval_spec: Any) -> ModelInfo:
    name = str(eval_spec.model)
    args = {k: v for k, v in (eval_spec.model_args or {}).items() if isinstance(v, (str, int, float, bool))}
    return ModelInfo(name=name, backend=f"{TOOL}:{name.split('/')[0]}",
                     source=str(getattr(eval_spec, "model_base_url", None) or name), args=args)


def _sampling(config: dict[str, Any], epochs: int) -> SamplingParams:
    return SamplingParams(
        n=epochs, temperature=float(config.get("temperature") or 0.0), top_p=float(config.get("top_p") or 1.0),
        # Inspect sets no limit of its own when none is given: the recorded one is then this project's default
        max_new_tokens=int(config.get("max_tokens") or SamplingParams.max_new_tokens),
        seed=int(config.get("seed") or 0), stop=tuple(config.get("stop_seqs") or ()),
    )


def _settings(log: Any, config: dict[str, Any]) -> dict[str, Any]:
    packages = getattr(log.eval, "packages", None) or {}
    return {
        "inspect_version": packages.get("inspect_ai"), "status": str(log.status),
        "solvers": [step.solver for step in log.plan.steps] if log.plan else [],
        "scorers": [s.name for s in log.results.scores] if log.results else [],
        "epochs": getattr(log.eval.config, "epochs", None),
        "limit": _json_value(getattr(log.eval.config, "limit", None)),
        "dataset": getattr(log.eval.dataset, "name", None), "generate_config": _json_value(config),
    }


def _metrics(log: Any) -> dict[str, Any]:
    if not log.results:
        return {}
    return {f"{s.name}/{m.name}": m.value for s in log.results.scores for m in s.metrics.values()}
