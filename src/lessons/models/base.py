"""The backend interface: a batch of chat prompts in, n completions per prompt out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, Sequence

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}
Chat = list[Message]
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1  # samples per prompt
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    max_new_tokens: int = 512
    seed: int = 0
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    logprob: float | None = None  # sum of token log-probabilities, when the backend gives them
    latency_s: float = 0.0  # wall time of the request (batch) that produced it


@dataclass(frozen=True)
class ModelInfo:
    """Identity of a model version, as recorded in the mistake log."""

    name: str  # what the user typed or the registered name
    backend: str  # "transformers", "openai", ...
    source: str  # where the weights or endpoint come from
    args: dict = field(default_factory=dict, hash=False, compare=False)


class Backend(Protocol):
    info: ModelInfo

    def generate(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        """Return, for each prompt, `params.n` completions, in order."""
        ...


class BackendError(RuntimeError):
    """A backend failed for good (after its retries). `partial` maps prompt index to the
    completions that did finish before the failure, so the caller can keep them."""

    def __init__(self, message: str, partial: dict[int, list[Completion]] | None = None):
        super().__init__(message)
        self.partial = partial or {}
