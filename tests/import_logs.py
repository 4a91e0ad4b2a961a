"""Real logs, made by the tools themselves, offline: lm-evaluation-harness on a tiny task YAML
over a local JSONL with a scripted model registered for the test, and Inspect AI with its
`mockllm/model` given scripted outputs. Nothing is hand-written in their format. (Beside
tests/fakes.py so that test modules can import the script; tests/imports/conftest.py makes
the logs once per session.)"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

QUESTIONS = [("What is 2 + 3?", "5"), ("What is 7 * 6?", "42"), ("What is 10 - 4?", "6"),
             ("What is 9 + 8?", "17"), ("What is 12 / 4?", "3"), ("What is 15 - 7?", "8")]


def sloppy_answer(question: str) -> str:
    """Right on even-numbered questions; a wrong product step on the second; the right number in prose on
    the fourth (lm-eval's strict filter misses it, the project's extraction does not); none on the sixth."""
    a, op, b = re.search(r"(\d+) (\S) (\d+)", question).groups()
    index = next(i for i, (q, _) in enumerate(QUESTIONS) if q in question)
    gold = dict(QUESTIONS)[QUESTIONS[index][0]]
    if index % 2 == 0:
        return f"Step 1: {a} {op} {b} = {gold}\nAnswer: {gold}"
    if index == 1:
        return f"Step 1: {a} {op} {b} = 48\nAnswer: 48"
    if index == 3:
        return f"{a} {op} {b} makes {gold}."
    return "I am not sure how to do this one."


def careful_answer(question: str) -> str:
    a, op, b = re.search(r"(\d+) (\S) (\d+)", question).groups()
    gold = next(g for q, g in QUESTIONS if q in question)
    return f"Step 1: {a} {op} {b} = {gold}\nAnswer: {gold}"


TASK_YAML = """\
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
  cache_dir: {cache}
test_split: test
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
repeats: {repeats}
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
generation_kwargs:
  until: ["Question:"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: 64
filter_list:
  - name: strict-match
    filter:
      - function: regex
        regex_pattern: "Answer: (-?[0-9]+)"
      - function: take_first
  - name: flexible-extract
    filter:
      - function: regex
        group_select: -1
        regex_pattern: "(-?[0-9]+)"
      - function: take_first
metadata:
  version: 1.0
"""


@dataclass(frozen=True)
class LmEvalLogs:
    sloppy: Path  # output folder of the sloppy model: tasks tiny_arith and tiny_arith_k2 (2 repeats)
    careful: Path  # the careful model on tiny_arith alone


def make_lm_eval_logs(root: Path) -> LmEvalLogs:
    lm_eval = pytest.importorskip("lm_eval")
    from lm_eval.api.model import LM
    from lm_eval.api.registry import MODEL_REGISTRY, register_model
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    root.mkdir(parents=True, exist_ok=True)
    data = root / "arith.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS))
    tasks = root / "tasks"
    tasks.mkdir()
    for name, repeats in (("tiny_arith", 1), ("tiny_arith_k2", 2)):
        (tasks / f"{name}.yaml").write_text(
            TASK_YAML.format(name=name, data=data, cache=root / "hf-cache", repeats=repeats))

    class ScriptedLM(LM):
        """An lm-eval model that answers from a script, by its `pretrained` name."""

        def __init__(self, pretrained: str = "sloppy", **_ignored):
            super().__init__()
            self.answer = careful_answer if pretrained.endswith("careful") else sloppy_answer

        def generate_until(self, requests, disable_tqdm: bool = False):
            return [self.answer(r.arguments[0]) for r in requests]

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            raise NotImplementedError

    if "lessons-scripted" not in MODEL_REGISTRY:
        register_model("lessons-scripted")(ScriptedLM)

    def run(model: str, names: list[str]) -> Path:
        out = root / model
        tracker = EvaluationTracker(output_path=str(out))
        results = lm_eval.simple_evaluate(
            model="lessons-scripted", model_args=f"pretrained=scripted/{model}", tasks=names,
            task_manager=TaskManager(include_path=str(tasks), include_defaults=False),  # no index of 10k tasks
            log_samples=True, evaluation_tracker=tracker,
        )
        samples = results.pop("samples")
        tracker.save_results_aggregated(results=results, samples=samples)
        for name in results["configs"]:
            tracker.save_results_samples(task_name=name, samples=samples[name])
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_DATASETS_OFFLINE", "1")  # nothing may come from a hub
        mp.setenv("HF_HUB_OFFLINE", "1")
        return LmEvalLogs(sloppy=run("sloppy", ["tiny_arith", "tiny_arith_k2"]),
                          careful=run("careful", ["tiny_arith"]))


@dataclass(frozen=True)
class InspectLogs:
    eval: Path  # the same scripted evaluation in both formats
    json: Path


def make_inspect_logs(log_dir: Path) -> InspectLogs:
    pytest.importorskip("inspect_ai")
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate

    def output(text: str) -> ModelOutput:
        out = ModelOutput.from_content(model="mockllm/model", content=text)
        # given usage, mockllm does not count tokens itself (with tiktoken, which downloads its encoding)
        out.usage = ModelUsage(input_tokens=12, output_tokens=len(text.split()), total_tokens=12 + len(text.split()))
        return out

    samples = [Sample(input=q, target=a, id=f"q{i}", metadata={"op": q.split()[3]})
               for i, (q, a) in enumerate(QUESTIONS)]
    logs = {}
    for fmt in ("eval", "json"):
        model = get_model("mockllm/model", custom_outputs=[output(sloppy_answer(q)) for q, _ in QUESTIONS],
                          memoize=False)
        task = Task(dataset=samples, solver=[generate()], scorer=match(numeric=True), name="tiny_arith")
        [log] = inspect_eval(task, model=model, log_dir=str(log_dir / fmt), log_format=fmt, display="none",
                             temperature=0.0, max_tokens=64)
        assert log.status == "success", log.error
        logs[fmt] = Path(log.location)
    return InspectLogs(eval=logs["eval"], json=logs["json"])
