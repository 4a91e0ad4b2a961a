"""Spreading a batch over endpoints: the failover logic (fast, scripted endpoints), and
Ray with real llama.cpp servers, one of them killed mid-run (slow)."""

from __future__ import annotations

from collections import Counter

import pytest

from lessons.models.base import BackendError, Completion, SamplingParams
from lessons.models.openai_compat import OpenAIBackend
from lessons.models.ray_pool import EndpointFailover

PARAMS = SamplingParams(max_new_tokens=8)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


class FakeEndpoint:
    """Answers `<url>:<message>`; `dead` fails every call after `serve` prompts."""

    def __init__(self, url: str, dead: bool = False, serve: int = 0):
        self.url, self.dead, self.serve = url, dead, serve
        self.seen: list[str] = []

    def generate(self, prompts, params):
        out = [[Completion(f"{self.url}:{p[-1]['content']}", 1, 1, "stop")] for p in prompts]
        if self.dead:
            self.seen += [p[-1]["content"] for p in prompts[: self.serve]]
            raise BackendError(f"endpoint {self.url} unreachable", {i: out[i] for i in range(self.serve)})
        self.seen += [p[-1]["content"] for p in prompts]
        return out


def failover(*endpoints: FakeEndpoint) -> EndpointFailover:
    by_url = {e.url: e for e in endpoints}
    return EndpointFailover(list(by_url), by_url.__getitem__)


def test_rows_of_a_dead_endpoint_go_to_the_next_live_one_in_order():
    a, b = FakeEndpoint("a"), FakeEndpoint("b", dead=True, serve=1)
    pool = failover(a, b)
    out = pool.generate([chat(str(i)) for i in range(4)], [0, 0, 1, 1], PARAMS)

    # Row 2 was served by b before it died (kept from `partial`), row 3 then went to a.
    assert [row[0].text for row in out] == ["a:0", "a:1", "b:2", "a:3"]
    assert list(pool.dead) == ["b"]
    assert sorted(a.seen + b.seen) == ["0", "1", "2", "3"]  # nothing asked twice


def test_one_clear_error_when_no_endpoint_is_left():
    pool = failover(FakeEndpoint("a", dead=True), FakeEndpoint("b", dead=True))
    with pytest.raises(BackendError, match=r"every endpoint failed \(2 of 2\): endpoint a unreachable; endpoint b"):
        pool.generate([chat("x"), chat("y")], [0, 1], PARAMS)


def test_a_refused_endpoint_fails_over_to_a_live_server(scripted_chat_server, closed_loopback_url):
    urls = [closed_loopback_url, scripted_chat_server.base_url]
    pool = EndpointFailover(urls, lambda url: OpenAIBackend("m", url, max_retries=0, backoff_s=0.0))
    out = pool.generate([chat("one"), chat("two")], [0, 1], PARAMS)

    assert [row[0].text for row in out] == ["one #0", "two #0"]
    assert "Connection refused" in pool.dead[closed_loopback_url]


def test_ray_without_endpoints_says_what_to_pass():
    from lessons.models import ModelOptions, resolve_model

    with pytest.raises(ValueError, match="2 endpoints need --ray"):
        resolve_model("openai:m", ModelOptions(endpoints=("http://a/v1", "http://b/v1")))


# --- Ray and two real servers -----------------------------------------------------------------

@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'lessons[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_eval_on_ray_survives_a_killed_endpoint_with_exactly_40_attempts(
    local_ray, two_llama_servers, run_cli, tmp_path, monkeypatch,
):
    (url_a, _), (url_b, proc_b) = two_llama_servers
    db = tmp_path / "log.db"
    common = ["eval", "--model", "openai:smollm2-135m", "--ray", "local", "--endpoint", url_a, "--endpoint", url_b,
              "--suite", "arith", "--run", "ray40", "--max-new-tokens", "16", "--batch-size", "10",
              "--concurrency", "2", "--limit", "40", "--db", db]
    from lessons.store import Store

    original = Store.add_attempts

    def kill_b_after_first_batch(self, attempts):  # mid-run, at a fixed point: not timing-based
        written = original(self, attempts)
        if proc_b.poll() is None:
            proc_b.terminate()
            proc_b.wait(timeout=30)
        return written

    monkeypatch.setattr(Store, "add_attempts", kill_b_after_first_batch)
    run_cli(*common)  # 4 batches: the first on both endpoints, then b's share fails over to a
    monkeypatch.setattr(Store, "add_attempts", original)
    run_cli(*common)  # a re-run of the finished run adds nothing

    store = Store.open(str(db))
    run = store.get_run("ray40")
    attempts = store.attempts(run.id)
    keys = Counter((a.task_id, a.sample) for a in attempts)
    assert len(attempts) == 40
    assert max(keys.values()) == 1
    assert proc_b.returncode is not None  # b did die mid-run


@pytest.mark.slow
def test_the_driver_remembers_a_dead_endpoint_so_later_batches_skip_it(local_ray, scripted_chat_server,
                                                                       another_chat_server):
    """An endpoint that failed a batch is not asked again, even once it would answer: its
    rows go to the live endpoints from the start (a dead endpoint costs its timeout once)."""
    from lessons.models.ray_pool import RayEndpointsBackend

    down = another_chat_server
    down.fail_always, down.retry_after = "503", "0"
    backend = RayEndpointsBackend("m", [down.base_url, scripted_chat_server.base_url], address="local")
    first = backend.generate([chat("one"), chat("two")], PARAMS)
    assert [row[0].text for row in first] == ["one #0", "two #0"]  # the failed share went to the live one
    assert list(backend.dead) == [down.base_url]
    down.fail_always = None  # it would answer now; the driver does not ask it
    asked = len(down.requests)
    second = backend.generate([chat("three"), chat("four")], PARAMS)
    assert [row[0].text for row in second] == ["three #0", "four #0"]
    assert len(down.requests) == asked
