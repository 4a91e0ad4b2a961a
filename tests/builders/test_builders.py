"""Each builder on the planted run (see conftest): what it builds, from which attempts."""

from __future__ import annotations

import pytest
from fakes import WordHashEmbedder

from lessons.builders import check_row, load_source, make_builder, make_config
from lessons.builders.correction import RECHECK_PHRASES
from lessons.builders.prompt import EXAMPLES_HEADER, HEADER
from lessons.builders.rejection import RejectionConfig, solution_quota
from lessons.diagnose.steps import split_steps
from lessons.verify import verify

@pytest.fixture
def source(store):
    return load_source(store, "planted")


def kind_of(task_id: str) -> int:
    return int(task_id.rsplit("-", 1)[-1]) % 3


def build(source, name, **options):
    builder = make_builder(name, embedder=WordHashEmbedder())
    lessons = builder.build(source, make_config(builder, options))
    for lesson in lessons:
        check_row(builder.format, lesson.row)
        p = lesson.provenance
        assert p.builder == name and p.run_id == source.run.id
        for attempt_id in p.attempt_ids:  # every quoted attempt is one of the run's train attempts
            assert attempt_id in {a.id for a in source.attempts}
    return lessons


def answer(row_message: list[dict]) -> str:
    return row_message[-1]["content"]


def test_rejection_keeps_one_distinct_correct_solution_per_solved_task(source, tasks, kinds):
    lessons = build(source, "rejection")
    # kind 0: two samples differing only in layout count once; kind 1: one correct sample
    assert sorted(l.provenance.task_id for l in lessons) == sorted(kinds[0] | kinds[1])
    for lesson in lessons:
        task = tasks[lesson.provenance.task_id]
        assert verify(task.answer, answer(lesson.row["messages"])).correct
        assert lesson.row["messages"][:-1] == source.render(task)


@pytest.mark.parametrize("solved, samples, quota", [(4, 4, 1), (2, 4, 3), (1, 4, 4), (0, 4, 0), (1, 1, 1)])
def test_rejection_quota_grows_as_the_solve_rate_falls(solved, samples, quota):
    assert solution_quota(solved, samples, RejectionConfig(per_task=1, per_hard_task=4)) == quota


def test_pairs_put_a_correct_sample_against_a_wrong_one_of_the_same_task(source, tasks, kinds):
    lessons = build(source, "pairs")
    assert {l.provenance.task_id for l in lessons} == kinds[1]
    for lesson in lessons:
        task = tasks[lesson.provenance.task_id]
        assert verify(task.answer, answer(lesson.row["chosen"])).correct
        assert not verify(task.answer, answer(lesson.row["rejected"])).correct
        assert len(lesson.provenance.attempt_ids) == 2


def test_pairs_with_gold_fallback_cover_tasks_never_solved(source, kinds):
    lessons = build(source, "pairs", gold_fallback=True)
    gold = [l for l in lessons if l.provenance.detail["chosen"] == "gold"]
    assert {l.provenance.task_id for l in gold} == kinds[2]
    # two distinct wrong samples (a wrong last step, and no answer): two pairs per task
    assert len(gold) == 2 * len(kinds[2])


def test_injected_negatives_change_one_statement_and_the_answer(source, tasks, kinds):
    lessons = build(source, "injected")
    assert len({l.provenance.task_id for l in lessons}) >= 0.9 * len(set().union(*kinds.values()))
    assert {l.provenance.detail["kind"] for l in lessons} == {"operand", "operator", "result"}
    for lesson in lessons:
        task = tasks[lesson.provenance.task_id]
        chosen, rejected = answer(lesson.row["chosen"]), answer(lesson.row["rejected"])
        assert verify(task.answer, chosen).correct
        verdict = verify(task.answer, rejected)
        assert verdict.extraction.status == "ok" and not verdict.correct
        # the step count is kept: one statement edited, the rest carried through
        assert len(split_steps(chosen)) == len(split_steps(rejected))
        assert lesson.provenance.detail["before"] in chosen


def test_correction_splices_own_prefix_with_a_checked_continuation(source, tasks, kinds):
    lessons = build(source, "correction")
    splices = [l for l in lessons if l.provenance.detail["kind"] == "splice"]
    fixes = [l for l in lessons if l.provenance.detail["kind"] == "fix"]
    # located mistakes: sample 0 of kinds 1 and 2; fixes also for the unanswered sample of kind 2
    assert len(splices) == len(kinds[1]) + len(kinds[2])
    assert len(fixes) == len(kinds[1]) + 2 * len(kinds[2])
    attempts = {a.id: a for a in source.attempts}
    for lesson in lessons:
        task = tasks[lesson.provenance.task_id]
        text = answer(lesson.row["completion"])
        assert verify(task.answer, text).correct
        wrong = attempts[lesson.provenance.attempt_ids[0]]
        if lesson.provenance.detail["kind"] == "fix":
            assert wrong.text.strip() in lesson.row["prompt"][-1]["content"]
            assert not any(p in text for p in RECHECK_PHRASES)
            continue
        assert lesson.row["prompt"] == source.render(task)
        k = lesson.provenance.detail["first_wrong_step"]
        prefix = wrong.text[: split_steps(wrong.text)[k].start]
        assert text.startswith(prefix.strip())
        if kind_of(task.id) == 1:  # a correct sample exists: it is used
            assert lesson.provenance.detail["continuation"] == "own" and len(lesson.provenance.attempt_ids) == 2
        elif k > 0:
            assert lesson.provenance.detail["continuation"] == "gold"
            assert any(p in text for p in RECHECK_PHRASES)


def test_correction_without_recheck_or_fix(source):
    lessons = build(source, "correction", recheck=False, kinds=("splice",))
    assert lessons and all(l.provenance.detail["kind"] == "splice" for l in lessons)
    assert not any(p in answer(l.row["completion"]) for l in lessons for p in RECHECK_PHRASES)


def test_stepwise_labels_stop_at_the_first_wrong_step(source, tasks, kinds):
    lessons = build(source, "stepwise")
    attempts = {a.id: a for a in source.attempts}
    wrong = [l for l in lessons if False in l.row["labels"]]
    assert len(wrong) == len(kinds[1]) + len(kinds[2])
    for lesson in lessons:
        labels, attempt = lesson.row["labels"], attempts[lesson.provenance.attempt_ids[0]]
        assert lesson.row["prompt"] == tasks[attempt.task_id].prompt
        if attempt.correct:
            assert all(labels)
            continue
        k = len(tasks[attempt.task_id].steps) - 1 if kind_of(attempt.task_id) == 2 else 0
        assert labels == [True] * k + [False]
        assert lesson.provenance.diagnosis_method == "arith"


def test_prompt_names_error_types_and_shows_similar_wrong_answers(source, tasks, kinds):
    lessons = build(source, "prompt", examples=2)
    assert {l.provenance.task_id for l in lessons} == kinds[1] | kinds[2]
    pool = {a.task_id: a for a in source.mistakes() if a.extraction_status == "ok"}
    for lesson in lessons:
        system, user = lesson.row["prompt"][0]["content"], lesson.row["prompt"][-1]
        assert system.startswith(source.template.system) and HEADER in system
        assert "Arithmetic slips" in system and EXAMPLES_HEADER in system
        assert user == source.render(tasks[lesson.provenance.task_id])[-1]
        shown = lesson.provenance.source_tasks
        assert len(shown) == 2 and lesson.provenance.task_id not in shown
        examples = system.split(EXAMPLES_HEADER)[1]
        for task_id in shown:  # the wrong answer beside the right one, no rationale
            a = pool[task_id]
            assert f"Problem: {a.prompt}\nWrong answer: {a.answer}\nCorrect answer: {a.gold}" in examples
        assert "Step" not in examples


def test_prompt_examples_are_the_most_similar_questions(source, tasks):
    lessons = build(source, "prompt", examples=1)
    embedder = WordHashEmbedder()
    for lesson in lessons[:10]:
        question = tasks[lesson.provenance.task_id].prompt
        others = {a.task_id: a.prompt for a in source.mistakes() if a.extraction_status == "ok"
                  and a.task_id != lesson.provenance.task_id and a.prompt != question}
        vectors = embedder.embed([question, *others.values()])
        best = max(zip(others, vectors[1:] @ vectors[0]), key=lambda kv: kv[1])[1]
        chosen = others[lesson.provenance.source_tasks[0]]
        assert float(embedder.embed([chosen])[0] @ vectors[0]) == pytest.approx(best, abs=1e-6)


def test_practice_makes_verified_new_tasks_for_weak_slices(source, tasks):
    lessons = build(source, "practice", per_slice=4)
    assert lessons
    run_prompts = {t.prompt for t in tasks.values()}
    for lesson in lessons:
        row = lesson.row
        assert row["question"] not in run_prompts and row["task_id"].startswith("practice-")
        solution = "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(row["solution"].splitlines()))
        assert verify(row["answer"], solution + f"\nAnswer: {row['answer']}").correct
        seeds = lesson.provenance.source_tasks
        assert seeds and all(tasks[t].skill == row["skill"] for t in seeds)
        assert all(tasks[t].split == "train" for t in seeds)
    assert len({l.row["task_id"] for l in lessons}) == len(lessons)
    per_slice = {}
    for lesson in lessons:
        per_slice[lesson.row["slice"]] = per_slice.get(lesson.row["slice"], 0) + 1
    assert max(per_slice.values()) <= 4


def test_options_are_checked_and_converted():
    builder = make_builder("correction")
    config = make_config(builder, {"recheck": "false", "kinds": "fix", "min_confidence": "0.5"})
    assert config.recheck is False and config.kinds == ("fix",) and config.min_confidence == 0.5
    with pytest.raises(ValueError, match="no option 'nope'; options: kinds, recheck"):
        make_config(builder, {"nope": "1"})
    with pytest.raises(ValueError, match="expected a int"):
        make_config(make_builder("pairs"), {"per_task": "two"})
