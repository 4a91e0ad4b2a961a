"""Every error the CLI prints is one line, `error: WHERE: WHAT`, however narrow the terminal and however
long the paths in it. The real `lessons` runs as a subprocess (Rich and click see a real stderr) with
COLUMNS=40 and every file under a path of more than 120 characters; each input fails before any model
loads, so the table is quick."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lessons.cli import app
from lessons.cli.errors import one_line, print_error

LESSONS = Path(sys.executable).parent / "lessons"
GOOD_SFT = json.dumps({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})
GOOD_TASK = json.dumps({"question": "What is 2 + 2?", "answer": "4"})

# (name, files to write into the long folder, argv; {d} is that folder, what stderr's one line must contain)
CASES = [
    ("train: invalid JSON on line 2", {"bad.jsonl": GOOD_SFT + "\n{oops\n"},
     ["train", "--model", "smollm2-135m", "--data", "{d}/bad.jsonl"], ["{d}/bad.jsonl:2: invalid JSON"]),
    ("train: a row without its completion", {"bad.jsonl": json.dumps({"prompt": "2+2?"}) + "\n"},
     ["train", "--model", "smollm2-135m", "--data", "{d}/bad.jsonl"], ["{d}/bad.jsonl:1: a prompt without"]),
    ("train: no such lessons file", {},
     ["train", "--model", "smollm2-135m", "--data", "{d}/absent.jsonl"], ["{d}/absent.jsonl: no such file"]),
    ("train: unknown model", {"good.jsonl": GOOD_SFT + "\n"},
     ["train", "--model", "no-such-model", "--data", "{d}/good.jsonl"], ["model 'no-such-model'"]),
    ("eval: invalid JSON in a task file", {"tasks.jsonl": GOOD_TASK + "\n{oops\n"},
     ["eval", "--suite", "{d}/tasks.jsonl"], ["{d}/tasks.jsonl:2: invalid JSON"]),
    ("tasks: a record without its answer", {"tasks.jsonl": GOOD_TASK + "\n" + json.dumps({"question": "Q?"}) + "\n"},
     ["tasks", "{d}/tasks.jsonl"], ["{d}/tasks.jsonl:2: missing field 'answer'"]),
    ("eval: unknown model", {}, ["eval", "--model", "no-such-model", "--suite", "arith", "--limit", "1"],
     ["unknown model 'no-such-model'"]),
    ("diagnose: unknown run", {}, ["diagnose", "no-such-run"], ["no run 'no-such-run' in {d}/log.db"]),
    ("report: unknown run", {}, ["report", "no-such-run", "--output", "{d}/r.html"],
     ["no loop or run named 'no-such-run' in {d}/log.db"]),
    ("export: unknown run", {}, ["export", "no-such-run", "--format", "jsonl", "--output", "{d}/x.jsonl"],
     ["no run 'no-such-run' in {d}/log.db"]),
    ("a value out of range", {}, ["train", "--model", "m", "--data", "{d}/x.jsonl", "--lora-r", "0"],
     ["error: --lora-r: ", "(see: lessons train --help)"]),
    ("a value that is not a number", {}, ["eval", "--limit", "many"], ["error: --limit: ", "integer"]),
    ("a library refusing an option value", {}, ["eval", "--split", "sideways"], ["--split 'sideways': use train"]),
    ("a missing required option", {}, ["train", "--data", "{d}/x.jsonl"], ["error: --model: required"]),
    ("an unknown option", {}, ["runs", "--colour"], ["error: --colour: no such option"]),
    ("an option without its value", {}, ["runs", "--db"], ["error: --db: ", "requires an argument"]),
    ("an unknown command", {}, ["trian"], ["error: lessons: No such command 'trian'"]),
    ("loop: YAML that does not parse", {"loop.yaml": "name: x\nrounds: [1,\n"},
     ["loop", "--config", "{d}/loop.yaml"], ["error: {d}/loop.yaml:3: not valid YAML (", "<stream end>')"]),
    ("loop: an unknown setting", {"loop.yaml": "name: x\nrownds: 2\n"},
     ["loop", "--config", "{d}/loop.yaml"], ["error: {d}/loop.yaml: unknown loop settings ['rownds']"]),
    ("loop: a setting out of range", {"loop.yaml": "rounds: 0\n"},
     ["loop", "--config", "{d}/loop.yaml"], ["error: {d}/loop.yaml: rounds must be at least 1"]),
    ("loop: no such config", {}, ["loop", "--config", "{d}/absent.yaml"], ["loop config {d}/absent.yaml not found"]),
    ("import: a folder without lm-eval results", {}, ["import", "lm-eval", "{d}"],
     ["error: {d}: no lm-eval results_*.json in this folder or below"]),
    ("import: no such Inspect log", {}, ["import", "inspect", "{d}/absent.eval"], ["error: {d}/absent.eval: no such file"]),
]


@pytest.fixture(scope="module")
def long_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("errors")
    while len(str(folder)) <= 120:
        folder = folder / "a-folder-with-a-rather-long-name"
    folder.mkdir(parents=True)
    return folder


def run_lessons(args: list[str], folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LESSONS_DEBUG", "NO_COLOR", "FORCE_COLOR")}
    env |= {"COLUMNS": "40", "LESSONS_DB": str(folder / "log.db"), "OMP_NUM_THREADS": "1"}
    # a generous limit: it only stops a hang; these commands fail within seconds
    return subprocess.run([str(LESSONS), *args], env=env, cwd=folder, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("files", "argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_error_is_one_line_naming_where(long_dir, tmp_path, files, argv, expected):
    folder = long_dir / tmp_path.name  # one folder per case, still under the long path
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    done = run_lessons([a.format(d=folder) for a in argv], folder)

    assert done.returncode != 0, done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # not even an empty line (or an empty bar) before it
    assert lines[0].startswith("error: "), done.stderr
    for text in expected:
        assert text.format(d=folder) in lines[0]
    assert "\x1b[" not in lines[0]  # colour only on a terminal
    assert done.stdout == ""


@pytest.mark.parametrize(("argv", "code"), [(["train", "--data", "x"], 2), (["diagnose", "none"], 1)])
def test_exit_codes_are_click_s(long_dir, argv, code):
    assert run_lessons(argv, long_dir).returncode == code  # usage errors 2, as click's own; others 1


@pytest.mark.parametrize(("text", "line"), [
    ("plain", "plain"),
    ("f.yaml: not valid YAML: while parsing\n  in line 2, column 1:\n    {a\n    ^",
     "f.yaml: not valid YAML: while parsing in line 2, column 1: {a ^"),
    ("a\r\nb\tc", "a b c"),
    ("escape \x1b[31m kept out", "escape [31m kept out"),
    ("  ends  \n", "ends"),
])
def test_one_line_folds_line_breaks_and_control_characters(text, line):
    assert one_line(text) == line


def test_error_line_is_not_wrapped_and_coloured_only_on_a_terminal(monkeypatch, capsys):
    message = "/a/very/long/path/" * 10 + "lessons.jsonl:2: invalid JSON\n(Expecting value at column 1)"
    print_error(message)
    assert capsys.readouterr().err == f"error: {one_line(message)}\n"

    class Terminal:
        written = ""

        def isatty(self):
            return True

        def write(self, text):
            self.written += text

        def flush(self):
            pass

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("NO_COLOR", raising=False)
    print_error("x.jsonl:2: bad")
    assert terminal.written == "\x1b[31merror:\x1b[0m x.jsonl:2: bad\n"
    monkeypatch.setenv("NO_COLOR", "1")
    terminal.written = ""
    print_error("x.jsonl:2: bad")
    assert terminal.written == "error: x.jsonl:2: bad\n"


def test_interrupt_prints_one_line_and_exits_130(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lessons.cli.evaluate.load_suite", interrupted)
    monkeypatch.setenv("LESSONS_DB", str(tmp_path / "log.db"))
    result = CliRunner().invoke(app, ["eval", "--suite", "arith"], env={"COLUMNS": "40"})
    assert result.exit_code == 130
    assert result.stderr.splitlines() == [
        "interrupted: finished batches are in the log; run the same command again to resume"]


def test_usage_errors_are_one_line_through_clirunner_too():
    result = CliRunner().invoke(app, ["train", "--data", "x"], env={"COLUMNS": "40"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: --model: required, not given (see: lessons train --help)"]
    # a missing argument (Typer's arguments have no click human_readable_name) is one line too
    result = CliRunner().invoke(app, ["diagnose"], env={"COLUMNS": "40"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: RUN: required, not given (see: lessons diagnose --help)"]


def test_no_arguments_still_print_the_help():
    result = CliRunner().invoke(app, [], env={"COLUMNS": "100"})
    assert "Usage" in result.output and "error:" not in result.output
