"""Local models through transformers: left-padded batched decoding on CPU or GPU, each
sequence leaving the batch when it ends, in bf16 where the hardware has bf16 arithmetic
and in float32 where it does not (`compute_dtype`)."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Sequence

from lessons.models.base import Chat, Completion, ModelInfo, SamplingParams

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bf16 matmul units


@functools.cache
def compute_dtype(device: str = "cpu") -> str:
    """The dtype local models compute in on `device`: bf16 on a GPU that supports it and on a
    CPU with bf16 units (AVX512-BF16 or AMX), else float32. On an x86 CPU without them
    torch emulates bf16 and a linear layer of the embedded model ran 4x slower in bf16
    than in float32 (one thread, 128 x 896 by 896 x 4864: 39 ms against 9.6 ms), which
    made every generation and training step about that much slower."""
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: trust torch's own answer
        return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
    return cpu_dtype(flags)


def cpu_dtype(flags: Sequence[str]) -> str:
    """bf16 for a CPU whose flags name bf16 units, else float32."""
    return "bfloat16" if any(f in flags for f in BF16_CPU_FLAGS) else "float32"


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def transformers_info(name: str, source: str, dtype: str | None = None) -> ModelInfo:
    """A local model's identity in the mistake log: one rule for the backend that loads it
    and for `lessons train`, which registers a trained version before anything loads it,
    so both give the same version id. The dtype is part of it: bf16 and float32 answers
    differ, so a machine that computes in the other one makes another version's runs."""
    return ModelInfo(name=name, backend="transformers", source=source,
                     args={"dtype": dtype or compute_dtype(default_device())})


class TransformersBackend:
    """A Hugging Face causal LM from a local directory (or an embedded packaged model)."""

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        source: str | None = None,
        device: str = "auto",
        dtype: str | None = None,
        batch_size: int = 16,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = Path(path)
        if device == "auto":
            device = default_device()
        self.device = device
        dtype = dtype or compute_dtype(device)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        self.model.to(device).eval()
        # Decoding is `_decode`, set only by SamplingParams: the checkpoint's own generation
        # defaults (repetition penalty, top-k, ...) play no part, so a run's recorded
        # settings are the whole story. A pad token ends a completion as EOS does.
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.stop_ids = self.eos_ids | {self.tokenizer.pad_token_id}
        self.info = transformers_info(name or str(self.path), source or str(self.path.resolve()), dtype)

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
        torch.manual_seed(params.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            gen, sums = self._decode(enc["input_ids"], enc["attention_mask"], params)
        latency = time.perf_counter() - started
        prompt_tokens = enc["attention_mask"][::n_run].sum(dim=1).tolist()
        results: list[list[Completion]] = []
        for i in range(len(prompts)):
            row = []
            for j in range(params.n):
                k = i * n_run + (j if n_run > 1 else 0)
                row.append(self._completion(gen[k], prompt_tokens[i], sums[k], params, latency))
            results.append(row)
        return results

    def _decode(self, ids, mask, params: SamplingParams) -> tuple[list[list[int]], list[float]]:
        """Each sequence's new tokens (up to and including its EOS) and their summed
        log-probability under the model's own distribution.

        `model.generate()` keeps a finished sequence in the batch, padding it, until the
        last one ends; on CPU every row costs the same, and one 320-token ramble in a batch
        of 128 answers that average 160 tokens made half the work padding. Here a
        sequence leaves the batch (its rows of the KV cache too) once an eighth of the batch
        has ended: benchmarks/decode_speed.py measures the two side by side."""
        import torch
        from transformers import DynamicCache

        stop_ids = torch.tensor(sorted(self.stop_ids), device=ids.device)
        rows = list(range(ids.shape[0]))  # which sequence each batch row holds
        tokens: list[list[int]] = [[] for _ in rows]
        sums = [0.0] * len(rows)
        ended = torch.zeros(len(rows), dtype=torch.bool, device=ids.device)
        cache = DynamicCache(config=self.model.config)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        step_ids, step_positions = ids, positions
        for _ in range(params.max_new_tokens):
            logits = self.model(input_ids=step_ids, attention_mask=mask, position_ids=step_positions,
                                cache=cache, use_cache=True, logits_to_keep=1).logits[:, -1, :].float()
            token = logits.argmax(-1) if params.greedy else sample_top_k(logits, params.temperature, params.top_p)
            chosen = torch.log_softmax(logits, dim=-1).gather(1, token[:, None]).squeeze(1).tolist()
            for i, (t, lp, done) in enumerate(zip(token.tolist(), chosen, ended.tolist())):
                if not done:
                    tokens[rows[i]].append(t)
                    sums[rows[i]] += lp
            ended |= torch.isin(token, stop_ids)
            if params.stop:  # a stop string may end a sequence before any stop token
                for i in range(len(rows)):
                    tail = self.tokenizer.decode(tokens[rows[i]][-16:], skip_special_tokens=True)
                    ended[i] |= any(s in tail for s in params.stop)
            if ended.all():
                break
            step_positions = step_positions[:, -1:] + 1
            if int(ended.sum()) >= max(1, len(rows) // 8):
                keep = (~ended).nonzero().squeeze(1)
                cache.batch_select_indices(keep)
                mask, token, step_positions = mask[keep], token[keep], step_positions[keep]
                rows = [rows[i] for i in keep.tolist()]
                ended = ended[keep]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            step_ids = token[:, None]
        return tokens, sums

    def _completion(self, ids: list[int], prompt_tokens: int, logprob: float, params: SamplingParams,
                    latency: float) -> Completion:
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


def _eos_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config else None
    ids = ids if isinstance(ids, list) else [ids]
    ids = {i for i in ids if i is not None}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def sample_top_k(logits, temperature: float, top_p: float = 1.0, k: int = 64):
    """One token per row, drawn at `temperature` (then `top_p`) among the row's `k` most
    likely tokens. On CPU, `torch.multinomial` over a 152k-token vocabulary costs 0.5 s a
    step at batch 64, as much as the model's forward pass; over the top 64 tokens it costs
    0.08 s (both measured here, one thread). At temperature <= 1 the probability these
    models put beyond their 64 most likely tokens is negligible."""
    import torch

    values, index = torch.topk(logits, min(k, logits.shape[-1]), dim=-1)  # the order ignores temperature
    probs = torch.softmax(values.float() / temperature, dim=-1)
    if top_p < 1.0:  # the smallest head of the distribution holding top_p
        probs = probs * ((probs.cumsum(dim=-1) - probs) < top_p)
    return index.gather(-1, torch.multinomial(probs, 1)).squeeze(-1)
