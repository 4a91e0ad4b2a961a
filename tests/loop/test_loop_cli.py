"""`lessons loop` and `lessons report` through the CLI, with the scripted world standing in
for models and training."""

from __future__ import annotations

import json
import re

import pytest

from lessons.loop import Deps
from lessons.store import Store
from fakes import WordHashEmbedder


@pytest.fixture
def cli(tmp_path, monkeypatch, world, run_cli):
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    monkeypatch.chdir(tmp_path)
    import lessons.loop as loop_pkg

    real = loop_pkg.run_loop
    monkeypatch.setattr(loop_pkg, "run_loop", lambda store, config, hooks=None, deps=None: real(
        store, config, hooks, Deps(backend=world.backend, train=world.train, embedder=WordHashEmbedder)))
    return run_cli


# --keep 1: the scripted model writes one text per task, so one distinct solution is all there is
ARGS = ("--model", "base-model", "--train-tasks", 96, "--heldout-tasks", 48, "--rows", 16, "--steps", 2,
        "--keep", 1, "--mix", "practice=1")


def test_loop_json_prints_the_three_arms_with_intervals_and_the_report(cli, tmp_path):
    result = cli("loop", "--name", "c", *ARGS, "--json")
    payload = json.loads(result.stdout)
    for arm in ("base", "treatment", "control"):
        lo, hi = payload[arm]["ci95"]
        assert lo <= payload[arm]["accuracy"] <= hi
    assert payload["treatment"]["delta"] > payload["control"]["delta"]
    target = payload["target"]
    assert target["slices"] and target["tasks"] > 0 and {"base", "treatment", "control", "advantage"} <= set(target)
    lo, hi = target["advantage"]["ci95"]
    assert lo <= target["advantage"]["delta"] <= hi and lo > 0  # the scripted treatment learns the target
    report = tmp_path / "lessons-loops" / "c" / "report.html"
    assert payload["report"] == str(report) and report.is_file()
    html = report.read_text()
    assert "c-r1-treatment" in html and "<svg" in html


def test_loop_prints_a_headline_and_a_second_run_skips_every_stage(cli, tmp_path):
    first = cli("loop", "--name", "h", *ARGS)
    assert re.search(r"treatment\s+│\s+h-r1-treatment", first.stdout)
    assert first.stdout.index("target ") < first.stdout.index("(a random sample)")  # the target first
    assert re.search(r"target: fixed \d+, new \d+; treatment - control \+", first.stdout)
    assert "report:" in first.stdout
    again = cli("loop", "--name", "h", *ARGS)
    assert again.stderr.count("done before, skipped") == 11


def test_loop_with_other_settings_under_the_same_name_is_refused(cli):
    cli("loop", "--name", "m", *ARGS)
    result = cli("loop", "--name", "m", *ARGS[:-2], "--mix", "practice=1,correction=1", ok=False)
    assert result.exit_code == 1 and "other settings (mix differ)" in result.stderr


def test_report_of_a_run_and_of_a_loop(cli, tmp_path):
    cli("loop", "--name", "r", *ARGS)
    train_run = Store.open(tmp_path / "log.db").stages("r")[(1, "eval-train")]["run"]
    out = tmp_path / "run.html"
    cli("report", train_run, "-o", out)
    assert train_run in out.read_text()
    cli("report", "r", "-o", tmp_path / "loop.html")
    assert "r-r1-control" in (tmp_path / "loop.html").read_text()
    missing = cli("report", "nothing", ok=False)
    assert "no loop or run named 'nothing'" in missing.stderr


def test_planted_script_in_model_output_is_escaped_in_the_report(cli, tmp_path, world):
    world.decorate = lambda text: text + "\n<script>document.title='pwned'</script>"
    cli("loop", "--name", "x", *ARGS)
    html = (tmp_path / "lessons-loops" / "x" / "report.html").read_text()
    assert "&lt;script&gt;document.title=" in html
    assert "<script>document.title" not in html
