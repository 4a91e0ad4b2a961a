"""Lessons from a code run: texts judged by running their tests (rejection, pairs), and
`feedback` rows (wrong program, what its run gave, a fix that passes every test).

The scripted coder answers task i of the `code` suite by `i % 3` (the first task with the
same prompt decides):

    0: both samples the reference program
    1: sample 0 returns None (an AssertionError on the first test), sample 1 the reference
    2: sample 0 raises IndexError (an error, at a line of the program), sample 1 prose
"""

from __future__ import annotations

import json
import shutil

import pytest
from fakes import ScriptedBackend

from lessons.builders import load_source, make_builder, make_config
from lessons.builders.feedback import FIX_REQUEST
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite

N_TASKS = 9
SUITE = load_suite("code")
TASKS = list(SUITE.tasks(N_TASKS))
FIRST = {}
for _i, _t in enumerate(TASKS):
    FIRST.setdefault(_t.prompt, (_i, _t))


def fenced(code: str) -> str:
    return f"Here it is:\n```python\n{code.rstrip()}\n```\n"


def wrong(task, kind: int) -> str:
    body = "    return None" if kind == 1 else "    items = []\n    return items[0]"
    return fenced(f"{task.prompt.rstrip()}\n{body}")


def coder(chat, sample):
    index, task = FIRST[chat[1]["content"]]
    kind = index % 3
    if kind == 0 or (kind == 1 and sample == 1):
        return fenced(task.answer)
    return wrong(task, kind) if sample == 0 else "I am not sure how to write this."


def fixer(chat, sample):
    """Asked on a feedback chat: the reference for kind 1, the same wrong program for kind 2."""
    assert chat[-1]["role"] == "user" and FIX_REQUEST in chat[-1]["content"]
    index, task = FIRST[chat[1]["content"]]
    return fenced(task.answer) if index % 3 == 1 else chat[-2]["content"]


def kind_of(task_id: str) -> int:
    task = next(t for t in TASKS if t.id == task_id)
    return FIRST[task.prompt][0] % 3


@pytest.fixture(scope="module")
def code_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("code") / "log.db"
    store = Store.open(db)
    evaluate(store, ScriptedBackend(coder, name="coder"), SUITE,
             EvalConfig(limit=N_TASKS, samples=2, run_name="coded", verifier="tests", template="code"))
    store.close()
    return db


@pytest.fixture
def source(code_db):
    store = Store.open(code_db)
    yield load_source(store, "coded")
    store.close()


def train_of_kind(source, kind):
    return {t for t in source.tasks if kind_of(t) == kind}


def test_the_run_has_every_kind_in_its_train_split(source):
    assert all(train_of_kind(source, k) for k in range(3))


def test_source_judges_texts_by_running_their_tests(source):
    task = next(iter(source.tasks.values()))
    verdicts = source.judge([(task, fenced(task.answer)), (task, wrong(task, 1)), (task, wrong(task, 2)),
                             (task, "no code")])
    assert [v.correct for v in verdicts] == [True, False, False, False]
    assert verdicts[1].execution.tests[0].exception == "AssertionError"
    assert verdicts[2].execution.status == "error" and verdicts[2].execution.exception == "IndexError"
    assert verdicts[3].execution is None and verdicts[3].extraction.status == "missing"
    assert source.judges_programs and source.is_correct(task, source.gold_response(task))
    assert source.checks_wrong(task, wrong(task, 1)) and not source.checks_wrong(task, "no code")


def test_rejection_keeps_passing_programs(source):
    builder = make_builder("rejection")
    lessons = builder.build(source, make_config(builder))
    solved = train_of_kind(source, 0) | train_of_kind(source, 1)
    assert {x.provenance.task_id for x in lessons} == solved
    for x in lessons:
        task = source.tasks[x.provenance.task_id]
        assert source.is_correct(task, x.row["messages"][-1]["content"])


def test_pairs_are_passing_and_failing_programs(source):
    builder = make_builder("pairs")
    lessons = builder.build(source, make_config(builder))
    assert {x.provenance.task_id for x in lessons} == train_of_kind(source, 1)
    for x in lessons:
        task = source.tasks[x.provenance.task_id]
        good, bad = x.row["chosen"][0]["content"], x.row["rejected"][0]["content"]
        assert source.is_correct(task, good) and not source.is_correct(task, bad)
    gold = builder.build(source, make_config(builder, {"gold_fallback": "true"}))
    fallback = [x for x in gold if x.provenance.detail["chosen"] == "gold"]
    assert {x.provenance.task_id for x in fallback} == train_of_kind(source, 2)
    assert all("```python" in x.row["chosen"][0]["content"] for x in fallback)


def feedback(source, backend=None, **options):
    builder = make_builder("feedback", teacher=backend)
    return builder.build(source, make_config(builder, options))


def test_feedback_rows_show_the_run_and_keep_only_passing_fixes(source):
    teacher = ScriptedBackend(fixer, name="fixer")
    lessons = feedback(source, teacher, teacher="fixer", samples="2")
    assert {x.provenance.task_id for x in lessons} == train_of_kind(source, 1)  # kind 2's fix still fails
    for x in lessons:
        system, question, own, told, fixed = x.row["messages"]
        task = source.tasks[x.provenance.task_id]
        attempt = next(a for a in source.by_task[task.id] if a.id == x.provenance.attempt_ids[0])
        assert question["content"] == task.prompt and own["content"] == attempt.text.strip()
        assert not attempt.correct and source.is_correct(task, fixed["content"])
        assert "First failing test: case 1" in told["content"] and "AssertionError" in told["content"]
        assert task.metadata["tests"][0]["source"] in told["content"]
        assert x.provenance.detail == {"fix": "model", "teacher": "fixer", "status": "failed",
                                       "first_failure": "case 1"}
    (chats, params), = teacher.calls
    assert params.n == 2 and len(chats) == len(train_of_kind(source, 1) | train_of_kind(source, 2))
    errors = [c[-1]["content"] for c in chats if kind_of(next(
        t.id for t in source.tasks.values() if t.prompt == c[1]["content"])) == 2]
    assert errors and all("IndexError at line" in e for e in errors)


def test_feedback_without_a_model_makes_nothing_unless_told_to_use_the_reference(source):
    assert feedback(source) == []
    lessons = feedback(source, reference="true")
    assert {x.provenance.task_id for x in lessons} == train_of_kind(source, 1) | train_of_kind(source, 2)
    assert all(x.provenance.detail["fix"] == "reference" for x in lessons)
    mixed = feedback(source, ScriptedBackend(fixer, name="fixer"), teacher="fixer", reference="true")
    assert {x.provenance.task_id: x.provenance.detail["fix"] for x in mixed} == {
        **{t: "model" for t in train_of_kind(source, 1)}, **{t: "reference" for t in train_of_kind(source, 2)}}


def test_feedback_needs_a_code_run_and_the_model_it_names(source, store):
    with pytest.raises(ValueError, match="no teacher model was given"):
        feedback(source, teacher="fixer")
    with pytest.raises(ValueError, match="'math' verifier"):
        feedback(load_source(store, "planted"))


def test_build_feedback_through_the_cli(code_db, tmp_path, monkeypatch, run_cli, register_model):
    for suffix in ("", "-wal", "-shm"):  # a copy: the build records its lesson set in the log
        if code_db.with_name(code_db.name + suffix).exists():
            shutil.copy(code_db.with_name(code_db.name + suffix), tmp_path / f"log.db{suffix}")
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    register_model("fixer", lambda name, options: ScriptedBackend(fixer, name=name))
    out = tmp_path / "fb"
    payload = json.loads(run_cli("build", "feedback", "--run", "coded", "--out", out, "-x", "teacher=fixer",
                                 "-x", "reference=true", "--json").stdout)
    # rows whose prompt overlaps a held-out stub are the writer's to drop (see `overlap`)
    assert payload["format"] == "messages" and payload["records"] > 0, json.dumps(payload)
    rows = [json.loads(line) for line in (out / "lessons.jsonl").read_text().splitlines()]
    assert len(rows) == payload["records"] and all(len(r["messages"]) == 5 for r in rows)
    empty = run_cli("build", "feedback", "--run", "coded", "--out", tmp_path / "none", ok=None)
    assert "-x teacher=MODEL" in empty.stdout + empty.stderr
