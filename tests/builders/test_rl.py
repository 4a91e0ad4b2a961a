"""`rl` on the planted run (see conftest: 2 samples a task; kind 0 always solved, kind 1
half the time, kind 2 never), and on a one-sample run of the same script."""

from __future__ import annotations

import json

import pytest

from lessons.builders import build_lesson_set, check_row, load_source, make_builder, make_config
from lessons.builders.rl import HINT_HEADER, hint_steps
from lessons.lesson_set import read_manifest
from lessons.verify import verify


def build(source, **options):
    builder = make_builder("rl")
    lessons = builder.build(source, make_config(builder, options))
    for lesson in lessons:
        check_row("prompts", lesson.row)
    return lessons


@pytest.fixture
def source(store):
    return load_source(store, "planted")


def test_keeps_the_learnable_band_only(source, kinds):
    lessons = build(source)
    assert {l.row["task_id"] for l in lessons} == kinds[1]  # solved 1 of 2: in 12.5-87.5%
    for lesson in lessons:
        row, p = lesson.row, lesson.provenance
        task = source.tasks[row["task_id"]]
        assert row["prompt"] == source.render(task) and row["answer"] == task.answer
        assert (row["verifier"], row["extract"]) == (source.verifier, list(source.extract_methods))
        assert p.detail["reason"] == "band" and (p.detail["samples"], p.detail["solved"]) == (2, 1)
        assert set(p.attempt_ids) == {a.id for a in source.by_task[task.id]}


def test_a_narrow_band_leaves_the_half_solved_out(source):
    assert build(source, band_low=0.6) == []


def test_hints_bring_in_the_never_solved_with_the_first_gold_steps(source, kinds):
    lessons = build(source, hints=True)
    hinted = [l for l in lessons if l.provenance.detail["hinted"]]
    assert {l.row["task_id"] for l in hinted} == {t for t in kinds[2] if len(source.tasks[t].steps) > 1}
    assert {l.row["task_id"] for l in lessons} - {l.row["task_id"] for l in hinted} == kinds[1]
    for lesson in hinted:
        task = source.tasks[lesson.row["task_id"]]
        user = lesson.row["prompt"][-1]["content"]
        shown = hint_steps(task, 0.5)
        assert user.startswith(task.prompt) and HINT_HEADER in user
        assert f"Step {shown}: {task.steps[shown - 1].text}" in user
        assert task.steps[shown].text not in user  # never the whole solution
        assert lesson.provenance.detail["reason"] == "never_solved"


def test_failed_tasks_of_weak_slices_come_first(source):
    from lessons.builders.practice import weak_slices

    lessons = build(source, hints=True)
    weak = [t for w in weak_slices(source, 5) for t in w.failed]
    kept = [l.row["task_id"] for l in lessons]
    leading = [t for t in dict.fromkeys(weak) if t in kept]
    assert leading and kept[: len(leading)] == leading
    assert all(l.provenance.detail["slice"] for l in lessons[: len(leading)])


def test_one_sample_keeps_every_failure_and_a_share_of_the_solved(tmp_path, run_maker, kinds):
    store, _ = run_maker(tmp_path / "log.db", "single", diagnose=False, samples=1)
    source = load_source(store, "single")
    failed = {a.task_id for a in source.attempts if not a.correct}
    none = {l.row["task_id"] for l in build(source, solved_share=0.0)}
    every = {l.row["task_id"] for l in build(source, solved_share=1.0)}
    some = build(source, solved_share=0.5)
    assert none == failed and every == set(source.by_task)
    solved = {l.row["task_id"] for l in some if l.provenance.detail["reason"] == "solved"}
    assert solved and solved < every - failed
    assert {l.row["task_id"] for l in build(source, solved_share=0.5)} == {l.row["task_id"] for l in some}
    store.close()


def test_written_set_records_the_hinted_share_and_stays_off_heldout(tmp_path, store, heldout_ids):
    summary = build_lesson_set(store, "planted", "rl", tmp_path / "rl", {"hints": "true"})
    manifest = read_manifest(tmp_path / "rl")
    rows = [json.loads(line) for line in (tmp_path / "rl" / "lessons.jsonl").read_text().splitlines()]
    hinted = sum(HINT_HEADER in r["prompt"][-1]["content"] for r in rows)
    assert summary.format == "prompts" and summary.train_method == "grpo"
    assert manifest["counts"]["hinted"] == hinted > 0
    assert manifest["counts"]["hinted_share"] == pytest.approx(hinted / len(rows))
    assert not {r["task_id"] for r in rows} & heldout_ids


def test_bad_band_is_refused(source):
    with pytest.raises(ValueError, match="band_low"):
        build(source, band_low=0.9, band_high=0.5)


def test_rows_carry_what_the_reward_needs(source):
    """The gold answer through the row's own verifier accepts the gold solution."""
    row = build(source)[0].row
    assert verify(row["answer"], f"Answer: {row['answer']}", verifier=row["verifier"], methods=row["extract"]).correct
