"""The loop: evaluate -> diagnose -> build lessons -> train -> judge on held-out tasks,
against a control arm trained on untargeted data of the same size."""

from lessons.loop.config import SIZES, LoopConfig, load_config
from lessons.loop.measure import loop_report_data
from lessons.loop.run import Deps, Hooks, LoopMismatch, run_loop

__all__ = ["SIZES", "Deps", "Hooks", "LoopConfig", "LoopMismatch", "load_config", "loop_report_data",
           "run_loop"]
