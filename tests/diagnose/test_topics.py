"""Question topics: a slice feature for task files without labels, fitted on train
questions only and given to every task, held-out ones included."""

import random

import pytest
from fakes import WordHashEmbedder

from lessons.diagnose.slices import SliceSpec
from lessons.diagnose.topics import fit_topics, task_topics, topic_count
from lessons.tasks import FileSuite
from lessons.tasks.base import Task, split_for

KINDS = {
    "eggs": "A farmer has {a} hens that lay {b} eggs each day. How many eggs does the farmer collect in a week?",
    "train": "A train travels {a} miles per hour for {b} hours. How many miles does the train travel?",
    "shop": "A shop sells {a} shirts at {b} dollars each. How many dollars does the shop earn from shirts?",
}


def tasks(n_per_kind: int, seed: int = 0) -> list[Task]:
    rng = random.Random(seed)
    out = []
    for kind, text in KINDS.items():
        for i in range(n_per_kind):
            task_id = f"{kind}-{seed}-{i}"
            out.append(Task(task_id, text.format(a=rng.randint(2, 90), b=rng.randint(2, 9)), "1", (),
                            {"kind": kind}, split_for(task_id)))
    return out


def test_topics_separate_kinds_of_question_and_cover_heldout_tasks():
    listed = tasks(60)
    topics = task_topics(listed, WordHashEmbedder(), k=3)
    assert set(topics) == {t.id for t in listed}
    by_kind = {kind: {topics[t.id] for t in listed if t.metadata["kind"] == kind} for kind in KINDS}
    assert all(len(labels) == 1 for labels in by_kind.values()), by_kind  # one topic per kind, held-out too
    assert len(set.union(*by_kind.values())) == 3
    assert any(t.split == "heldout" for t in listed)
    labels = sorted(set(topics.values()))
    assert all(label.startswith("t") and " " not in label for label in labels)
    eggs = by_kind["eggs"].pop()
    assert "eggs" in eggs or "hens" in eggs, eggs  # named by its own words
    # a label is a slice value the slice machinery reads back and matches unchanged
    spec = SliceSpec.from_labels({"topic": labels[0]})
    assert str(spec) == f"topic={labels[0]}" and spec.matches({"topic": labels[0]})


def test_only_train_questions_place_the_centroids():
    listed = tasks(60)
    other_heldout = [t if t.split == "train" else Task(t.id, "Completely unrelated words here, zebra?", t.answer,
                                                       t.steps, t.metadata, t.split) for t in listed]
    first, second = task_topics(listed, WordHashEmbedder(), k=3), task_topics(other_heldout, WordHashEmbedder(), k=3)
    train = [t.id for t in listed if t.split == "train"]
    assert [first[i] for i in train] == [second[i] for i in train]


def test_too_few_questions_make_no_topics():
    assert topic_count(49) == 0 and topic_count(50) == 2 and topic_count(10_000) == 12
    assert task_topics(tasks(5), WordHashEmbedder()) == {}
    with pytest.raises(ValueError, match="need at least 50 train questions"):
        fit_topics(["a question"] * 10, WordHashEmbedder())


def test_gsm8k_questions_get_topics(shared_data):
    listed = list(FileSuite(shared_data / "gsm8k" / "test.jsonl").tasks(400))
    topics = task_topics(listed, WordHashEmbedder())
    assert len(set(topics.values())) == topic_count(sum(t.split == "train" for t in listed))
    assert len(topics) == 400
