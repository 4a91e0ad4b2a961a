"""Field expressions (`Body+Question`, `meta.level`, `solutions[0]`) and gold answers with
units: files as real datasets write them load with one mapping and are judged right."""

import json
import re

import pytest
from fakes import ScriptedBackend
from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import FieldMap, FileSuite, TaskFileError
from lessons.tasks.fields import FieldError, parse_fields, plain_gold
from lessons.verify.verifiers import unreadable_golds

RECORDS = [
    {"Body": "Tom has 4 apples.", "Question": "He buys 5 more. How many apples?", "gold": "9 (apples)",
     "meta": {"level": 1}, "solutions": ["4 + 5 = 9", "5 + 4 = 9"]},
    {"Body": "A bike costs $600.", "Question": "What do two bikes cost?", "gold": "$1,200",
     "meta": {"level": 2}, "solutions": ["2 * 600 = 1200"]},
    {"Body": "A rope is 24 cm long.", "Question": "How long is half of it?", "gold": "12 cm",
     "meta": {"level": 3}, "solutions": ["24 / 2 = 12"]},
]
MAPPING = FieldMap(question="Body+Question", answer="gold", solution="solutions[0]", metadata=("meta.level",))


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_split_question_nested_metadata_and_list_elements(tmp_path):
    one, two, three = FileSuite(write(tmp_path / "shop.jsonl", RECORDS), MAPPING).tasks()
    assert one.prompt == "Tom has 4 apples. He buys 5 more. How many apples?"
    assert [t.answer for t in (one, two, three)] == ["9", "1200", "12"]
    assert one.metadata == {"source": "shop", "level": 1, "n_steps": 1, "gold_text": "9 (apples)"}
    assert one.steps[0].text == "4 + 5 = 9"


@pytest.mark.parametrize("verifier", ["math", "numeric", "exact"])
def test_answers_with_units_are_judged_right(tmp_path, verifier):
    """The model answers with the bare number, or with the unit again: right either way."""
    suite = FileSuite(write(tmp_path / "shop.jsonl", RECORDS), MAPPING)
    replies = {"Tom": "Answer: 9", "A bike": "Answer: 1200", "A rope": "Answer: 12"}
    backend = ScriptedBackend(lambda chat, k: next(v for p, v in replies.items() if p in chat[-1]["content"]))
    store = Store.open(tmp_path / "log.db")
    result = evaluate(store, backend, suite, EvalConfig(split="all", verifier=verifier, run_name=f"r-{verifier}"))
    assert result.summary.correct == 3 and result.summary.accuracy == 1.0
    store.close()


def test_plain_gold_keeps_text_answers_and_reduces_decorated_numbers():
    assert [plain_gold(g) for g in ("9 (apples)", "$1,200", "12 cm", "-3/4", "25%", "1.5e3")] == [
        "9", "1200", "12", "-3/4", "25%", "1.5e3"]
    for text in ("Paris", "(B)", "2 pi", "3 x + 1", "5 apples and 3 pears", "1 + 1 = 2\n#### 2"):
        assert plain_gold(text) == text


def test_a_key_with_a_dot_is_read_as_it_stands(tmp_path):
    path = write(tmp_path / "flat.jsonl", [{"question": "Q?", "answer": "1", "meta.level": "hard",
                                           "meta": {"level": "easy"}}])
    task = next(FileSuite(path, FieldMap(metadata=("meta.level",))).tasks())
    assert task.metadata["level"] == "hard"


def test_undecorated_files_keep_their_fingerprint_rule(tmp_path):
    """Only a file whose answers were reduced says so in its parameters (and fingerprint)."""
    plain = FileSuite(write(tmp_path / "p.jsonl", [{"question": "Q?", "answer": "12"}]))
    decorated = FileSuite(write(tmp_path / "d.jsonl", [{"question": "Q?", "answer": "12 cm"}]))
    assert "gold" not in plain.info.params and decorated.info.params["gold"] == "plain"


@pytest.mark.parametrize("mapping, where, message", [
    (FieldMap(question="Body+Headline"), "b.jsonl:1:", "missing field 'Headline'"),
    (FieldMap(question="Body", answer="meta.score"), "b.jsonl:1:", "field 'meta' has no key 'score' (keys: 'level')"),
    (FieldMap(question="Body", answer="solutions[3]"), "b.jsonl:1:", "field 'solutions' has 2 elements: no [3]"),
    (FieldMap(question="Body", answer="Body[0]"), "b.jsonl:1:", "field 'Body' is str, not a list"),
    (FieldMap(question="Body", answer="solutions"), "b.jsonl:1:", "field 'solutions' must be text or a number"),
])
def test_bad_field_expression_names_file_line_and_part(tmp_path, mapping, where, message):
    path = write(tmp_path / "b.jsonl", RECORDS[:1])
    with pytest.raises(TaskFileError, match=re.escape(f"{path}:1: {message}")):
        FileSuite(path, mapping)


@pytest.mark.parametrize("text", ["", "a+", "+b", "a..b", "a[x]", "a[0"])
def test_malformed_expressions(text):
    with pytest.raises(FieldError):
        parse_fields(text)


def test_unreadable_golds_counted_per_verifier():
    golds = ["9", "Paris", "x + 1", "\\frac{1}{2}", "B"]
    assert unreadable_golds(golds, "math") == (
        "1 of 5 gold answers are not numbers or math (e.g. 'Paris'): check --field answer or --verifier")
    assert unreadable_golds(golds, "numeric").startswith("3 of 5 gold answers are not numbers")  # \\frac is one
    assert unreadable_golds(golds, "choice").startswith("4 of 5 gold answers are not option letters")
    assert unreadable_golds(golds, "exact") is None and unreadable_golds(["1", "2"], "math") is None


def test_cli_loads_with_one_command_and_warns_with_counts(tmp_path, run_cli):
    path = write(tmp_path / "shop.jsonl", RECORDS + [{**RECORDS[0], "gold": "apples"}])
    args = ["tasks", str(path), "--field", "question=Body+Question", "--field", "answer=gold",
            "--field", "metadata=meta.level", "--json"]
    result = run_cli(*args)
    assert "warning: 1 of 4 gold answers are not numbers or math (e.g. 'apples')" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["tasks"] == 4 and payload["examples"][1]["answer"] == "1200"
    # the flags the warning advises exist on the command that printed it
    quiet = run_cli(*args[:-1], "--verifier", "exact", "--json")
    assert "warning" not in quiet.stderr
