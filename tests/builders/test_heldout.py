"""No lesson ever comes from a held-out task: the planted run has the same mistakes on its
held-out tasks as on its train tasks, and none of them may show up in any builder's output."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from fakes import WordHashEmbedder

from lessons.builders import (
    HeldOutLeak, Lesson, LessonSetInfo, Provenance, build_lesson_set, builders, load_heldout, load_source,
    write_lesson_set,
)

ALL = ["prompt", "correction", "rejection", "pairs", "injected", "practice", "stepwise"]


def test_the_planted_run_has_heldout_mistakes(store, heldout_ids):
    run = store.get_run("planted")
    held = [a for a in store.attempts(run.id, mistakes_only=True) if a.task_id in heldout_ids]
    assert len(heldout_ids) >= 8 and len(held) >= 8
    assert all(a.split == "heldout" for a in held)


def test_sources_leave_out_heldout_tasks(store, heldout_ids):
    source = load_source(store, "planted")
    assert not heldout_ids & set(source.tasks)
    assert not heldout_ids & {a.task_id for a in source.attempts}
    assert source.excluded_attempts == 2 * len(heldout_ids)  # two samples per task
    assert set(source.diagnoses) <= {a.id for a in source.attempts}
    assert set(source.clusters) <= {a.id for a in source.attempts}


def test_heldout_holds_the_runs_heldout_tasks_and_more_of_the_suite(store, heldout_ids):
    held = load_heldout(store, store.get_run("planted"))
    assert heldout_ids < held.task_ids  # the generator's later held-out tasks too
    assert len(held.prompts) == len(held.task_ids)


@pytest.mark.parametrize("kind", ALL)
def test_no_builder_row_comes_from_a_heldout_task(store, tasks, heldout_ids, tmp_path, kind):
    options = {"gold_fallback": "true"} if kind == "pairs" else {}
    summary = build_lesson_set(store, "planted", kind, tmp_path / kind, options, embedder=WordHashEmbedder())
    assert summary.report.records > 0
    provenance = [json.loads(line) for line in (tmp_path / kind / "provenance.jsonl").read_text().splitlines()]
    rows = (tmp_path / kind / "lessons.jsonl").read_text().splitlines()
    assert len(provenance) == len(rows) == summary.report.records
    held_attempts = {a.id for a in store.attempts(summary.run_id) if a.task_id in heldout_ids}
    for p, line in zip(provenance, rows):
        assert not heldout_ids & {p["task_id"], *p["source_tasks"]}
        assert not held_attempts & set(p["attempt_ids"])
        text = json.loads(line)
        for task_id in heldout_ids:  # not even the question's text, anywhere in the row
            assert tasks[task_id].prompt not in json.dumps(text, ensure_ascii=False)


def test_the_writer_refuses_a_row_that_draws_on_a_heldout_task(store, heldout_ids, tmp_path):
    """A builder that ignored its source (a buggy plugin, say) is stopped before writing."""
    run = store.get_run("planted")
    held = load_heldout(store, run)
    task_id = sorted(heldout_ids)[0]
    rogue = Lesson({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
                   Provenance(builder="rogue", run_id=run.id, task_id="fine", source_tasks=(task_id,)))
    with pytest.raises(HeldOutLeak, match=task_id):
        write_lesson_set([rogue], tmp_path / "out", LessonSetInfo("rogue", "messages"), held)
    assert not (tmp_path / "out").exists()


def test_a_rogue_plugin_builder_is_stopped_too(store, heldout_ids, tmp_path, monkeypatch):
    """Registered like any plugin, it reads the held-out tasks from the log itself."""

    @dataclass(frozen=True)
    class RogueConfig:
        pass

    class Rogue:
        name, format, needs_diagnoses, config_class = "rogue", "messages", False, RogueConfig

        def build(self, source, config=None):
            attempt = next(a for a in store.attempts(source.run.id) if a.task_id in heldout_ids)
            row = {"messages": [{"role": "user", "content": attempt.prompt},
                                {"role": "assistant", "content": attempt.text or "x"}]}
            return [Lesson(row, Provenance("rogue", source.run.id, attempt.task_id, (attempt.id,)))]

    monkeypatch.setitem(builders._entries, "rogue", Rogue)
    with pytest.raises(HeldOutLeak):
        build_lesson_set(store, "planted", "rogue", tmp_path / "rogue")
