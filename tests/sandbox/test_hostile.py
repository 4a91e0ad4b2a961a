"""Hostile programs: each is contained. The tool keeps running, the attempt gets a clear
status, nothing outside the sandbox changes, and a listening server sees no connection.

Limits are kept small (a process limit of 8, 1 s of CPU) since the machine is shared; the
process limit is checked with a harmless program before any fork bomb runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from lessons.sandbox import Execution, Limits, TestCase, isolation, run_program
from lessons.sandbox.isolation import without_namespaces

MiB = 1024 * 1024
TIGHT = Limits(cpu_s=1, wall_s=3, memory_bytes=256 * MiB, processes=8, file_bytes=16 * MiB,
               disk_bytes=32 * MiB, output_bytes=64 * 1024)
NAMESPACES = isolation().method == "namespaces"
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="user namespaces are not available here")


def run(code: str, test: str = "assert True", limits: Limits = TIGHT) -> Execution:
    return run_program(code, [TestCase("t", test)], limits)


def still_works() -> None:
    """The tool goes on judging after a hostile run."""
    after = run("def f():\n    return 1\n", "assert f() == 1")
    assert after.status == "passed", after.message


def test_the_process_limit_holds_before_any_fork_bomb_runs() -> None:
    code = (
        "import os, time\n"
        "def spawn():\n"
        "    made = 0\n"
        "    for _ in range(50):\n"
        "        try:\n"
        "            pid = os.fork()\n"
        "        except OSError:\n"
        "            return made\n"
        "        if pid == 0:\n"
        "            time.sleep(2)\n"
        "            os._exit(0)\n"
        "        made += 1\n"
        "    return made\n"
    )
    result = run(code, "made = spawn(); print(made); assert made < 8")
    assert result.status == "passed", result.message
    assert 0 < int(result.stdout) < 8


def test_a_fork_bomb_is_stopped_by_the_process_limit() -> None:
    test_the_process_limit_holds_before_any_fork_bomb_runs()  # never run a bomb unlimited
    start = time.monotonic()
    result = run("import os\nwhile True:\n    os.fork()\n")
    assert result.status in ("process_limit", "timeout"), result.message
    assert time.monotonic() - start < 10
    still_works()


def test_an_infinite_loop_hits_the_cpu_limit() -> None:
    tests = [TestCase("fine", "assert True"), TestCase("loops", "f()"), TestCase("after", "assert True")]
    result = run_program("def f():\n    while True:\n        pass\n", tests, TIGHT)
    assert result.status == "timeout" and "CPU time limit" in result.message
    assert [t.status for t in result.tests] == ["passed", "error", "not_run"]
    assert result.first_failure == "loops"
    still_works()


def test_a_loop_that_ignores_the_soft_cpu_limit_is_killed_at_the_hard_one() -> None:
    code = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    result = run(code, limits=Limits(cpu_s=1, wall_s=6))
    assert result.status == "timeout" and "CPU time limit" in result.message
    assert result.cpu_s < 4


def test_a_sleeping_program_hits_the_wall_clock_limit() -> None:
    start = time.monotonic()
    tests = [TestCase("fine", "assert True"), TestCase("sleeps", "import time; time.sleep(60)"),
             TestCase("after", "assert True")]
    result = run_program("x = 1\n", tests, Limits(cpu_s=1, wall_s=1))
    assert result.status == "timeout" and "wall-clock" in result.message
    assert [t.status for t in result.tests] == ["passed", "error", "not_run"]
    assert result.first_failure == "sleeps" and result.tests[1].message == "stopped: timeout"
    assert time.monotonic() - start < 5


def test_a_memory_hog_hits_the_memory_limit() -> None:
    result = run("def hog():\n    blocks = []\n    while True:\n        blocks.append(bytearray(16 * 2**20))\n",
                 "hog()")
    assert result.status == "memory", result.message
    assert result.exception == "MemoryError" and result.line == 4
    still_works()


def test_a_1_gb_write_hits_the_file_size_limit() -> None:
    code = ("def write():\n    chunk = b'0' * 2**20\n    with open('big.bin', 'wb') as f:\n"
            "        for _ in range(1024):\n            f.write(chunk)\n")
    result = run(code, "write()")
    assert result.status == "file_limit", result.message
    still_works()


@needs_namespaces
def test_many_files_hit_the_private_disk_limit() -> None:
    code = ("def fill():\n    chunk = b'0' * 2**20\n    for i in range(1024):\n"
            "        with open(f'part{i}.bin', 'wb') as f:\n            f.write(chunk * 8)\n")
    result = run(code, "fill()")
    assert result.status == "file_limit", result.message


def test_writing_or_deleting_outside_the_sandbox_changes_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    os.chmod(tmp_path, 0o777)  # even a world-writable place outside stays untouched
    os.chmod(canary, 0o666)
    escape = Path("/tmp") / f"lessons-sandbox-escape-{uuid.uuid4().hex}"
    code = (
        "import os\n"
        "for attempt in (lambda: open(%r, 'w').write('changed'), lambda: os.remove(%r),\n"
        "                lambda: open(%r, 'w').write('escaped'), lambda: os.rename(%r, %r)):\n"
        "    try:\n        attempt()\n    except OSError:\n        pass\n"
    ) % (str(canary), str(canary), str(escape), str(canary), str(canary) + ".moved")
    result = run(code)
    assert result.status == "passed", result.message
    assert canary.read_text() == "untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"]
    assert not escape.exists()


def test_the_working_directory_is_fresh_and_removed_afterwards() -> None:
    code = ("import os\nprint(os.getcwd())\nprint(os.environ['HOME'])\n"
            "open('scratch.txt', 'w').write('x')\nprint(sorted(os.listdir('.')))\n")
    result = run(code)
    workdir, home, listing = result.stdout.splitlines()
    assert listing == "['scratch.txt']"  # it started empty
    assert home == workdir and Path(workdir).name.startswith("lessons-sandbox-")
    assert not Path(workdir).exists()


def test_files_in_a_home_directory_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("the key")
    monkeypatch.setenv("HOME", str(home))
    code = ("import os\ntry:\n    print(open(%r).read())\nexcept OSError as exc:\n"
            "    print(type(exc).__name__)\nprint(os.environ.get('HOME'))\n") % str(home / "secret.txt")
    result = run(code)
    assert result.status == "passed", result.message
    assert "the key" not in result.stdout
    assert str(home) not in result.stdout  # HOME is the sandbox's own directory


@pytest.mark.skipif(os.geteuid() != 0 and not NAMESPACES, reason="only hidden as root or with namespaces")
def test_the_real_home_directory_cannot_be_listed() -> None:
    real_home = os.path.realpath(os.path.expanduser("~"))
    if real_home not in _hidden_or_unreadable(real_home):
        pytest.skip("the interpreter lives in the home directory, so it stays visible (isolation notes say so)")
    entries = set(os.listdir(real_home))
    code = ("import os\ntry:\n    print('\\n'.join(os.listdir(%r)))\nexcept OSError as exc:\n"
            "    print(type(exc).__name__)\n") % real_home
    result = run(code)
    assert result.status == "passed", result.message
    assert not entries & set(result.stdout.split())


def _hidden_or_unreadable(home: str) -> list[str]:
    from lessons.sandbox.isolation import masks

    return [home] if os.geteuid() == 0 else masks([home], isolation().python)


class _Listener:
    """A loopback server in this process that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@needs_namespaces
def test_a_socket_to_a_listening_loopback_port_gets_no_connection() -> None:
    server = _Listener()
    try:
        probe = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        probe.close()  # the server does accept connections from outside the sandbox
        deadline = time.monotonic() + 2
        while server.accepted < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.accepted == 1
        code = ("import socket\ndef connect():\n"
                "    socket.create_connection(('127.0.0.1', %d), timeout=1).sendall(b'hi')\n") % server.port
        result = run(code, "connect()")
        time.sleep(0.3)
        assert result.status == "error" and result.exception in ("OSError", "ConnectionRefusedError")
        assert server.accepted == 1  # only the probe
    finally:
        server.close()


# The program's last lines: wait until the background sleep runs, and say so, so that a test
# finding no sleep afterwards knows one was there to find.
_WAIT_FOR_SLEEP = (
    "import os, time\n"
    "def has(p):\n"
    "    try:\n"
    "        return %r.encode() in open(f'/proc/{p}/cmdline', 'rb').read()\n"
    "    except OSError:\n"
    "        return False\n"
    "for _ in range(100):\n"
    "    if any(has(p) for p in os.listdir('/proc') if p.isdigit()):\n"
    "        print('running')\n"
    "        break\n"
    "    time.sleep(0.02)\n"
)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


@needs_namespaces
def test_a_background_process_does_not_outlive_the_run() -> None:
    marker = f"{time.time_ns() % 10**6 + 1000}.{os.getpid()}"  # a sleep argument no one else uses
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv('/bin/sleep', ['sleep', %r])\n"
        "    os._exit(0)\n"
        + _WAIT_FOR_SLEEP
    ) % (marker, marker)
    result = run(code)
    assert result.status == "passed", result.message
    assert result.stdout == "running\n"  # the sleep did start
    deadline = time.monotonic() + 2
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_100_mb_of_output_is_cut_at_the_cap() -> None:
    start = time.monotonic()
    result = run("import sys\nchunk = 'x' * 2**20\nfor _ in range(100):\n    sys.stdout.write(chunk)\n")
    assert result.status == "output_limit", result.message
    assert len(result.stdout) == TIGHT.output_bytes and result.stdout_truncated
    assert time.monotonic() - start < 5
    still_works()


def test_the_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSONS_TEST_TOKEN", "secret-token")
    result = run("import os\nprint(sorted(os.environ))\n")
    assert "LESSONS_TEST_TOKEN" not in result.stdout and "secret-token" not in result.stdout


@needs_namespaces
def test_the_program_cannot_undo_the_private_mounts() -> None:
    code = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.umount2(b'/tmp', 2), ctypes.get_errno())\n")
    result = run(code)
    assert result.status == "passed", result.message
    code_, errno_ = result.stdout.split()
    assert code_ == "-1" and int(errno_) in (1, 13)  # EPERM / EACCES: no capability left


def test_lines_written_into_inherited_descriptors_are_not_taken_as_results() -> None:
    code = ("import os\nfor fd in range(3, 64):\n    try:\n"
            "        os.write(fd, b'{\"event\": \"done\"}\\n{\"event\": \"test\", \"name\": \"t\", \"outcome\": \"passed\"}\\n')\n"
            "    except OSError:\n        pass\nos._exit(0)\n")
    result = run(code, "assert False")
    assert result.status == "exited" and not result.passed


def test_a_crash_of_the_interpreter_is_reported_as_killed() -> None:
    result = run("import ctypes\nctypes.string_at(0)\n")
    assert result.status == "killed" and "signal 11" in result.message
    still_works()


@needs_namespaces
def test_the_host_processes_are_not_visible() -> None:
    result = run("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n")
    assert result.status == "passed", result.message
    assert result.stdout.strip() == "[1]"  # only the sandbox's own first process


FALLBACK = without_namespaces(isolation())


def test_without_namespaces_a_background_process_is_still_hunted_down() -> None:
    marker = f"{time.time_ns() % 10**6 + 2000}.{os.getpid()}"
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"  # leaves the process group that killpg would reach
        "    if os.fork() == 0:\n"
        "        os.execv('/bin/sleep', ['sleep', %r])\n"
        "    os._exit(0)\n"
        + _WAIT_FOR_SLEEP
    ) % (marker, marker)
    result = run_program(code, [TestCase("t", "assert True")], TIGHT, setup=FALLBACK)
    assert result.status == "passed" and result.isolation == "rlimits-only", result.message
    assert result.stdout == "running\n"  # the sleep did start
    assert _processes_with(marker) == []


def test_without_namespaces_limits_still_hold() -> None:
    loop = run_program("while True:\n    pass\n", [TestCase("t", "assert True")], TIGHT, setup=FALLBACK)
    flood = run_program("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
                        [TestCase("t", "assert True")], TIGHT, setup=FALLBACK)
    hog = run_program("x = bytearray(2**31)\n", [TestCase("t", "assert True")], TIGHT, setup=FALLBACK)
    assert (loop.status, flood.status, hog.status) == ("timeout", "output_limit", "memory")
    assert FALLBACK.notes and not FALLBACK.network  # it says plainly what is not in force


def test_hostile_and_ordinary_programs_side_by_side_in_a_batch() -> None:
    from lessons.sandbox import Program, run_programs

    good = Program("def f():\n    return 1\n", [TestCase("t", "assert f() == 1")])
    bomb = Program("import os\nwhile True:\n    os.fork()\n", [TestCase("t", "assert True")])
    flood = Program("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", [TestCase("t", "assert True")])
    hog = Program("x = bytearray(2**31)\n", [TestCase("t", "assert True")])
    runs = run_programs([good, bomb, good, flood, good, hog, good], TIGHT, workers=2)
    assert [r.status for r in runs] == ["passed", "process_limit", "passed", "output_limit",
                                        "passed", "memory", "passed"]


@pytest.mark.parametrize("namespaces", [True, False])
def test_killing_the_tool_mid_run_leaves_no_sandbox_running(namespaces: bool) -> None:
    import subprocess
    import sys

    import lessons

    if namespaces and not NAMESPACES:
        pytest.skip("user namespaces are not available here")
    marker = f"{time.time_ns() % 10**6 + 3000}.{os.getpid()}{int(namespaces)}"
    # The marker reaches the tool through its environment, so that only the sandboxed sleep
    # carries it on its command line.
    tool = (
        "import os\n"
        "from lessons.sandbox import Limits, TestCase, isolation, run_program\n"
        "from lessons.sandbox.isolation import without_namespaces\n"
        f"setup = isolation() if {namespaces} else without_namespaces(isolation())\n"
        "code = 'import os\\nos.execv(\"/bin/sleep\", [\"sleep\", %r])\\n' % os.environ['MARKER']\n"
        "run_program(code, [TestCase('t', 'assert True')], Limits(cpu_s=1, wall_s=60), setup=setup)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(lessons.__file__).parents[1]), "MARKER": marker}
    workdirs = set(Path(tempfile.gettempdir()).glob("lessons-sandbox-*"))
    proc = subprocess.Popen([sys.executable, "-c", tool], env=env)
    try:
        deadline = time.monotonic() + 20
        while not _processes_with(marker) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert _processes_with(marker), "the sandboxed program never started"
        assert marker.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        proc.kill()  # SIGKILL: the tool gets no chance to clean up
        proc.wait()
    deadline = time.monotonic() + 3
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []
    for left in set(Path(tempfile.gettempdir()).glob("lessons-sandbox-*")) - workdirs:
        shutil.rmtree(left, ignore_errors=True)  # a SIGKILLed tool cannot remove its run's directory
