"""Files and folders that appear whole or not at all.

Everything a later stage reads (lesson sets, adapters, merged models, exports, reports,
train manifests) is written beside its target under a `.NAME.partial-PID-XXXX` name and
renamed into place only when complete, so a process killed at any instant leaves either
the old version, the new one, or (for a folder being replaced) neither - never half of
one. Leftover partials of a dead process are removed by the next write to that target.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from lessons import faults


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    path = Path(path)
    with replace_file(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return path


@contextmanager
def replace_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; whatever the body writes there replaces
    `path` in one rename when the body returns (and is deleted if it raises)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(path)
    fd, name = tempfile.mkstemp(prefix=_partial_prefix(path), dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        faults.point("atomic-rename")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def replace_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside `path`; when the body returns, the staging
    folder becomes `path` (an earlier folder there is moved aside and deleted)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(path)
    staging = Path(tempfile.mkdtemp(prefix=_partial_prefix(path), dir=path.parent))
    try:
        yield staging
        faults.point("atomic-rename")
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=_partial_prefix(path), dir=path.parent))
            os.replace(path, old / path.name)  # a folder cannot be renamed over a non-empty one
            os.replace(staging, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _partial_prefix(path: Path) -> str:
    return f".{path.name}.partial-{os.getpid()}-"


def _remove_dead_partials(path: Path) -> None:
    """Delete what killed writers of `path` left; a live writer's partials are its own."""
    if not path.parent.is_dir():
        return
    for leftover in path.parent.glob(f".{path.name}.partial-*"):
        pid = leftover.name.rsplit(".partial-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
