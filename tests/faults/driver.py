"""The real `lessons` CLI in a process of its own, with scripted models: what the fault
matrix kills and runs again.

    python tests/faults/driver.py ARGS...     same as `lessons ARGS...`

Any `--model scripted-*` resolves to a deterministic scripted backend over the arith
suite (right on most tasks, wrong by 7 on a third of the multiplication ones); the loop's
models and trainer are the scripted world of tests/loop_fakes.py, whose learned skills
are kept in a file so that they survive the kill; the taxonomy embeds with a word hash.
Real models (`--model DIR` for `lessons train`) are untouched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: fakes, loop_fakes

from fakes import WordHashEmbedder  # noqa: E402
from loop_fakes import World  # noqa: E402


class DurableWorld(World):
    """The loop's scripted world, its learned skills kept in `learned.json` (written
    atomically) so a re-run after SIGKILL knows what the killed run's training taught."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.file = root / "learned.json"
        if self.file.is_file():
            self.learned = {k: set(v) for k, v in json.loads(self.file.read_text()).items()}

    def train(self, model, data, config, on_progress=None, store=None):
        from lessons import atomic

        result = super().train(model, data, config, on_progress, store)
        atomic.write_text(self.file, json.dumps({k: sorted(v) for k, v in self.learned.items()}, sort_keys=True))
        return result


def install(state_dir: Path, argv: list[str]) -> None:
    import lessons.diagnose.taxonomy as taxonomy
    import lessons.loop.run as run
    from lessons.models import models

    world = DurableWorld(state_dir)

    def scripted(name, options=None):
        from lessons.store import Store

        store = Store.open(":memory:")  # the world reads practice tasks from the log only in loops
        return world.backend(name, store, None)

    # each `--model scripted-*` of the command a registered test model, as a plugin's would be
    for flag, name in zip(argv, argv[1:]):
        if flag == "--model" and name.startswith("scripted-"):
            models.register(name, scripted)
    taxonomy.embedders.register("word-hash", WordHashEmbedder)  # chosen by name, as the CLI tests do
    os.environ["LESSONS_EMBEDDER"] = "word-hash"
    deps = run.Deps
    run.Deps = lambda: deps(backend=world.backend, train=world.train, embedder=WordHashEmbedder)


if __name__ == "__main__":
    install(Path(os.environ["FAULTS_STATE"]), sys.argv[1:])
    if os.environ.get("LESSONS_TEST_SYNC"):  # meet another command mid-way (tests of a shared log)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
        from _scripted_cli import install_sync

        install_sync(json.loads(os.environ["LESSONS_TEST_SYNC"]))
    from lessons.cli import main

    sys.argv = ["lessons", *sys.argv[1:]]
    main()
