"""A `prompt` lesson set applied to new questions (inference-time lessons), and its
same-length few-shot control."""

import shutil

import pytest
from fakes import WordHashEmbedder

from lessons.builders.in_context import FEW_SHOT_HEADER, load_in_context, with_system
from lessons.builders.pipeline import build_lesson_set
from lessons.prompts import templates
from lessons.store import Store
from lessons.tasks import load_suite

SUITE = load_suite("arith")


@pytest.fixture
def applied(planted_db, tmp_path):
    db = tmp_path / "log.db"
    shutil.copy(planted_db, db)
    store = Store.open(db)
    build_lesson_set(store, "planted", "prompt", tmp_path / "prompt", {"examples": "2"}, embedder=WordHashEmbedder())
    yield store, load_in_context(store, tmp_path / "prompt")
    store.close()


def heldout_tasks(n=8):
    return [t for t in SUITE.tasks(400) if t.split == "heldout"][:n]


def test_new_questions_get_the_addition_and_their_most_similar_past_mistakes(applied):
    store, lessons = applied
    tasks = heldout_tasks()
    extras = lessons.extras([t.prompt for t in tasks], WordHashEmbedder())
    assert lessons.addition.startswith("Mistakes you have made before") and lessons.examples == 2
    for task, extra in zip(tasks, extras):
        assert extra.startswith(lessons.addition)
        assert extra.count("Wrong answer:") == 2 and task.prompt not in extra  # past train mistakes only
    chat = with_system(templates.get(lessons.source.template.name), tasks[0], extras[0])
    assert chat[0]["role"] == "system" and chat[0]["content"].endswith(extras[0])
    assert chat[-1] == {"role": "user", "content": tasks[0].prompt}
    assert lessons.component("lessons").source_run == lessons.source.run.id


def test_few_shot_control_is_as_long_and_shows_only_solved_problems(applied):
    _, lessons = applied
    tasks = heldout_tasks()
    extras = lessons.extras([t.prompt for t in tasks], WordHashEmbedder())
    control = lessons.few_shot(tasks, [len(e) for e in extras])
    solved = {t.prompt for t in lessons.source.tasks.values()
              if any(a.correct for a in lessons.source.attempts if a.task_id == t.id)}
    for extra, shot in zip(extras, control):
        assert shot.startswith(FEW_SHOT_HEADER) and "Wrong answer" not in shot
        assert abs(len(shot) - len(extra)) < 0.25 * len(extra)  # within a fraction of one example
        shown = [block.split("\n")[0].removeprefix("Problem: ") for block in shot.split("\n\n")[1:]]
        assert shown and set(shown) <= solved
    assert control == lessons.few_shot(tasks, [len(e) for e in extras])  # the same draw each time
    assert control != lessons.few_shot(tasks, [len(e) for e in extras], seed=1)


def test_only_prompt_lesson_sets_apply(applied, tmp_path):
    store, _ = applied
    build_lesson_set(store, "planted", "rejection", tmp_path / "rejection")
    with pytest.raises(ValueError, match="only `prompt` lessons apply at inference time"):
        load_in_context(store, tmp_path / "rejection")
    with pytest.raises(ValueError, match="not a lesson set"):
        load_in_context(store, tmp_path)


def test_an_evaluation_prompted_with_lessons_records_them_and_is_a_run_of_its_own(applied):
    from fakes import ScriptedBackend

    from lessons.builders.in_context import LessonPrompts
    from lessons.runner import EvalConfig, evaluate
    from lessons.store import StoreError

    store, lessons = applied
    seen = []
    backend = ScriptedBackend(lambda chat, k: seen.append(chat[0]["content"]) or "Answer: 1")
    config = EvalConfig(limit=6, split="heldout")
    plain = evaluate(store, backend, SUITE, config)
    prompts = LessonPrompts(lessons, WordHashEmbedder())
    treated = evaluate(store, backend, SUITE, config, lessons=prompts)
    control = evaluate(store, backend, SUITE, config, lessons=LessonPrompts(lessons, WordHashEmbedder(), "few-shot"))
    names = {plain.summary.run_name, treated.summary.run_name, control.summary.run_name}
    assert len(names) == 3 and "-lessons-" in treated.summary.run_name
    assert store.get_run(treated.summary.run_id).components.lessons == prompts.component()
    assert store.get_run(plain.summary.run_id).components.lessons is None
    # what the model saw: the plain system prompt, then the lessons, then solved examples
    assert "Wrong answer:" in seen[6] and lessons.addition in seen[6] and seen[6].startswith(seen[0])
    assert FEW_SHOT_HEADER in seen[12] and "Wrong answer:" not in seen[12]
    again = evaluate(store, backend, SUITE, config, lessons=prompts)  # resumes: nothing new
    assert again.new_attempts == 0 and again.summary.run_id == treated.summary.run_id
    with pytest.raises(StoreError, match="other in-context lessons"):
        evaluate(store, backend, SUITE, EvalConfig(limit=6, split="heldout", run_name=treated.summary.run_name))
