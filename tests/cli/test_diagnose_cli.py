"""`lessons diagnose|taxonomy|slices|suspects|bench` through CliRunner on a temporary log."""

import json

import pytest
from fakes import ScriptedBackend

from lessons.runner import EvalConfig, evaluate
from lessons.store import Store
from lessons.tasks import load_suite

SUITE = load_suite("arith")
TASKS = {t.prompt: t for t in SUITE.tasks(30)}


def sloppy(chat, sample):
    """Even tasks: gold steps; odd ones: the first step's result off by one, or no answer."""
    task = TASKS[chat[-1]["content"]]
    lines = [f"Step {k + 1}: {s.text}" for k, s in enumerate(task.steps)]
    if int(task.id[-2:]) % 2 == 0:
        return "\n".join(lines + [f"Answer: {task.answer}"])
    if int(task.id[-2:]) % 4 == 1:
        return "Let me think about it."
    expr, _, value = task.steps[0].text.partition(" = ")
    return f"Step 1: {expr} = {int(value.split()[0].split('/')[0]) + 1}\nAnswer: 99999"


@pytest.fixture
def cli(tmp_path, monkeypatch, run_cli, fake_embedder):
    db = tmp_path / "log.db"
    monkeypatch.setenv("LESSONS_DB", str(db))
    store = Store.open(db)
    evaluate(store, ScriptedBackend(sloppy), SUITE, EvalConfig(limit=30, run_name="r"))
    evaluate(store, ScriptedBackend(lambda c, s: "Answer: 3"), SUITE, EvalConfig(limit=5, samples=3, run_name="k3"))
    store.close()
    return run_cli


def test_diagnose_json_counts_and_clusters(cli):
    payload = json.loads(cli("diagnose", "r", "--json").stdout)
    assert payload["mistakes"] == 15 and payload["typed"] == 15
    assert payload["located"] >= 7  # every off-by-one first step
    assert payload["clusters"] and all(c["examples"] for c in payload["clusters"])
    assert set(payload["by_type"]) >= {"calculation", "format"}
    again = json.loads(cli("diagnose", "r", "--json").stdout)
    assert again["diagnosed_now"] == 0 and again["clusters"] == payload["clusters"]


def test_taxonomy_slices_and_suspects(cli):
    assert cli("taxonomy", "r", ok=False).exit_code == 1  # not diagnosed yet: a clear error
    cli("diagnose", "r")
    clusters = json.loads(cli("taxonomy", "r", "--json").stdout)["clusters"]
    assert sum(c["size"] for c in clusters) == 15
    assert any(e["first_wrong_step"] for c in clusters for e in c["examples"])
    slices = json.loads(cli("slices", "r", "--min-support", "3", "--json").stdout)
    assert {"slices", "by_error_type"} <= set(slices)
    for s in slices["slices"]:
        assert s["lift"] > 1 and 0 < s["error_rate"] <= 1 and s["size"] >= 3
    suspects = json.loads(cli("suspects", "k3", "--json").stdout)["suspects"]
    assert {s["agreed_answer"] for s in suspects} == {"3"} and len(suspects) >= 4
    assert "suspect labels" in cli("suspects", "k3").stdout


def test_bad_method_and_unknown_run_are_clear_errors(cli):
    assert "--method 'guess'" in cli("diagnose", "r", "--method", "guess", ok=False).output
    assert "nope" in cli("diagnose", "nope", ok=False).output
    assert "needs a model" in cli("diagnose", "r", "--method", "critic", ok=False).output


def test_bench_processbench_gsm8k_arith(cli, shared_data):
    path = shared_data / "processbench" / "gsm8k.json"
    payload = json.loads(cli("bench", "processbench", "--subset", "gsm8k", "--path", path, "--json").stdout)
    assert payload["n"] == 400
    assert {"acc_error", "acc_correct", "f1", "flag_precision", "coverage"} <= set(payload)
    assert payload["flag_precision"] >= 0.8
    assert "rollouts need" in cli("bench", "processbench", "--method", "rollout", "--path", path, ok=False).output


def test_bench_realmistake_prints_only_scores(cli, shared_data):
    result = cli("bench", "realmistake", "--path", shared_data / "realmistake" / "data.zip", "--json")
    payload = json.loads(result.stdout)
    assert payload["n"] == 300 and payload["precision"] >= 0.9 and payload["n_flagged"] >= 10
    assert set(payload) == {"task", "method", "model", "path", "n", "n_error", "n_flagged", "precision", "recall",
                            "f1", "error_rate", "seconds"}  # scores only: no example leaves the zip
    assert "rollouts need" in cli("bench", "realmistake", "--method", "rollout", ok=False).output


def test_mistakes_and_show_carry_the_diagnosis(cli):
    cli("diagnose", "r")
    mistakes = json.loads(cli("mistakes", "r", "--type", "calculation", "--json").stdout)["mistakes"]
    assert mistakes and all("calculation" in m["error_types"] for m in mistakes)
    shown = json.loads(cli("show", mistakes[0]["id"], "--json").stdout)
    assert shown["diagnosis"]["first_wrong_step"] == 0 and shown["diagnosis"]["steps"]
    text = cli("show", mistakes[0]["id"]).stdout
    assert "calculation" in text and "first wrong: step 1" in text
    assert "type" in cli("mistakes", "r").stdout


def test_diagnose_with_a_critic_model_locates_and_names_clusters(cli, register_model):
    def critic(chat, sample):
        prompt = chat[-1]["content"]
        return "Paragraph 0 is wrong. \\boxed{0}" if "[Solution]" in prompt or "paragraph_0" in prompt else "Dropped carry"

    register_model("judge", lambda name, options: ScriptedBackend(critic, name=name))
    payload = json.loads(cli("diagnose", "r", "--method", "critic", "--model", "judge", "--json").stdout)
    assert payload["method"] == "critic" and payload["located"] >= 7
    assert any(c["name"] == "Dropped carry" for c in payload["clusters"])
