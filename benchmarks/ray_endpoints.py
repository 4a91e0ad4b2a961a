"""Ray's overhead and scaling: the same prompts through one endpoint directly, through Ray
with that one endpoint, and through Ray with two endpoints, timed in one run.

Prompts are the built-in arith suite through the step-by-step template, greedy, with the
same token budget and per-endpoint concurrency in every arm; each arm runs `--rounds`
times, the arms alternating so machine noise hits all of them. Ratios are of generated
tokens per second: ray-1/direct (overhead; ideally close to 1) and ray-2/ray-1 (scaling;
ideally close to 2 when the endpoints do not share CPUs or a GPU).

Start two OpenAI-compatible servers (here llama-cpp-python with the SmolLM2 test model, each
pinned to its own cores), then:

    taskset -c 0-3 .venv/bin/python -m llama_cpp.server --model SMOLLM2.gguf --port 8001 --n_threads 4 &
    taskset -c 4-7 .venv/bin/python -m llama_cpp.server --model SMOLLM2.gguf --port 8002 --n_threads 4 &
    .venv/bin/python benchmarks/ray_endpoints.py --model smollm2-135m \\
        --endpoint http://127.0.0.1:8001/v1 --endpoint http://127.0.0.1:8002/v1 --prompts 256
"""

from __future__ import annotations

import argparse
import statistics
import time

from lessons.models.base import SamplingParams
from lessons.models.openai_compat import OpenAIBackend
from lessons.models.ray_pool import RayEndpointsBackend, connect
from lessons.prompts import templates
from lessons.tasks import load_suite


def timed(backend, chats, sampling: SamplingParams) -> float:
    """Generated tokens per second over the whole batch."""
    started = time.perf_counter()
    out = backend.generate(chats, sampling)
    return sum(c.completion_tokens for row in out for c in row) / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="The served model's name (openai:<model> without the prefix).")
    ap.add_argument("--endpoint", action="append", required=True, help="Two endpoints (the first is the direct one).")
    ap.add_argument("--prompts", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=8, help="In-flight requests per endpoint.")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ray", default="local", help="Cluster address, or local to start one.")
    args = ap.parse_args()
    if len(args.endpoint) != 2:
        ap.error(f"--endpoint: give exactly two, got {len(args.endpoint)}")

    template = templates.get("step-by-step")
    chats = [template.render(t) for t in load_suite("arith").tasks(args.prompts)]
    sampling = SamplingParams(max_new_tokens=args.max_new_tokens)
    connect(args.ray)
    arms = {
        "direct": OpenAIBackend(args.model, args.endpoint[0], concurrency=args.concurrency),
        "ray-1": RayEndpointsBackend(args.model, args.endpoint[:1], args.ray, concurrency=args.concurrency),
        "ray-2": RayEndpointsBackend(args.model, args.endpoint, args.ray, concurrency=args.concurrency),
    }
    for backend in arms.values():  # warm-up: server prompt caches, Ray actors and imports
        backend.generate(chats[:4], sampling)
    rates: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(args.rounds):
        for name, backend in arms.items():
            rates[name].append(timed(backend, chats, sampling))
        print(f"round {r}: " + ", ".join(f"{name} {rates[name][-1]:.1f} tok/s" for name in arms))
    med = {name: statistics.median(v) for name, v in rates.items()}
    print(f"\n{args.prompts} prompts, max_new_tokens {args.max_new_tokens}, concurrency {args.concurrency} per endpoint")
    print("| arm | tokens/s (median) |\n|---|---|")
    for name, value in med.items():
        print(f"| {name} | {value:.1f} |")
    print(f"\nray-1/direct (overhead): {med['ray-1'] / med['direct']:.3f}; "
          f"ray-2/ray-1 (scaling): {med['ray-2'] / med['ray-1']:.3f}")


if __name__ == "__main__":
    main()
