"""Kill every process a run left behind, where no PID namespace does it for us.

Without a PID namespace a program can escape its process group (double fork + setsid).
The harness makes itself a child subreaper, so while it lives every orphan in the run is
re-parented to it rather than to init, and it does not exit after its last result but waits
to be killed; the parent stops the harness (so it cannot fork any
more), kills its descendants pass after pass until none is left (orphans of a killed child
re-appear under the harness), and only then kills the harness itself. A program that ends
the harness's process itself (os._exit) still hands its orphans to init: a PID namespace is
the only complete answer, and isolation() says when there is none.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_MAX_PASSES = 64  # each pass kills everything found; more passes than the process limit allows is a bug


def kill_tree(root: int) -> None:
    """SIGKILL every descendant of `root`, then `root`. `root` must not be reaped yet."""
    _signal(root, signal.SIGSTOP)
    for _ in range(_MAX_PASSES):
        found = descendants(root)
        if not found:
            break
        for pid in found:
            _signal(pid, signal.SIGKILL)
    _signal(root, signal.SIGKILL)


def descendants(root: int) -> list[int]:
    """Living descendants of `root`, from one snapshot of /proc."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _parents() -> list[tuple[int, int]]:
    pairs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[0] != "Z":
            pairs.append((int(entry.name), int(fields[1])))
    return pairs


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
