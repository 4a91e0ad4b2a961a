"""Every `--flag` that the library's text names (errors, warnings, hints, help) is an option
of some `lessons` command: an error never advises a flag that does not exist."""

import ast
import re
from pathlib import Path

import click
import typer.main

import lessons
from lessons.cli import app

SRC = Path(lessons.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Flags of other programs that the code passes on: Chromium (report/browser.py), pip,
# unshare and setpriv (the sandbox).
OTHER_PROGRAMS = {"report/browser.py", "models/embedded.py", "sandbox/isolation.py"}


def _options(command: click.Command) -> set[str]:
    found = {"--help"}
    for param in command.params:
        found.update(param.opts, param.secondary_opts)
    for sub in getattr(command, "commands", {}).values():
        found |= _options(sub)
    return found


def test_every_flag_named_in_the_source_exists():
    known = _options(typer.main.get_command(app))
    unknown = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).as_posix() in OTHER_PROGRAMS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                unknown += [f"{path.relative_to(SRC)}:{node.lineno}: {flag}"
                            for flag in FLAG.findall(node.value) if flag not in known]
    assert not unknown, unknown
    assert {"--field", "--verifier", "--method"} <= known  # the check sees real options
