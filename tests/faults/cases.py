"""The commands of the fault matrix and the state each starts from. Small on purpose:
every planned kill runs its command twice, each in a fresh process."""

from __future__ import annotations

import json
from pathlib import Path

from harness import Case, check, lessons

EVAL = ("eval", "--model", "scripted-base", "--suite", "arith", "--limit", "40", "--batch-size", "4",
        "--run", "r1")
LOOP = ("loop", "--name", "t", "--model", "scripted-base", "--train-tasks", "64", "--heldout-tasks", "32",
        "--rows", "12", "--steps", "3", "--mix", "practice=1", "--keep", "1", "--target-tasks", "16", "--batch-size",
        "8", "--out", "{dir}/loop")


def _evaluated(workdir: Path) -> None:
    check(lessons(EVAL, workdir), "prepare: eval")


def _diagnosed(workdir: Path) -> None:
    _evaluated(workdir)
    check(lessons(("diagnose", "r1"), workdir), "prepare: diagnose")


def _looped(workdir: Path) -> None:
    check(lessons(LOOP, workdir), "prepare: loop")


def _lm_eval_log(workdir: Path) -> None:
    """A real lm-eval output folder (tests/import_logs.py); the import names it relatively, as a user would."""
    from import_logs import make_lm_eval_logs

    make_lm_eval_logs(workdir / "lm-eval")


def _model_and_lessons(workdir: Path) -> None:
    """A tiny random Llama with SmolLM2's tokenizer, and 16 SFT rows."""
    from tiny import save_tiny_llama

    save_tiny_llama(workdir / "tiny", hidden_size=32, layers=1)
    rows = [{"messages": [{"role": "user", "content": f"What is {i} + {i}?"},
                          {"role": "assistant", "content": f"{i} + {i} = {2 * i}\nAnswer: {2 * i}"}]}
            for i in range(16)]
    (workdir / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


FAST = [
    Case("eval", EVAL, every_hit=True, max_kills=20),
    Case("diagnose", ("diagnose", "r1", "--batch-size", "2"), prepare=_evaluated, every_hit=True),
    Case("build", ("build", "correction", "--run", "r1", "--out", "{dir}/lessons/corr"), prepare=_diagnosed,
         compare=("lessons/corr",)),
    Case("export", ("export", "r1", "--format", "parquet", "-o", "{dir}/r1.parquet"), prepare=_evaluated,
         compare=("r1.parquet",)),
    Case("import", ("import", "lm-eval", "lm-eval/sloppy", "--task", "tiny_arith"), prepare=_lm_eval_log,
         every_hit=True),
    Case("loop", LOOP, compare=("loop/r1",), volatile_files=("loop/report.html",), every_hit=True, max_kills=20,
         slow=True),
    Case("report", ("report", "t", "-o", "{dir}/report.html"), prepare=_looped, compare=("report.html",),
         slow=True),
]
# real TRL training on a tiny model: seconds per process start, so behind the slow marker
TRAIN = Case(
    "train",
    ("train", "--model", "{dir}/tiny", "--data", "{dir}/rows.jsonl", "--max-steps", "4", "--save-steps", "1",
     "--batch-size", "4", "--max-length", "64", "--lora-r", "4", "--lora-alpha", "8", "--device", "cpu",
     "--name", "tiny-sft", "--out", "{dir}/out"),
    prepare=_model_and_lessons, compare=("out/adapter", "out/merged", "out/result.json", "out/train.json"),
    slow=True,
)
