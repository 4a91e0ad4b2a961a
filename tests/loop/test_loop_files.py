"""The loop on a task file (GSM8K's format) with scripted models: the file's own `n_steps`,
question topics fitted on its train questions as a slice feature, practice from re-sampled
numbers, and the target judged on held-out tasks of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lessons.loop import LoopConfig, load_config, loop_report_data, run_loop
from lessons.store import Store
from lessons.tasks import FileSuite, TaskFileError, load_suite
from lessons.tasks.files import read_labels, write_labels
from loop_fakes import gsm8k_file


@pytest.fixture
def file_config(tmp_path, config):
    return LoopConfig(**{**config.__dict__, "name": "f", "suite": str(gsm8k_file(tmp_path / "mini_gsm8k.jsonl")),
                         "topics": 6, "target_tasks": 40, "out_dir": str(tmp_path / "f")})


def test_the_loop_runs_on_a_task_file_with_question_topics_as_slices(world, deps, file_config):
    store = Store.open(":memory:")
    state = run_loop(store, file_config, deps=deps)
    topics = state.get(0, "topics")
    labels, digest = read_labels(topics.path)
    plain = list(FileSuite(file_config.suite).tasks())
    assert set(labels) == {t.id for t in plain} and digest == topics.sha256  # every task, held-out ones too
    assert len(topics.sizes) == 6 and sum(topics.sizes.values()) == len(plain)
    # every stage judged the labelled suite: its tasks carry their topic, in the log as well
    base = store.get_run(state.get(0, "heldout-base").run)
    train = store.get_run(state.get(1, "eval-train").run)
    assert base.suite_id == train.suite_id != FileSuite(file_config.suite).info.id
    logged = store.tasks(train.suite_id, train.task_ids)
    assert all(t.metadata["topic"] == labels[t.id]["topic"] for t in logged)
    # the target was chosen among slices of the file's features, topics included, and is
    # judged on held-out tasks of the file in it, `target_tasks` at most
    built = state.get(1, "build")
    assert built.rows == built.control_rows > 0
    assert any("topic" in w.predicates for w in built.weak_slices) or any(
        "topic" in s.predicates for s in state.get(1, "target").slices)
    target = loop_report_data(store, "f").headline.target
    assert target is not None and 0 < target.tasks <= file_config.target_tasks


def test_a_resumed_loop_keeps_its_topics(world, deps, file_config):
    store = Store.open(":memory:")
    first = run_loop(store, file_config, deps=deps)
    again = run_loop(store, file_config, deps=deps)
    assert again.get(0, "topics") == first.get(0, "topics")
    assert again.get(1, "build").treatment_hash == first.get(1, "build").treatment_hash


def test_topics_need_a_task_file(tmp_path):
    with pytest.raises(ValueError, match="topics label the questions of a task file.*set topics: 0"):
        load_config(None, {"topics": 4})
    with pytest.raises(ValueError, match="topics must be 0 .none. or at least 2, got 1"):
        load_config(None, {"topics": 1, "suite": str(gsm8k_file(tmp_path / "g.jsonl", 20))})


def test_labels_add_metadata_and_their_content_names_the_suite(tmp_path):
    path = gsm8k_file(tmp_path / "g.jsonl", 30)
    ids = [t.id for t in FileSuite(path).tasks()]
    first = tmp_path / "a.json"
    write_labels(first, {i: {"topic": f"t{n % 2}"} for n, i in enumerate(ids)}, {"feature": "topic"})
    moved = tmp_path / "elsewhere" / "b.json"
    moved.parent.mkdir()
    moved.write_bytes(first.read_bytes())
    labelled = FileSuite(path, labels=first)
    assert [t.metadata["topic"] for t in labelled.tasks(3)] == ["t0", "t1", "t0"]
    assert labelled.tasks(1).__next__().metadata["n_steps"] >= 1  # the file's own metadata stays
    assert FileSuite(path, labels=moved).info.id == labelled.info.id != FileSuite(path).info.id
    write_labels(first, {i: {"topic": "t9"} for i in ids}, {})
    assert FileSuite(path, labels=first).info.id != labelled.info.id


def test_a_labels_file_for_another_file_is_a_one_line_error(tmp_path):
    path = gsm8k_file(tmp_path / "g.jsonl", 30)
    ids = [t.id for t in FileSuite(path).tasks()]
    labels = tmp_path / "labels.json"
    write_labels(labels, {i: {"topic": "t1"} for i in ids[:-2]}, {})
    with pytest.raises(TaskFileError) as e:
        FileSuite(path, labels=labels)
    assert str(e.value) == (f"{labels}: no labels for task {ids[-2]!r} of {path} (2 of 30 tasks unlabelled): "
                            f"the labels were made for another file")
    labels.write_text("[1, 2]")
    with pytest.raises(TaskFileError, match="not a labels file"):
        FileSuite(path, labels=labels)
    with pytest.raises(ValueError, match="built in and labels its own tasks"):
        load_suite("arith", labels=labels)


def test_the_shipped_gsm8k_config_loads_from_the_project_root(shared_data, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    config = load_config(root / "loop-gsm8k.yaml", {})
    suite = FileSuite(config.suite)
    assert suite.format == "gsm8k" and config.topics >= 2 and config.labels == config.root / "topics.json"
    train = sum(t.split == "train" for t in suite.tasks())
    assert train >= config.train_tasks * (config.seed + 3)  # room for three seeds' train draws


def test_the_loop_takes_a_field_mapping_for_a_generic_file(tmp_path, world, deps, config):
    """The question split over two fields and answers with words around the number, as
    `lessons eval --field` reads them; the mapping is in the config and the runs."""
    import json

    lines = []
    for t in load_suite("arith").tasks(400):
        head, _, tail = t.prompt.partition(" ")
        steps = [f"{e} = <<{e.replace(' ', '')}={v}>>{v}" for e, _, v in (s.text.rpartition(" = ") for s in t.steps)]
        lines.append(json.dumps({"Body": head, "Question": tail, "gold": f"{t.answer} (exactly)",
                                 "rationale": "\n".join(steps)}))
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fields = {"question": "Body+Question", "answer": "gold", "solution": "rationale"}
    loaded = load_config(None, {"suite": str(path), "fields": fields, "topics": 4, "model": "base-model",
                                "train_tasks": 96, "heldout_tasks": 32, "rows": 16, "steps": 2,
                                "mix": {"practice": 1.0}, "keep": 1, "out_dir": str(tmp_path / "m")})
    store = Store.open(":memory:")
    state = run_loop(store, loaded, deps=deps)
    run = store.get_run(state.get(1, "eval-train").run)
    assert run.components.suite.args["field_map"]["question"] == "Body+Question"
    logged = store.tasks(run.suite_id, run.task_ids)
    assert all(" " in t.prompt and "(exactly)" not in t.answer for t in logged)  # joined; the number alone
    assert sum(a.correct for a in store.attempts(run.id)) > len(run.task_ids) / 2  # judged right
    assert state.get(1, "build").rows > 0
    with pytest.raises(ValueError, match="unknown fields \\['questoin'\\]"):
        load_config(None, {"suite": str(path), "fields": {"questoin": "Body"}})
