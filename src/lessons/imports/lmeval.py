"""lm-evaluation-harness sample logs: `results_<time>.json` beside one `samples_<task>_<time>.jsonl`
per task, as lm-eval writes them when asked to log samples.

A samples line is one document under one filter: `doc`, `target`, `arguments` (the posed
context and generation settings), `resps` (the raw responses, one per repeat),
`filtered_resps`, and one field per metric named in `metrics`. A task with several filters
(gsm8k's strict-match and flexible-extract) logs each document once per filter: the
response is the same, so it becomes one attempt whose source score holds every filter's
metrics. Only generative tasks have responses to import; a multiple-choice task's
`resps` are log-likelihoods.

Nothing here imports lm_eval: the files are plain JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from lessons.imports.base import ImportedRun, ImportedSample, ImportFileError, SourceScore
from lessons.models.base import ModelInfo, SamplingParams
from lessons.tasks.fields import plain_gold

TOOL = "lm-eval"
_RESULTS = re.compile(r"^results_(?P<time>.+)\.json$")
_MODEL_NAME_ARGS = ("peft", "delta", "pretrained", "model", "path", "engine")  # lm-eval names a model by these
_GSM8K_GOLD = "####"  # gsm8k-style targets are the whole solution, the answer after the last ####


@dataclass(frozen=True)
class _Line:
    """One parsed samples line, with where it came from for error messages."""

    where: str  # "samples_gsm8k_....jsonl:3"
    fields: dict[str, Any] = field(hash=False)

    def fail(self, name: str, message: str) -> ImportFileError:
        return ImportFileError(f"{self.where}: field {name!r}: {message}")

    def get(self, name: str) -> Any:
        if name not in self.fields:
            raise self.fail(name, "missing")
        return self.fields[name]


def read_lm_eval(path: str | Path, task: str | None = None) -> list[ImportedRun]:
    """Every task of every results file under `path` (a folder, searched recursively, or one
    results_*.json file), or only `task`, each as one run."""
    runs = [run for results in _results_files(Path(path)) for run in _read_results(results, task)]
    if not runs:
        raise ImportFileError(f"{path}: no task {task!r} in its lm-eval results" if task else
                              f"{path}: no lm-eval task with logged samples")
    return runs


def _results_files(path: Path) -> list[Path]:
    if path.is_file():
        if not _RESULTS.match(path.name):
            raise ImportFileError(f"{path}: not an lm-eval results file (results_<time>.json)")
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    found = sorted(p for p in path.rglob("results_*.json") if _RESULTS.match(p.name))
    if not found:
        raise ImportFileError(f"{path}: no lm-eval results_*.json in this folder or below")
    return found


def _read_results(results: Path, only: str | None) -> Iterator[ImportedRun]:
    doc = _load_json(results)
    stamp = _RESULTS.match(results.name)["time"]  # type: ignore[index]
    configs = _field(doc, "configs", dict, results)
    for task, config in configs.items():
        if only is not None and task != only:
            continue
        if not isinstance(config, dict):
            raise ImportFileError(f"{results}: field 'configs.{task}': expected an object")
        if config.get("output_type", "generate_until") != "generate_until":
            raise ImportFileError(
                f"{results}: task {task!r} is {config.get('output_type')}: it logs log-likelihoods, not "
                "response text (only generate_until tasks can be imported)")
        samples = results.parent / f"samples_{task}_{stamp}.jsonl"
        if not samples.is_file():
            raise ImportFileError(f"{results}: task {task!r} has no {samples.name} beside it "
                                  "(lm-eval writes samples files only when asked to log samples)")
        yield _run(results, doc, task, config, samples)


def _run(results: Path, doc: dict, task: str, config: dict, samples_path: Path) -> ImportedRun:
    lines = list(_lines(samples_path))
    samples = _samples(lines)
    gen = _generation_args(lines[0]) if lines else {}
    top = doc.get("config") or {}
    repeats = max((s.sample for s in samples), default=0) + 1
    return ImportedRun(
        tool=TOOL, path=str(samples_path), task=task,
        task_version=str((doc.get("versions") or {}).get(task, (config.get("metadata") or {}).get("version", ""))),
        model=_model(doc, top),
        sampling=_sampling(gen, repeats, top),
        settings=_settings(doc, top, task, config),
        metrics={k: v for k, v in (doc.get("results") or {}).get(task, {}).items() if k not in ("name", "alias")},
        samples=tuple(samples),
    )


def _lines(path: Path) -> Iterator[_Line]:
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            where = f"{path}:{number}"
            try:
                fields = json.loads(text)
            except json.JSONDecodeError as e:
                raise ImportFileError(f"{where}: not JSON ({e.msg})") from None
            if not isinstance(fields, dict):
                raise ImportFileError(f"{where}: expected a JSON object, got {type(fields).__name__}")
            yield _Line(where, fields)


def _samples(lines: list[_Line]) -> list[ImportedSample]:
    """One sample per (document, repeat), in log order; each filter's metrics merged into its score."""
    by_key: dict[tuple[str, int], ImportedSample] = {}
    filters: dict[tuple[str, int], dict[str, Any]] = {}
    for line in lines:
        doc_id = line.get("doc_id")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (int, str)):
            raise line.fail("doc_id", f"expected a number or text, got {type(doc_id).__name__}")
        prompt, gold = _prompt(line), _gold(line)
        for repeat, response in enumerate(_responses(line)):
            key = (str(doc_id), repeat)
            filters.setdefault(key, {})[str(line.fields.get("filter", "none"))] = _filter_scores(line, repeat)
            by_key.setdefault(key, ImportedSample(task_id=str(doc_id), prompt=prompt, gold=gold,
                                                  response=response, sample=repeat))
    return [_with_score(s, filters[key]) for key, s in by_key.items()]


def _with_score(s: ImportedSample, by_filter: dict[str, Any]) -> ImportedSample:
    """The first filter's first metric decides the tool's pass/fail (lm-eval reports them in that order)."""
    first = next(iter(by_filter.values()))
    metric = next((v for k, v in first.items() if k != "filtered"), None)
    correct = bool(metric) if isinstance(metric, (int, float)) and metric in (0, 1) else None
    return replace(s, score=SourceScore(correct, by_filter))


def _filter_scores(line: _Line, repeat: int) -> dict[str, Any]:
    """One filter's metrics of the document. lm-eval scores a document, not a repeat (its filters
    reduce the repeats first, as take_first or a majority vote), so every repeat carries them."""
    metrics = line.get("metrics")
    if not isinstance(metrics, list):
        raise line.fail("metrics", f"expected a list of metric names, got {type(metrics).__name__}")
    scores = {str(m): line.get(str(m)) for m in metrics}
    filtered = line.fields.get("filtered_resps")
    if isinstance(filtered, list) and filtered:
        # after take_first one answer per document; without it, one per repeat
        scores["filtered"] = filtered[repeat] if len(filtered) > repeat else filtered[0]
    return scores


def _responses(line: _Line) -> list[str]:
    resps = line.get("resps")
    # resps holds one list per request; a generative task makes one request, answered `repeats` times
    if not (isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]):
        raise line.fail("resps", "expected a list holding one list of responses")
    if not all(isinstance(r, str) for r in resps[0]):
        raise line.fail("resps", "responses are not text (a log-likelihood task cannot be imported)")
    return list(resps[0])


def _prompt(line: _Line) -> str:
    """The context lm-eval sent: `arguments.gen_args_0.arg_0` (0.4.x) or `arguments[0][0]` (older logs)."""
    context = _request(line)[0]
    if not isinstance(context, str) or not context.strip():
        raise line.fail("arguments", "the request's context (its first argument) is not text")
    return context


def _request(line: _Line) -> list[Any]:
    arguments = line.get("arguments")
    if isinstance(arguments, dict) and arguments:
        first = next(iter(arguments.values()))
        if isinstance(first, dict):
            return [first[k] for k in sorted(first)]  # arg_0, arg_1
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], list) and arguments[0]:
        return list(arguments[0])
    raise line.fail("arguments", "expected the request's arguments (gen_args_0.arg_0 ...)")


def _generation_args(line: _Line) -> dict[str, Any]:
    request = _request(line)
    return request[1] if len(request) > 1 and isinstance(request[1], dict) else {}


def _gold(line: _Line) -> str:
    target = line.get("target")
    if isinstance(target, list):
        target = target[0] if target else None
    if isinstance(target, bool) or not isinstance(target, (str, int, float)) or not str(target).strip():
        raise line.fail("target", f"expected a gold answer as text or a number, got {target!r}")
    text = str(target)
    if _GSM8K_GOLD in text:
        text = text.rsplit(_GSM8K_GOLD, 1)[1]
    return plain_gold(text.strip())


def _model(doc: dict, top: dict) -> ModelInfo:
    """The model as lm-eval names it (`model_name`, from `pretrained=` or a like model argument); a model
    passed to lm-eval as an object has none (lm-eval makes up a random one), and is named by its type."""
    args = top.get("model_args")
    if isinstance(args, str):
        args = dict(kv.split("=", 1) for kv in args.split(",") if "=" in kv)
    args = args if isinstance(args, dict) else {}
    named = any(args.get(key) for key in _MODEL_NAME_ARGS)
    name = str((doc.get("model_name") if named else None) or top.get("model") or "model")
    return ModelInfo(name=name, backend=f"{TOOL}:{top.get('model', 'unknown')}",
                     source=str(doc.get("model_source") or name), args=_plain(args))


def _sampling(gen: dict, repeats: int, top: dict) -> SamplingParams:
    until = gen.get("until") or ()
    temperature = gen.get("temperature", 0.0) if gen.get("do_sample") else 0.0
    return SamplingParams(
        n=repeats, temperature=float(temperature or 0.0), top_p=float(gen.get("top_p") or 1.0),
        max_new_tokens=int(gen.get("max_gen_toks") or gen.get("max_new_tokens") or 256),  # lm-eval's default
        seed=int(top.get("random_seed") or 0),
        stop=tuple(str(s) for s in ([until] if isinstance(until, str) else until)),
    )


def _settings(doc: dict, top: dict, task: str, config: dict) -> dict[str, Any]:
    return _plain({
        "lm_eval_version": doc.get("lm_eval_version"), "model_type": top.get("model"),
        "num_fewshot": (doc.get("n-shot") or {}).get(task, config.get("num_fewshot")),
        "gen_kwargs": top.get("gen_kwargs"), "limit": top.get("limit"), "batch_size": top.get("batch_size"),
        "system_instruction": doc.get("system_instruction"), "chat_template": bool(doc.get("chat_template")),
        "task_hash": (doc.get("task_hashes") or {}).get(task), "filters": [
            f.get("name") for f in config.get("filter_list") or [] if isinstance(f, dict)],
    })


def _plain(values: dict) -> dict[str, Any]:
    """The JSON scalars and short lists among `values`: settings, not payloads."""
    return {str(k): v for k, v in values.items()
            if v is None or isinstance(v, (str, int, float, bool)) or
            (isinstance(v, list) and all(isinstance(x, (str, int, float, bool)) for x in v))}


def _load_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ImportFileError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise ImportFileError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _field(doc: dict, name: str, kind: type, path: Path) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise ImportFileError(f"{path}: field {name!r}: {'missing' if value is None else 'expected an object'}")
    return value
