"""The fault matrix: each long command is SIGKILLed at deterministic points, run again,
and its final state compared with an uninterrupted run's.

For a case (a command and the state it starts from):

1. `prepare` builds the starting state once, uninterrupted;
2. a reference run on a copy records which fault points it passes (LESSONS_FAULT_TRACE,
   see `lessons.faults`) and what it leaves: every log row (times left out) and every
   output file;
3. for each planned kill - the first, middle and last time each point is reached - a
   fresh copy runs with LESSONS_FAULT=point:k, must die by SIGKILL there, and the same
   command run again must finish with exactly the reference's rows and files: no attempt
   or diagnosis lost, none duplicated, no half-written file left behind.

`python tests/faults/matrix.py` runs every case and prints the table kept in
RELIABILITY.md; the tests in this folder run the same cases.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DRIVER = Path(__file__).with_name("driver.py")
# what differs between two correct runs: clocks, durations and rates
VOLATILE_COLUMNS = {"created_at", "updated_at", "finished_at", "applied_at", "latency_s", "wall_s"}
VOLATILE_KEYS = {"wall_s", "tokens_per_second", "train_seconds", "resumed_from_step", "elapsed_s"}
SET_KEYS = {"target_modules"}  # peft writes a set: its order changes from process to process


@dataclass(frozen=True)
class Case:
    command: str  # what the matrix calls it: eval, diagnose, ...
    argv: tuple[str, ...]  # after `lessons`; "{dir}" is the case's working folder
    prepare: Callable[[Path], None] | None = None  # builds the starting state in a folder
    compare: tuple[str, ...] = ()  # output files/folders (relative) compared byte for byte, normalised
    volatile_files: tuple[str, ...] = ()  # globs of outputs checked to exist but not compared (timings)
    max_kills: int = 12
    every_hit: bool = False  # kill at every hit of every point, not only the first, middle and last
    slow: bool = False  # a loop or real training per run: behind the slow marker


@dataclass
class Outcome:
    case: str
    fault: str
    killed: bool  # died by SIGKILL at the point
    resumed: bool  # the re-run finished (exit 0)
    same: bool  # rows and files equal to the uninterrupted run's
    lost: int  # attempts/diagnoses of the reference missing after the re-run
    duplicated: int
    detail: str = ""


@dataclass
class Snapshot:
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    keys: dict[str, list[tuple]] = field(default_factory=dict)  # (attempt/diagnosis keys, with repeats)


def lessons(argv: tuple[str, ...] | list[str], workdir: Path, fault: str | None = None,
            trace: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `lessons ARGV` through the driver with `workdir` as its folder and log."""
    with start(argv, workdir, fault=fault, trace=trace) as proc:
        out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def start(argv: tuple[str, ...] | list[str], workdir: Path, fault: str | None = None, trace: Path | None = None,
          sync: dict | None = None) -> subprocess.Popen:
    """`lessons ARGV` started in the background; `sync` makes it meet its peers at a point
    (LESSONS_TEST_SYNC, see tests/store/_scripted_cli.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LESSONS_FAULT", "LESSONS_TEST_SYNC"))}
    env |= {"LESSONS_DB": str(workdir / "log.db"), "FAULTS_STATE": str(workdir), "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "200"}
    if fault:
        env["LESSONS_FAULT"] = fault
    if trace:
        env["LESSONS_FAULT_TRACE"] = str(trace)
    if sync:
        env["LESSONS_TEST_SYNC"] = json.dumps(sync)
    args = [a.replace("{dir}", str(workdir)) for a in argv]
    return subprocess.Popen([sys.executable, str(DRIVER), *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def check(done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode != 0:
        raise AssertionError(f"{what}: exit {done.returncode}\n{done.stderr[-4000:]}")


def snapshot(workdir: Path, case: Case) -> Snapshot:
    snap = Snapshot()
    db = workdir / "log.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in sorted(t for t in tables if t != "sqlite_sequence"):
                rows = conn.execute(f"SELECT * FROM {table}").fetchall()
                snap.rows[table] = sorted(_row(r) for r in rows)
            snap.keys = _keys(conn, tables)
    for rel in case.compare:
        path = workdir / rel
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                snap.files[str(f.relative_to(workdir))] = _file(f)
            elif not f.exists():
                snap.files[str(f.relative_to(workdir))] = "<missing>"
    for pattern in case.volatile_files:
        for f in sorted(workdir.glob(pattern)):
            snap.files[str(f.relative_to(workdir))] = "<present>"
    snap.files |= {f"<leftover> {p.relative_to(workdir)}": "" for p in workdir.rglob("*.partial-*")}
    return snap


def _row(row: sqlite3.Row) -> tuple:
    out = []
    for key in row.keys():
        if key in VOLATILE_COLUMNS:
            continue
        value = row[key]
        if isinstance(value, str):
            value = _normalise(value)
        out.append((key, value))
    return tuple(out)


def _normalise(text: str) -> str:
    if text[:1] in "{[":
        try:
            return json.dumps(_drop_volatile(json.loads(text)), sort_keys=True)
        except ValueError:
            pass
    return text


def _drop_volatile(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: sorted(v) if k in SET_KEYS and isinstance(v, list) else _drop_volatile(v)
                for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_drop_volatile(v) for v in obj]
    return obj


def _file(path: Path) -> str:
    import hashlib

    data = path.read_bytes()
    try:
        text = _normalise(data.decode("utf-8"))
        # a report says when it was made, to the minute: two runs may straddle a minute
        text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "(time)", text)
        return hashlib.sha256(text.encode()).hexdigest()
    except UnicodeDecodeError:
        return hashlib.sha256(data).hexdigest()


def _keys(conn: sqlite3.Connection, tables: list[str]) -> dict[str, list[tuple]]:
    keys = {}
    if "attempts" in tables:
        keys["attempts"] = [tuple(r) for r in conn.execute("SELECT run_id, task_id, sample FROM attempts")]
    if "diagnoses" in tables:
        keys["diagnoses"] = [tuple(r) for r in conn.execute(
            "SELECT a.run_id, a.task_id, a.sample, d.method FROM diagnoses d JOIN attempts a ON a.id = d.attempt_id")]
    return keys


def plan_kills(trace: list[str], max_kills: int, every_hit: bool = False) -> list[str]:
    """The first, middle and last hit (or every hit) of every point passed, in the order
    first reached; trimmed evenly to `max_kills`."""
    counts: dict[str, int] = {}
    for name in trace:
        counts[name] = counts.get(name, 0) + 1
    plans = []
    for name, n in counts.items():
        plans += [f"{name}:{k}" for k in (range(1, n + 1) if every_hit else sorted({1, (n + 1) // 2, n}))]
    if len(plans) > max_kills:
        step = len(plans) / max_kills
        plans = [plans[int(i * step)] for i in range(max_kills)]
    return plans


def compare(reference: Snapshot, got: Snapshot) -> tuple[int, int, str]:
    """(lost, duplicated, first difference)."""
    lost = dup = 0
    for kind, ref_keys in reference.keys.items():
        mine = got.keys.get(kind, [])
        lost += len(set(ref_keys) - set(mine))
        dup += len(mine) - len(set(mine))
    diff = ""
    for table in sorted(set(reference.rows) | set(got.rows)):
        a, b = reference.rows.get(table, []), got.rows.get(table, [])
        if a != b:
            extra = [r for r in b if r not in a][:1]
            missing = [r for r in a if r not in b][:1]
            diff = f"table {table}: {len(a)} rows vs {len(b)}; missing {missing} extra {extra}"
            break
    if not diff and reference.files != got.files:
        names = sorted(set(reference.files) | set(got.files))
        first = next(n for n in names if reference.files.get(n) != got.files.get(n))
        diff = f"file {first}: {reference.files.get(first, '<absent>')[:12]} vs {got.files.get(first, '<absent>')[:12]}"
    return lost, dup, diff


def run_case(case: Case, root: Path, only: list[str] | None = None) -> list[Outcome]:
    """Every planned kill of `case` (or just `only`). Every run happens in the same folder,
    `root/work`, restored from the prepared state each time: the log records absolute
    paths (and ids made from them), which must not differ between runs compared."""
    work, base = root / "work", root / "base"
    work.mkdir(parents=True)
    if case.prepare:
        case.prepare(work)
    work.rename(base)
    _restore(base, work)
    trace = root / "trace.txt"
    check(lessons(case.argv, work, trace=trace), f"{case.command}: uninterrupted run")
    reference = snapshot(work, case)
    hits = trace.read_text().split()
    plans = only or plan_kills(hits, case.max_kills, case.every_hit)
    outcomes = []
    for fault in plans:
        _restore(base, work)
        first = lessons(case.argv, work, fault=fault)
        killed = first.returncode == -signal.SIGKILL
        again = lessons(case.argv, work)
        lost, dup, diff = compare(reference, snapshot(work, case))
        detail = diff or ("" if killed else f"not killed (exit {first.returncode})")
        if again.returncode != 0:
            detail = f"re-run exit {again.returncode}: {again.stderr.strip().splitlines()[-1:]}"
        outcomes.append(Outcome(case.command, fault, killed, again.returncode == 0, not diff, lost, dup, detail))
    return outcomes


def _restore(base: Path, work: Path) -> None:
    """`work` as the prepared state left it (a finished state: every writer has exited)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work, symlinks=True)


def table(outcomes: list[Outcome]) -> str:
    """The markdown fault matrix, one row per (command, point), with the kills folded."""
    lines = ["| command | fault (SIGKILL at) | kills | killed there | re-run finished | same rows and files | lost | duplicated |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    grouped: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        grouped.setdefault((o.case, o.fault.split(":")[0]), []).append(o)
    for (command, point), group in grouped.items():
        hits = ", ".join(o.fault.split(":")[1] for o in group)
        lines.append(f"| `{command}` | `{point}` (hit {hits}) | {len(group)} | {sum(o.killed for o in group)} | "
                     f"{sum(o.resumed for o in group)} | {sum(o.same for o in group)} | "
                     f"{sum(o.lost for o in group)} | {sum(o.duplicated for o in group)} |")
    return "\n".join(lines)


def totals(outcomes: list[Outcome]) -> dict[str, int]:
    return {"faults injected": sum(o.killed for o in outcomes), "runs resumed": sum(o.resumed for o in outcomes),
            "same as uninterrupted": sum(o.same for o in outcomes), "attempts lost": sum(o.lost for o in outcomes),
            "duplicates": sum(o.duplicated for o in outcomes)}
