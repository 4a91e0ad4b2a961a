"""Practice tasks written by a teacher model (a scripted one here): only verified ones are kept."""

from __future__ import annotations

import itertools
import json
import re
from fractions import Fraction

import pytest
from fakes import ScriptedBackend, WordHashEmbedder

from lessons.builders import build_lesson_set, check_row, load_heldout, load_source, make_builder, make_config
from lessons.arith import find_statements, parse_number
from lessons.builders._teacher import parse_problem
from lessons.builders.overlap import overlapping
from lessons.builders.practice import TEACHER_TEMPERATURE, WeakSlice, _step_recomputes, _unfit, weak_slices
from lessons.diagnose.slices import SliceSpec
from lessons.tasks.base import GoldStep, Task
from lessons.verify import verify

# What the scripted teacher writes for chat i (problem i + 1 of 8), and why it must be rejected.
PLAN = ["good", "wrong_step", "good2", "wrong_answer", "unparseable", "copy", "no_numbers", "unused_numbers"]
REJECTS = {k for k in PLAN if not k.startswith("good")}
OPTIONS = {"teacher": "scripted-teacher", "per_slice": str(len(PLAN)), "teacher_samples": "1"}


def example_block(chat, k: int = 1) -> str:
    """Example k of the chat, as the teacher was shown it (Question, Steps, Answer)."""
    return re.search(rf"Example {k}:\n(.*?)(?:\n\n|$)", chat[-1]["content"], re.S).group(1)


def make_teacher(name: str = "scripted-teacher", extra: str | None = None) -> ScriptedBackend:
    """A teacher following PLAN; `extra`, when given, is served for every chat past PLAN."""
    fresh = itertools.count(1)

    def respond(chat, sample):
        i = int(re.search(r"This is problem (\d+) of", chat[-1]["content"]).group(1)) - 1
        if i >= len(PLAN):
            return extra or "nothing"
        kind, n = PLAN[i], next(fresh)
        a, b, c = 40 + 7 * n, 3 + n % 5, 5 + n
        if kind == "good":
            return (f"Sure! Here is one.\nQuestion: A farmer plants {a} rows of {b} trees. How many trees does he "
                    f"plant?\nStep 1: {a} * {b} = {a * b}\nAnswer: {a * b}")
        if kind == "good2":
            return (f"**Question:** Ana has {a} coins, finds {b} more, then spends {c}. How many coins does she have?"
                    f"\n\n**Step 1:** {a} + {b} = {a + b}\n**Step 2:** {a + b} - {c} = {a + b - c}\n"
                    f"**Answer:** {a + b - c}\n\nI hope this helps.")
        if kind == "wrong_step":
            return (f"Question: A box holds {a} pens in {b} rows. How many pens?\n"
                    f"Step 1: {a} * {b} = {a * b + 1}\nAnswer: {a * b + 1}")
        if kind == "wrong_answer":
            return (f"Question: Ben reads {a} pages on each of {b} days. How many pages?\n"
                    f"Step 1: {a} * {b} = {a * b}\nAnswer: {a * b + 10}")
        if kind == "unparseable":
            return "I would rather write a poem about numbers."
        if kind == "copy":
            return example_block(chat)  # the slice's own failed train task, with its gold solution
        if kind == "no_numbers":
            return "Question: What is half of a dozen?\nStep 1: 12 / 2 = 6\nAnswer: 6"
        return f"Question: What is {a} + {b}?\nStep 1: 3 * 4 = 12\nAnswer: 12"  # unused_numbers

    return ScriptedBackend(respond, name=name)


@pytest.fixture
def source(store):
    return load_source(store, "planted")


def build(source, teacher, **options):
    builder = make_builder("practice", teacher=teacher, embedder=WordHashEmbedder())
    return builder, builder.build(source, make_config(builder, {**OPTIONS, **options}))


def recomputes(step: str) -> bool:
    value = parse_number(step.rpartition("=")[2])
    return any(s.exact and s.stated == value for s in find_statements(step))


def test_only_verified_teacher_problems_are_kept(source, tasks):
    teacher = make_teacher()
    builder, lessons = build(source, teacher)
    slices = weak_slices(source, 5)
    assert len(teacher.calls) == len(slices) >= 2  # one generate() call per slice
    assert len(lessons) == 2 * len(slices)  # the two good problems of each slice
    assert builder.rejected == {reason: len(slices) for reason in REJECTS}
    run_prompts = {t.prompt for t in tasks.values()}
    for lesson in lessons:
        row, p = lesson.row, lesson.provenance
        check_row("tasks", row)
        assert row["question"].startswith(("A farmer plants", "Ana has")) and row["question"] not in run_prompts
        steps = row["solution"].splitlines()
        assert steps and all(recomputes(s) for s in steps)
        assert parse_number(steps[-1].rpartition("=")[2]) == parse_number(row["answer"])
        assert verify(row["answer"], row["solution"] + f"\nAnswer: {row['answer']}").correct
        assert p.detail["teacher"] == "scripted-teacher" and p.detail["source"] == "teacher"
        assert p.detail["rejected"] == {reason: 1 for reason in REJECTS}
        assert p.args["teacher"] == "scripted-teacher"
        weak = next(w for w in slices if w.predicates == p.detail["slice"])
        assert p.source_tasks and set(p.source_tasks) <= set(weak.failed)
        assert row["skill"] == tasks[p.source_tasks[0]].skill  # metadata of the lead example
        assert p.attempt_ids and all(a.task_id in p.source_tasks for a in source.attempts if a.id in p.attempt_ids)
    assert len({l.row["task_id"] for l in lessons}) == len(lessons)


def test_the_teacher_is_asked_once_per_slice_with_the_slice_and_its_failed_tasks(source, heldout_ids, tasks):
    teacher = make_teacher()
    build(source, teacher, teacher_samples="2")
    slices = weak_slices(source, 5)
    seeds = set()
    for (chats, params), weak in zip(teacher.calls, slices):
        assert len(chats) == len(PLAN) and params.n == 2 and params.temperature == TEACHER_TEMPERATURE
        seeds.add(params.seed)
        failed = {source.tasks[t].prompt for t in weak.failed}
        for chat in chats:
            text = chat[-1]["content"]
            shown = [q for q in re.findall(r"^Question: (.*)$", text, re.M) if q != "<the problem>"]
            assert 1 <= len(shown) <= 3 and set(shown) <= failed
            assert all(f"{k}={v}" in text for k, v in weak.predicates.items())
            assert not any(tasks[t].prompt in text for t in heldout_ids)
        assert len({c[-1]["content"] for c in chats}) == len(chats)  # same seed, still different samples
    assert len(seeds) == len(slices)


def test_a_teacher_name_without_a_teacher_model_is_an_error(source):
    builder = make_builder("practice")
    with pytest.raises(ValueError, match="practice teacher 'scripted-teacher' is configured but no teacher model"):
        builder.build(source, make_config(builder, OPTIONS))
    assert make_config(builder, {"teacher": ""}).teacher is None


@pytest.mark.parametrize("text, question, steps, answer", [
    ("Question: What is 2 + 3?\nStep 1: 2 + 3 = 5\nAnswer: 5", "What is 2 + 3?", [("2 + 3 = 5", "5")], "5"),
    ("Here you go:\n```\nQuestion:\nA jar holds 1,200 beads.\nHow many in 2 jars?\nStep 1: 1,200 * 2 = 2,400 beads.\n"
     "Answer: $2,400.\n```", "A jar holds 1,200 beads. How many in 2 jars?", [("1,200 * 2 = 2,400 beads", "2400")],
     "2400"),
    ("Question: What is 1/2 + 1/4?\nStep 1: 1/2 + 1/4 = 3/4\nAnswer: 3/4", "What is 1/2 + 1/4?",
     [("1/2 + 1/4 = 3/4", "3/4")], "3/4"),
    ("Question: q 1\nStep 1: 1 + 1 = 2\nStep 3: 2 + 1 = 3\nAnswer: 3", None, None, None),  # numbering skips
    ("Question: q 1\nStep 1: 1 + 1 = 2\nso then\nStep 2: 2 + 1 = 3\nAnswer: 3", None, None, None),  # prose between
    ("Question: q 1\nStep 1: add them\nAnswer: 2", None, None, None),  # a step without '= value'
    ("Question: q 1\nStep 1: 1 + 1 = 2\nAnswer: two", None, None, None),  # the answer is no number
    ("Question: q 1\nStep 1: 1 + 1 = 2", None, None, None),  # no answer
    ("Step 1: 1 + 1 = 2\nAnswer: 2", None, None, None),  # no question
    ("Question: q 1\nAnswer: 2", None, None, None),  # no steps
])
def test_parse_problem(text, question, steps, answer):
    problem = parse_problem(text)
    if question is None:
        assert problem is None
        return
    assert problem.question == question and problem.answer == answer
    assert problem.steps == tuple(GoldStep(t, v) for t, v in steps)


def test_a_teacher_copy_of_a_heldout_task_never_reaches_the_lesson_set(store, tasks, heldout_ids, tmp_path):
    """The teacher never sees held-out tasks, but may still write one: the writer drops it."""
    train = [t.prompt for t in tasks.values() if t.split == "train"]
    held = next(tasks[t] for t in sorted(heldout_ids)
                if len(tasks[t].steps) > 1 and not overlapping([tasks[t].prompt], train)[0])
    solved = "\n".join([f"Question: {held.prompt}", *(f"Step {i + 1}: {s.text}" for i, s in enumerate(held.steps)),
                        f"Answer: {held.answer}"])
    teacher = make_teacher(extra=solved)
    summary = build_lesson_set(store, "planted", "practice", tmp_path / "p", {**OPTIONS, "per_slice": "9"},
                               teacher=teacher)
    assert summary.report.heldout_overlap == 1  # kept by the builder (it verifies), dropped by the writer
    assert summary.rejected["duplicate"] == len(teacher.calls) - 1  # the same copy in the other slices
    rows = (tmp_path / "p" / "lessons.jsonl").read_text()
    assert summary.report.records > 0 and held.prompt not in rows
    assert not any(overlapping([json.loads(r)["question"]], load_heldout(store, store.get_run("planted")).prompts)[0]
                   for r in rows.splitlines())
    for line in (tmp_path / "p" / "provenance.jsonl").read_text().splitlines():
        assert not heldout_ids & {*json.loads(line)["source_tasks"]}


@pytest.fixture
def cli(planted_cli):
    return planted_cli


def test_cli_resolves_the_teacher_and_reports_rejects(cli, tmp_path, register_model):
    resolved = []

    def resolve(name, options):
        resolved.append((name, options.base_url))
        return make_teacher(name)

    register_model("openai:tiny", resolve)  # stands for the endpoint's model, options and all
    out = tmp_path / "practice"
    payload = json.loads(cli("build", "practice", "--run", "planted", "--out", out, "-x", "teacher=openai:tiny",
                             "-x", f"per_slice={len(PLAN)}", "-x", "teacher_samples=1",
                             "--base-url", "http://127.0.0.1:9/v1", "--json").stdout)
    assert resolved == [("openai:tiny", "http://127.0.0.1:9/v1")]
    slices = payload["records"] // 2
    assert payload["records"] > 0 and payload["rejected"] == {reason: slices for reason in REJECTS}
    assert json.loads((out / "lesson_set.json").read_text())["args"]["teacher"] == "openai:tiny"
    for line in (out / "provenance.jsonl").read_text().splitlines():
        assert json.loads(line)["detail"]["teacher"] == "openai:tiny"
    table = cli("build", "practice", "--run", "planted", "--out", tmp_path / "again", "-x", "teacher=openai:tiny",
                "-x", f"per_slice={len(PLAN)}", "-x", "teacher_samples=1").stdout
    assert "candidates rejected" in table and "wrong_step" in " ".join(table.split())


def test_cli_unknown_teacher_is_a_clear_error(cli, tmp_path):
    result = cli("build", "practice", "--run", "planted", "--out", tmp_path / "x", "-x", "teacher=no-such-model",
                 ok=False)
    assert "no-such-model" in result.output and "openai:<model>" in " ".join(result.output.split())


def test_a_problem_outside_the_slice_is_unfit():
    weak = WeakSlice(SliceSpec.from_labels({"n_steps": "2"}), ("t",), 1.0)
    steps = (GoldStep("3 + 4 = 7", "7"),)
    assert _unfit(Task("p", "What is 3 + 4?", "7", steps, {"n_steps": 1}), weak) == "off_slice"
    assert _unfit(Task("p", "What is 3 + 4?", "7", steps * 2, {"n_steps": 2}), weak) is None
    assert _unfit(Task("p", "What is 3 + 4 + 5?", "7", steps * 2, {"n_steps": 2}), weak) == "unused_numbers"


@pytest.mark.parametrize("question, steps, answer, reason", [
    # replies a real teacher (qwen2.5-coder-0.5b) wrote for a fractions slice and a 2-step slice
    ("How many candies are in 12 boxes?", ["12 * 5 = 60"], "60", "ungrounded"),
    ("Calculate (3/4) + (1/2) = 1/2", ["3/4 + 1/2 = 5/4"], "5/4", "states_result"),
    ("What is 2/3 + 1/3? Give the answer as a fraction in lowest terms.", ["2/3 + 1/3 = 3/3"], "3/3",
     "not_lowest_terms"),
    ("A shirt costs $40 and is 25% off. What is the sale price?", ["40 * 25 / 100 = 10", "40 - 10 = 30"], "30", None),
    # the constants of `lessons.arith.free_constants`: a week's 7 days only where time is named
    ("Sam reads 3 pages a day. How many pages in 2 weeks?", ["2 * 7 = 14", "14 * 3 = 42"], "42", None),
    ("Sam reads 3 pages. How many pages does he read?", ["3 * 7 = 21"], "21", "ungrounded"),
])
def test_teacher_problems_missing_a_fact_or_stating_a_result_are_unfit(question, steps, answer, reason):
    weak = WeakSlice(SliceSpec(), ("t",), 1.0)
    gold = tuple(GoldStep(text, text.rpartition("=")[2].strip()) for text in steps)
    assert _unfit(Task("p", question, answer, gold, {}), weak) == reason


@pytest.mark.parametrize("text, value, ok", [
    ("47 / 5 = 9 remainder 2", 9, True), ("47 ÷ 5 = 9 R 2", 9, True), ("47 / 5 = 9 remainder 3", 9, False),
    ("47 / 5 = 9 remainder 2", 2, False), ("48 / 2 = 24", 24, True), ("48 / 2 = 25", 25, False),
])
def test_a_teacher_step_recomputes_by_the_statement_engine_remainders_included(text, value, ok):
    assert _step_recomputes(text, Fraction(value)) is ok
