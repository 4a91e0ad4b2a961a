"""Backend for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs).

Each of the n samples of a prompt is its own request, since many servers (llama.cpp among
them) ignore `n`; sample k is sent with seed `params.seed + k` so samples differ when
temperature > 0 and a rerun asks for the same ones. Requests run in a thread pool of
`concurrency` workers. Retries are ours (the client's own are off) so that backoff,
the attempt count and the final error message are under one roof.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Sequence

from lessons.models.base import BackendError, Chat, Completion, ModelInfo, SamplingParams

MAX_BACKOFF_S = 30.0  # cap on one wait between attempts, whatever the attempt number
MAX_RETRY_AFTER_S = 60.0  # cap on a server's Retry-After, so a bad header cannot stall a run
RETRYABLE_STATUS = frozenset({408, 429})  # plus every 5xx; other 4xx fail at once
LOGPROB_REJECT_STATUS = frozenset({400, 422})  # how servers that do not know `logprobs` refuse it


class _Retryable(Exception):
    """One failed attempt worth repeating; `retry_after` is the server's hint in seconds."""

    def __init__(self, reason: str, unreachable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable
        self.retry_after = retry_after


class _Stopped(Exception):
    """Raised in a worker when another request already failed the batch."""


class OpenAIBackend:
    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        concurrency: int = 8,  # requests in flight at once, across the whole batch
        timeout_s: float = 120.0,  # per request
        max_retries: int = 4,  # attempts = max_retries + 1
        backoff_s: float = 0.5,  # first wait; doubles each attempt, with jitter
    ):
        from openai import OpenAI  # lazy: only this backend needs the client

        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.base_url = base_url
        self.concurrency = concurrency
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        # The key is deliberately absent from `info`: it is written to the mistake log.
        self.info = ModelInfo(
            name=f"openai:{model}",
            backend="openai",
            source=base_url,
            args={"model": model, "base_url": base_url, "concurrency": concurrency, "timeout_s": timeout_s,
                  "max_retries": max_retries, "backoff_s": backoff_s},
        )
        # Local servers take any key, but the client refuses to start without one.
        self._client = OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout_s, max_retries=0)
        self._use_logprobs = True  # turned off for good once the server refuses them
        self._rng = random.Random()  # jitter only; never affects outputs

    def generate(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        if not prompts or params.n < 1:
            return [[] for _ in prompts]
        results: list[list[Completion | None]] = [[None] * params.n for _ in prompts]
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai-backend")
        futures: dict[Future, tuple[int, int]] = {
            pool.submit(self._request_with_retries, chat, params, k, stop): (i, k)
            for i, chat in enumerate(prompts)
            for k in range(params.n)
        }
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # e.g. KeyboardInterrupt: leave no worker behind
            _abandon(pool, stop)
            raise
        failed = next((f for f in done if f.exception() is not None), None)
        if failed is not None:
            _abandon(pool, stop)
        # Collect after stopping, so that everything that finished counts towards `partial`.
        for fut, (i, k) in futures.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                results[i][k] = fut.result()
        if failed is None:
            pool.shutdown(wait=True)
            return results  # type: ignore[return-value]  # every slot is filled when none failed
        err = failed.exception()
        if isinstance(err, BackendError):
            partial = {i: list(row) for i, row in enumerate(results) if all(c is not None for c in row)}
            raise BackendError(str(err), partial) from err
        raise err  # type: ignore[misc]  # a bug, not an endpoint failure: let it show as is

    def _request_with_retries(self, chat: Chat, params: SamplingParams, k: int, stop: threading.Event) -> Completion:
        attempts = self.max_retries + 1
        last = _Retryable("no attempt made", unreachable=True)
        for attempt in range(attempts):
            if stop.is_set():
                raise _Stopped()
            try:
                return self._request(chat, params, k)
            except _Retryable as failure:
                last = failure
                if attempt + 1 < attempts and stop.wait(self._delay(attempt, failure.retry_after)):
                    raise _Stopped() from None
        what = "unreachable" if last.unreachable else "kept failing"
        raise BackendError(f"endpoint {self.base_url} {what} after {attempts} attempts: {last.reason}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        # Equal jitter: half the exponential step fixed, half random, so many workers
        # retrying at once spread out yet each still waits at least half the step.
        step = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)
        delay = step / 2 + self._rng.uniform(0, step / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        return delay

    def _request(self, chat: Chat, params: SamplingParams, k: int) -> Completion:
        import openai

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": chat,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "seed": params.seed + k,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if chat and chat[-1]["role"] == "assistant":
            # Continue the trailing assistant message (a step prefix) rather than answer it;
            # vLLM's convention, which other servers ignore or refuse.
            kwargs["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        start = time.perf_counter()
        try:
            response = self._create(kwargs)
        except openai.APIConnectionError as err:  # includes APITimeoutError
            raise _Retryable(_root_cause(err), unreachable=True) from err
        except openai.APIStatusError as err:
            status = err.status_code
            reason = f"HTTP {status}: {_server_message(err)}"
            if status >= 500 or status in RETRYABLE_STATUS:
                raise _Retryable(reason, unreachable=False, retry_after=_retry_after(err)) from err
            raise BackendError(f"endpoint {self.base_url} rejected the request ({reason})") from err
        except openai.OpenAIError as err:  # e.g. a body that is not a chat completion
            raise BackendError(f"endpoint {self.base_url} gave an unusable response: {err}") from err
        # A malformed body is retried like a 5xx: servers mid-restart and proxies answering for
        # them send such bodies for a while; one that stays malformed fails after as many attempts.
        except json.JSONDecodeError as err:  # the client does not wrap its parse of a JSON content type
            raise _Retryable(f"malformed response: invalid JSON ({err})", unreachable=False) from err
        try:
            return _to_completion(response, time.perf_counter() - start)
        except ValueError as err:
            raise _Retryable(f"malformed response: {err}", unreachable=False) from err

    def _create(self, kwargs: dict[str, Any]) -> Any:
        import openai

        create = self._client.chat.completions.create
        if not self._use_logprobs:
            return create(**kwargs)
        try:
            # top_logprobs=0: llama-cpp-python returns no logprobs for `logprobs=True` alone.
            return create(**kwargs, logprobs=True, top_logprobs=0)
        except openai.APIStatusError as err:
            if err.status_code not in LOGPROB_REJECT_STATUS:
                raise
        # The refusal may be about logprobs or about something else; only a success
        # without them proves it was logprobs, so only then is the choice remembered.
        response = create(**kwargs)
        self._use_logprobs = False
        return response


def _abandon(pool: ThreadPoolExecutor, stop: threading.Event) -> None:
    """Stop quickly: drop queued requests and wake workers sleeping in backoff. Requests
    already on the wire finish in the background, bounded by the client's timeout."""
    stop.set()
    pool.shutdown(wait=False, cancel_futures=True)


def _to_completion(response: Any, latency_s: float) -> Completion:
    """The first choice as a Completion; ValueError for a body that is not a chat completion
    (the client builds its objects without validation, so any shape can arrive here)."""
    if not getattr(response, "choices", None):
        raise ValueError(f"no choices in {_one_line(str(response))[:300]}")
    try:
        choice = response.choices[0]
        text = (choice.message.content if choice.message else None) or ""
    except (AttributeError, KeyError, TypeError) as err:
        raise ValueError(f"no message in {_one_line(str(response.choices))[:300]}") from err
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason="length" if choice.finish_reason == "length" else "stop",
        logprob=_sum_logprobs(choice),
        latency_s=latency_s,
    )


def _sum_logprobs(choice: Any) -> float | None:
    tokens = getattr(getattr(choice, "logprobs", None), "content", None)
    if not tokens:
        return None
    values = [t.logprob for t in tokens if getattr(t, "logprob", None) is not None]
    return float(sum(values)) if values else None


def _root_cause(err: BaseException) -> str:
    """The innermost cause, e.g. 'Connection refused' rather than the client's 'Connection error.'."""
    import openai

    if isinstance(err, openai.APITimeoutError):
        return "request timed out"
    seen: set[int] = set()
    while (err.__cause__ or err.__context__) is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _server_message(err: Any) -> str:
    """The server's own words: OpenAI-style {'error': {'message'}} (the client unwraps
    'error'), FastAPI's {'detail'}, or the raw body."""
    body = err.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body
    else:
        message = body or err.message
    return _one_line(str(message))[:500]


def _one_line(text: str) -> str:
    """Whitespace folded, so that a server's HTML error page cannot break the one-line error."""
    return " ".join(text.split())


def _retry_after(err: Any) -> float | None:
    value = err.response.headers.get("retry-after") if getattr(err, "response", None) is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare enough to fall back to our own backoff
        return None
