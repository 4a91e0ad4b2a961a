"""Local models through transformers: left-padded batched generation on CPU (bf16) or GPU."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from lessons.models.base import Chat, Completion, ModelInfo, SamplingParams


class TransformersBackend:
    """A Hugging Face causal LM from a local directory (or an embedded packaged model)."""

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        source: str | None = None,
        device: str = "auto",
        dtype: str = "bfloat16",
        batch_size: int = 16,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self.path = Path(path)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        self.model.to(device).eval()
        # Sampling is set only by SamplingParams: drop the checkpoint's own defaults
        # (repetition penalty, top-k, ...) so a run's recorded settings are the whole story.
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        # generate() pads finished sequences with pad_token_id: it ends a completion too
        self.stop_ids = self.eos_ids | {self.tokenizer.pad_token_id}
        self.base_config = GenerationConfig(
            eos_token_id=sorted(self.eos_ids),
            pad_token_id=self.tokenizer.pad_token_id,
            bos_token_id=self.model.config.bos_token_id,
        )
        self.info = ModelInfo(
            name=name or str(self.path),
            backend="transformers",
            source=source or str(self.path.resolve()),
            args={"dtype": dtype},
        )

    def render(self, prompt: Chat) -> str:
        if prompt and prompt[-1]["role"] == "assistant":
            # A trailing assistant message is a prefix to continue (rollouts from a step prefix):
            # leave its turn open instead of closing it and starting a new one.
            return self.tokenizer.apply_chat_template(
                prompt, tokenize=False, continue_final_message=True, add_generation_prompt=False
            )
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        per_call = max(1, self.batch_size // params.n)
        for start in range(0, len(prompts), per_call):
            out.extend(self._generate_batch(prompts[start : start + per_call], params))
        return out

    def _generate_batch(self, prompts: Sequence[Chat], params: SamplingParams) -> list[list[Completion]]:
        import torch

        # Greedy decoding gives the same text every time: decode once, repeat it n times.
        n_run = 1 if params.greedy else params.n
        texts = [self.render(p) for p in prompts for _ in range(n_run)]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        prompt_len = enc["input_ids"].shape[1]
        logprob = LogprobRecorder()
        processors = [logprob] if params.greedy else [logprob, TopKSampler(params.temperature, params.top_p)]
        config = _generation_config(self.base_config, params)
        torch.manual_seed(params.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            sequences = self.model.generate(
                **enc,
                generation_config=config,
                logits_processor=processors,
                tokenizer=self.tokenizer if params.stop else None,  # needed to match stop strings
            )
        latency = time.perf_counter() - started
        gen = sequences[:, prompt_len:].cpu()
        sums = logprob.finish(gen, self.stop_ids)
        prompt_tokens = enc["attention_mask"][::n_run].sum(dim=1).tolist()
        results: list[list[Completion]] = []
        for i in range(len(prompts)):
            row = []
            for j in range(params.n):
                k = i * n_run + (j if n_run > 1 else 0)
                row.append(self._completion(gen[k], prompt_tokens[i], sums[k], params, latency))
            results.append(row)
        return results

    def _completion(self, ids, prompt_tokens: int, logprob: float, params: SamplingParams, latency: float):
        ids = ids.tolist()
        n = len(ids)
        for pos, tok in enumerate(ids):
            if tok in self.stop_ids:
                n = pos + 1  # count the EOS itself, as servers do
                break
        text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
        hit_stop = n < len(ids) or (n > 0 and ids[n - 1] in self.stop_ids)
        for stop in params.stop:
            cut = text.find(stop)
            if cut != -1:
                text, hit_stop = text[:cut], True
        finish = "stop" if hit_stop or n < params.max_new_tokens else "length"
        return Completion(
            text=text, prompt_tokens=int(prompt_tokens), completion_tokens=n,
            finish_reason=finish, logprob=logprob, latency_s=latency,
        )


class LogprobRecorder:
    """Logits processor that sums, per sequence, the log-probability of each chosen token.

    generate() calls processors with the ids chosen so far and the next step's scores, so the
    token chosen at step t is only known at step t+1: keep the previous step's log-softmax and
    gather from it then. Memory is one (batch, vocab) tensor instead of every step's scores.
    Processors passed to generate() run before the temperature/top-p warpers, so this is the
    model's own distribution. Tokens after a sequence's EOS are padding and are not counted.
    """

    def __init__(self):
        self.prev = None  # (batch, vocab) log-probs from the previous step
        self.steps: list = []  # per step: (batch,) log-prob of the token chosen there

    def __call__(self, input_ids, scores):
        import torch

        if self.prev is not None:
            self.steps.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self.prev = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, gen, eos_ids: set[int]) -> list[float]:
        """`gen`: (batch, generated) token ids. Returns each sequence's summed log-prob."""
        import torch

        if self.prev is None or gen.shape[1] == 0:
            return [0.0] * gen.shape[0]
        last = self.prev.cpu().gather(1, gen[:, len(self.steps) : len(self.steps) + 1]).squeeze(1)
        per_token = torch.stack([s.cpu() for s in self.steps] + [last], dim=1)  # (batch, generated)
        is_eos = torch.zeros_like(gen, dtype=torch.bool)
        for eos in eos_ids:
            is_eos |= gen == eos
        # keep tokens up to and including the first EOS
        after_eos = (torch.cumsum(is_eos.int(), dim=1) - is_eos.int()) > 0
        return per_token.masked_fill(after_eos, 0.0).sum(dim=1).tolist()


def _eos_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config else None
    ids = ids if isinstance(ids, list) else [ids]
    ids = {i for i in ids if i is not None}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def _generation_config(base, params: SamplingParams):
    """Greedy decoding, always: sampling is done by `TopKSampler` among the processors."""
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=False, eos_token_id=base.eos_token_id, pad_token_id=base.pad_token_id,
        bos_token_id=base.bos_token_id, max_new_tokens=params.max_new_tokens, stop_strings=list(params.stop) or None,
    )


class TopKSampler:
    """Sampling at `temperature` (then `top_p`) among the `k` most likely tokens, as the last
    logits processor under greedy decoding: it draws a token and leaves only that one
    possible. On CPU, `torch.multinomial` over a 152k-token vocabulary costs 0.5 s a step at
    batch 64, as much as the model's forward pass; over the top 64 tokens it costs 0.08 s
    (both measured here, one thread). At temperature <= 1 the probability these models put
    beyond their 64 most likely tokens is negligible."""

    def __init__(self, temperature: float, top_p: float = 1.0, k: int = 64):
        self.temperature, self.top_p, self.k = temperature, top_p, k

    def __call__(self, input_ids, scores):
        import torch

        values, index = torch.topk(scores, min(self.k, scores.shape[-1]), dim=-1)  # the order ignores temperature
        probs = torch.softmax(values.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:  # the smallest head of the distribution holding top_p
            probs = probs * ((probs.cumsum(dim=-1) - probs) < self.top_p)
        token = index.gather(-1, torch.multinomial(probs, 1))
        return scores.fill_(float("-inf")).scatter_(-1, token, 0.0)  # in place: no (batch, vocab) allocation
