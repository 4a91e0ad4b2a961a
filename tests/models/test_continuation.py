"""Assistant-prefix continuation: a chat ending in an assistant message is continued, not answered."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

# A ChatML-like template that keeps message text verbatim, as Qwen's and SmolLM2's do.
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def backend():
    """A TransformersBackend with a tiny word-level tokenizer and no model: render() needs only
    the tokenizer, so the test loads no weights."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from lessons.models.hf import TransformersBackend

    raw = Tokenizer(models.WordLevel({"<unk>": 0, "<|im_start|>": 1, "<|im_end|>": 2}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", eos_token="<|im_end|>")
    tokenizer.chat_template = CHATML
    backend = object.__new__(TransformersBackend)
    backend.tokenizer = tokenizer
    return backend


def test_user_last_opens_a_new_assistant_turn(backend):
    text = backend.render([{"role": "user", "content": "What is 2 + 3?"}])
    assert text == "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"


def test_assistant_last_is_continued_with_its_trailing_newline(backend):
    chat = [
        {"role": "system", "content": "Solve it."},
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "Step 1: 2 + 3 = 5\n"},
    ]
    text = backend.render(chat)
    assert text.endswith("<|im_start|>assistant\nStep 1: 2 + 3 = 5\n")  # turn left open: no <|im_end|>
    assert text.count("<|im_start|>assistant") == 1
    assert chat[-1]["content"] == "Step 1: 2 + 3 = 5\n"  # the caller's chat is untouched


def test_openai_backend_asks_the_server_to_continue(scripted_chat_server):
    from lessons.models.base import SamplingParams
    from lessons.models.openai_compat import OpenAIBackend

    api = OpenAIBackend("m", scripted_chat_server.base_url, max_retries=0)
    prefix = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Step 1:"}]
    api.generate([[{"role": "user", "content": "q"}], prefix], SamplingParams())
    by_last_role = {body["messages"][-1]["role"]: body for body in scripted_chat_server.requests}
    assert by_last_role["assistant"]["continue_final_message"] is True
    assert by_last_role["assistant"]["add_generation_prompt"] is False
    assert "continue_final_message" not in by_last_role["user"]
