"""Rows in TRL's formats exactly: the checker, TRL's own reading of them, and Arrow."""

from __future__ import annotations

import datasets
import pytest
from fakes import WordHashEmbedder
from trl.data_utils import is_conversational

from lessons.builders import LESSON_FORMATS, FormatError, check_row, load_source, make_builder
from lessons.builders.formats import prompt_text

SYS, USER = {"role": "system", "content": "s"}, {"role": "user", "content": "q"}
BOT = {"role": "assistant", "content": "a"}
GOOD = {
    "messages": {"messages": [SYS, USER, BOT]},
    "prompt_completion": {"prompt": [SYS, USER], "completion": [BOT]},
    "preference": {"prompt": [USER], "chosen": [BOT], "rejected": [{"role": "assistant", "content": "b"}]},
    "stepwise": {"prompt": "q", "completions": ["s1", "s2"], "labels": [True, False]},
    "prompt": {"prompt": [SYS, USER]},
    "tasks": {"prompt": [USER], "task_id": "t", "question": "q", "answer": "1", "solution": "1 = 1", "skill": None},
    "prompts": {"prompt": [SYS, USER], "task_id": "t", "answer": "1", "verifier": "math", "extract": ["answer_line"]},
}
BAD = [
    ("prompts", {"prompt": [USER], "task_id": "t", "answer": "1"}),  # no verifier to reward with
    ("prompts", {"prompt": [USER, BOT], "task_id": "t", "answer": "1", "verifier": "math"}),
    ("prompts", {"prompt": [USER], "task_id": "t", "answer": "1", "verifier": "math", "extract": "boxed"}),
    ("messages", {"messages": [SYS, USER]}),  # no assistant turn to learn
    ("messages", {"messages": [SYS, USER, BOT], "extra": 1}),
    ("prompt_completion", {"prompt": [USER], "completion": "a"}),  # a string where messages are expected
    ("prompt_completion", {"prompt": [USER, BOT], "completion": [BOT]}),  # prompt must end with the user
    ("preference", {"prompt": [USER], "chosen": [BOT], "rejected": [BOT]}),  # nothing to prefer
    ("preference", {"prompt": "q", "chosen": [BOT], "rejected": [BOT]}),
    ("stepwise", {"prompt": "q", "completions": ["s1"], "labels": [True, False]}),
    ("stepwise", {"prompt": "q", "completions": ["s1"], "labels": [1]}),
    ("prompt", {"prompt": [{"role": "user", "content": "q", "name": "x"}]}),
    ("tasks", {"prompt": [USER], "task_id": "t", "question": "q", "answer": "", "solution": "s"}),
]


@pytest.mark.parametrize("format", LESSON_FORMATS)
def test_good_rows_pass_and_survive_arrow(format):
    row = GOOD[format]
    check_row(format, row)
    assert datasets.Dataset.from_list([row, row]).to_list()[0] == row


@pytest.mark.parametrize("format, row", BAD)
def test_bad_rows_are_refused(format, row):
    with pytest.raises(FormatError):
        check_row(format, row)


@pytest.mark.parametrize("name", ["prompt", "correction", "rejection", "pairs", "injected", "practice", "stepwise", "rl"])
def test_builders_rows_read_as_trl_expects(store, name):
    """Conversational formats are lists of role/content messages (TRL applies the chat
    template); stepwise rows are plain text, as TRL's stepwise-supervision datasets are."""
    builder = make_builder(name, embedder=WordHashEmbedder())
    lessons = builder.build(load_source(store, "planted"))
    assert lessons
    rows = [lesson.row for lesson in lessons]
    conversational = builder.format != "stepwise"
    assert all(is_conversational(r) is conversational for r in rows)
    table = datasets.Dataset.from_list(rows)
    assert set(table.column_names) == set(rows[0])
    assert table.to_list() == rows


def test_prompt_text_is_everything_but_the_answers():
    row = {"prompt": [SYS, USER], "chosen": [BOT], "rejected": [BOT]}
    assert prompt_text(row) == "s\nq"
    assert prompt_text(GOOD["messages"]) == "s\nq"
    assert prompt_text(GOOD["stepwise"]) == "q"
    assert prompt_text(GOOD["tasks"]) == "q\nq"


def test_builders_declare_the_formats_of_the_contract():
    from lessons.builders.base import Format

    assert Format.__args__ == tuple(LESSON_FORMATS)
