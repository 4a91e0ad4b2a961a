"""A backend that spreads a batch over many OpenAI-compatible endpoints with Ray Data.

The driver's runner calls `generate` as with any backend and alone writes the mistake log,
so batching, idempotent keys and resuming are the runner's as today. Here a batch becomes a
Ray Data dataset of rows {index, prompt, endpoint}; `map_batches` sends it through a pool of
actors (one per endpoint), each holding an `OpenAIBackend` per endpoint. A row goes to the
endpoint it was assigned (endpoints take contiguous shares of the batch); when that endpoint
fails for good the rest of its rows go to the next live one, and the batch fails with one
error only when none is left. Results come back to the driver in prompt order, with the
endpoints that died: the driver remembers them, so later batches go to the live ones only
(a dead endpoint costs its timeout once, not once per batch).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Callable, Sequence

from lessons.models.base import BackendError, Chat, Completion, ModelInfo, SamplingParams

RAY_MISSING = "Ray is not installed: pip install 'lessons[ray]'"
LOCAL_CPUS = 2  # a local cluster started by `--ray` / `--ray local`


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  # the part this backend uses
    except ImportError as err:
        raise ValueError(RAY_MISSING) from err
    return ray


def connect(address: str | None) -> None:
    """Join the cluster at `address`, or start a local one for None, '' or 'local'."""
    ray = import_ray()
    if ray.is_initialized():
        return
    if address in (None, "", "local"):
        ray.init(num_cpus=LOCAL_CPUS, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    else:
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    quiet_ray_data()


def quiet_ray_data() -> None:
    """No INFO lines and progress bars from Ray Data between the CLI's own bars."""
    import logging

    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


class EndpointFailover:
    """Serve rows on their assigned endpoint, moving to the next live endpoint when one
    fails for good. `make_backend(url)` builds the backend for an endpoint (an
    `OpenAIBackend` in use; a scripted one in tests). Dead endpoints stay dead for the
    life of this object."""

    def __init__(self, endpoints: Sequence[str], make_backend: Callable[[str], Any]):
        if not endpoints:
            raise ValueError("no endpoints given")
        self.endpoints = list(endpoints)
        self._make_backend = make_backend
        self._backends: dict[str, Any] = {}
        self.dead: dict[str, str] = {}  # endpoint -> why

    def generate(self, chats: Sequence[Chat], slots: Sequence[int], params: SamplingParams) -> list[list[Completion]]:
        """Completions for each chat; `slots[i]` is the index of chat i's preferred endpoint."""
        results: dict[int, list[Completion]] = {}
        for slot in sorted(set(slots)):
            rows = [i for i, s in enumerate(slots) if s == slot]
            results.update(self._serve(rows, chats, slot, params))
        return [results[i] for i in range(len(chats))]

    def _serve(self, rows: list[int], chats: Sequence[Chat], slot: int, params: SamplingParams) -> dict[int, list[Completion]]:
        done: dict[int, list[Completion]] = {}
        n = len(self.endpoints)
        for url in (self.endpoints[(slot + j) % n] for j in range(n)):
            if url in self.dead:
                continue
            todo = [i for i in rows if i not in done]
            try:
                out = self._backend(url).generate([chats[i] for i in todo], params)
            except BackendError as err:
                self.dead[url] = str(err)
                done.update({todo[k]: c for k, c in err.partial.items()})
                continue
            done.update(zip(todo, out))
            return done
        reasons = "; ".join(self.dead.values())
        raise BackendError(f"every endpoint failed ({len(self.dead)} of {n}): {reasons}", done)

    def _backend(self, url: str) -> Any:
        if url not in self._backends:
            self._backends[url] = self._make_backend(url)
        return self._backends[url]


class _EndpointActor:
    """A Ray Data actor: one per endpoint, each able to reach them all."""

    def __init__(self, model: str, endpoints: list[str], api_key: str | None, concurrency: int):
        from lessons.models.openai_compat import OpenAIBackend

        self.failover = EndpointFailover(
            endpoints, lambda url: OpenAIBackend(model=model, base_url=url, api_key=api_key, concurrency=concurrency))

    def __call__(self, batch: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        sampling = SamplingParams(**{**params, "stop": tuple(params["stop"])})
        chats = [json.loads(p) for p in batch["prompt"]]
        out = self.failover.generate(chats, [int(s) for s in batch["slot"]], sampling)
        dead = json.dumps(self.failover.dead)
        return {"index": batch["index"], "completions": [json.dumps([asdict(c) for c in row]) for row in out],
                "dead": [dead] * len(out)}


class RayEndpointsBackend:
    def __init__(self, model: str, endpoints: Sequence[str], address: str | None = None,
                 api_key: str | None = None, concurrency: int = 8):
        if not endpoints:
            raise ValueError(f"model openai:{model} with --ray needs endpoints: pass --endpoint URL (repeatable)")
        import_ray()  # fail at once, before any work, when Ray is absent
        self.model = model
        self.endpoints = list(endpoints)
        self.address = address
        self.api_key = api_key
        self.concurrency = concurrency
        self.dead: dict[str, str] = {}  # endpoint -> why, as the actors found it: not asked again
        # The same model version whatever endpoint served a prompt: the endpoints are args only.
        self.info = ModelInfo(name=f"openai:{model}", backend="openai", source=f"openai:{model}",
                              args={"model": model, "endpoints": self.endpoints, "ray": address or "local",
                                    "concurrency": concurrency})

    def generate(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        if not prompts or params.n < 1:
            return [[] for _ in prompts]
        live = [url for url in self.endpoints if url not in self.dead]
        if not live:
            raise BackendError(f"every endpoint failed ({len(self.dead)} of {len(self.endpoints)}): "
                               + "; ".join(self.dead.values()))
        connect(self.address)
        import ray.data

        n, e = len(prompts), len(live)
        rows = [{"index": i, "prompt": json.dumps(p), "slot": i * e // n} for i, p in enumerate(prompts)]
        ds = ray.data.from_items(rows).map_batches(
            _EndpointActor,
            fn_constructor_kwargs={"model": self.model, "endpoints": live, "api_key": self.api_key,
                                   "concurrency": self.concurrency},
            fn_kwargs={"params": asdict(params)},
            batch_size=max(1, -(-n // e)), concurrency=e, num_cpus=0.25,
        )
        try:
            out = ds.take_all()
        except Exception as err:  # Ray wraps the actor's BackendError in its own task error
            raise BackendError(_actor_error(err)) from err
        for r in out:
            self.dead.update(json.loads(r["dead"]))
        by_index = {int(r["index"]): [Completion(**c) for c in json.loads(r["completions"])] for r in out}
        return [by_index[i] for i in range(n)]


def _actor_error(err: BaseException) -> str:
    """The BackendError's own one line from inside Ray's wrapping, when there is one."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, BackendError):
            return str(cur)
        cur = cur.__cause__ or cur.__context__
    text = str(err)
    marker = "BackendError: "
    if marker in text:
        return text.split(marker)[-1].strip().splitlines()[0]
    return " ".join(text.split())[:500]
