"""Practice for a task file: failed tasks whose gold solution recomputes get new numbers."""

from __future__ import annotations

import json

from fakes import ScriptedBackend

from lessons.builders import load_source, make_builder, make_config
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite
from lessons.verify import verify


def write_gsm8k(path, n: int = 16) -> None:
    lines = []
    for i in range(n):
        a, b, c = 20 + 3 * i, 5 + i, 4 + i % 5
        s, r = a + b, a + b - c
        question = (f"Tom has {a} apples and buys {b} more. Then he gives away {c}. "
                    "How many apples does Tom have now?")
        answer = f"Tom has {a}+{b} = <<{a}+{b}={s}>>{s} apples.\nThen he has {s}-{c} = <<{s}-{c}={r}>>{r} apples.\n#### {r}"
        lines.append(json.dumps({"question": question, "answer": answer}))
    lines.append(json.dumps({"question": "What is the capital of Peru? Answer with 1 for Lima.",
                             "answer": "Lima is the capital.\n#### 1"}))  # nothing to recompute
    path.write_text("\n".join(lines) + "\n")


def test_practice_resamples_failed_file_tasks(tmp_path):
    file = tmp_path / "gsm8k-mini.jsonl"
    write_gsm8k(file)
    store = Store.open(tmp_path / "log.db")
    evaluate(store, ScriptedBackend(lambda chat, s: "Answer: 0"), load_suite(str(file)), EvalConfig(run_name="f"))
    source = load_source(store, "f")
    builder = make_builder("practice")
    lessons = builder.build(source, make_config(builder, {"per_slice": 6}))
    assert len(lessons) == 6
    originals = {t.prompt for t in source.tasks.values()}
    for lesson in lessons:
        row = lesson.row
        assert row["question"] not in originals and "Tom has" in row["question"]
        a, b, c = (int(x) for x in row["question"].replace(".", " ").split() if x.isdigit())
        assert row["answer"] == str(a + b - c)
        assert verify(row["answer"], row["solution"].splitlines()[-1]).correct
        (seed,) = lesson.provenance.source_tasks
        assert source.tasks[seed].split == "train" and lesson.provenance.attempt_ids
        assert row["prompt"][-1]["content"] == row["question"]
