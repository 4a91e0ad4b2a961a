"""The real `lessons` CLI in a subprocess, with every --model a scripted backend and the
taxonomy's embedder a cheap stand-in, for tests that need two commands on one log:

    PYTHONPATH=tests python tests/store/_scripted_cli.py eval --model a --run ra ...

LESSONS_TEST_SYNC (see _workers.py) takes `at`: "open" (just after the log is opened) or
"write:K" (just after the K-th write transaction commits), so that two commands started
together are both mid-way when they go on.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager

from _workers import rendezvous
from fakes import ScriptedBackend, WordHashEmbedder


TEST_EMBEDDER = "word-hash"


def scripted(name, options=None):
    return ScriptedBackend(lambda chat, sample: "Step 1: 2 + 2 = 5\nAnswer: 5", name=name)


def register_models(argv: list[str]) -> None:
    """Each `--model NAME` of the command a registered test model (`lessons.models.models`),
    the seam every test model goes through, so the CLI resolves it as it would a plugin's."""
    from lessons.models import models

    for flag, name in zip(argv, argv[1:]):
        if flag == "--model":
            models.register(name, scripted)


def install_sync(spec: dict) -> None:
    from lessons.store import Store

    meet = lambda: rendezvous(spec["dir"], spec["name"], spec["peers"])  # noqa: E731
    if spec["at"] == "open":
        plain_open = Store.open

        def open_then_meet(cls, *args, **kwargs):
            store = plain_open(*args, **kwargs)
            meet()
            return store

        Store.open = classmethod(open_then_meet)
        return
    after, plain_transaction, writes = int(spec["at"].removeprefix("write:")), Store.transaction, 0

    @contextmanager
    def transaction_then_meet(self):
        nonlocal writes
        outermost = not self.db.in_transaction
        with plain_transaction(self) as db:
            yield db
        writes += outermost
        if outermost and writes == after:
            meet()

    Store.transaction = transaction_then_meet


def main() -> None:
    import lessons.cli
    from lessons.diagnose.taxonomy import embedders

    register_models(sys.argv[1:])
    embedders.register(TEST_EMBEDDER, WordHashEmbedder)  # chosen by name, as the CLI tests do
    os.environ["LESSONS_EMBEDDER"] = TEST_EMBEDDER
    if os.environ.get("LESSONS_TEST_SYNC"):
        install_sync(json.loads(os.environ["LESSONS_TEST_SYNC"]))
    sys.argv = ["lessons", *sys.argv[1:]]
    lessons.cli.main()


if __name__ == "__main__":
    main()
