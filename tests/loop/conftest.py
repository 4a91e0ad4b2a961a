"""Fixtures of the loop tests: a scripted world (see tests/loop_fakes.py)."""

from __future__ import annotations

import pytest

from fakes import WordHashEmbedder
from lessons.loop import Deps, LoopConfig
from loop_fakes import World


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


@pytest.fixture
def deps(world):
    return Deps(backend=world.backend, train=world.train, embedder=WordHashEmbedder)


@pytest.fixture
def config(tmp_path):
    # keep=1: the scripted model writes one text per task, so one distinct solution is all there is
    return LoopConfig(name="t", model="base-model", train_tasks=96, heldout_tasks=64, rows=24, steps=3,
                      mix={"practice": 1.0}, keep=1, out_dir=str(tmp_path / "loop"))
