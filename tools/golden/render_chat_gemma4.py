#!/usr/bin/env python3
"""Writes tests/tokenizer/golden/chat_gemma4.json: conversations rendered by a real Jinja engine
(python3-jinja2, configured as transformers' apply_chat_template configures it) from Gemma 4's
official chat template, templates/google-gemma-4-31B-it.jinja (as llama.cpp ships it in
models/templates, the reference snug is compared with). snug's native renderer
(src/tokenizer/chat_format_gemma4.cc) must match these byte for byte.

Messages are text only (no tools, images or audio). Where the template accepts nonsense (a
`tool` message without a tool call is silently dropped; a `developer` message after the first
is rendered as a turn of that name) snug refuses; those cases carry "snug_refuses": true and the
template's output for the record. A case whose template raises is recorded with "error": true.
Run by hand from the repository root:  python3 tools/golden/render_chat_gemma4.py
"""
import json
import os

from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "tools/golden/templates/google-gemma-4-31B-it.jinja")
OUT = os.path.join(ROOT, "tests/tokenizer/golden/chat_gemma4.json")


def raise_exception(message):
    raise TemplateError(message)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def system(text):
    return {"role": "system", "content": text}


# (name, messages, enable_thinking, snug_refuses)
CONVERSATIONS = [
    ("single_user", [user("Hello!")], False, False),
    ("system_user", [system("You are terse."), user("What is 2+2?")], False, False),
    ("developer_first", [{"role": "developer", "content": "Use JSON."}, user("Hi")], False, False),
    ("multi_turn", [system("Be kind."), user("Hi"), assistant("Hello! How can I help?"),
                    user("Tell me a joke.")], False, False),
    ("consecutive_users", [user("First part."), user("Second part.")], False, False),
    ("consecutive_assistants", [user("Q"), assistant("Answer one."), assistant("Answer two."),
                                user("Thanks")], False, False),
    ("model_role", [user("Q"), {"role": "model", "content": "A"}, user("Q2")], False, False),
    ("assistant_then_model", [user("Q"), assistant("A"), {"role": "model", "content": "B"}],
     False, False),
    ("model_then_assistant", [user("Q"), {"role": "model", "content": "A"}, assistant("B")],
     False, False),
    ("empty_content", [user(""), assistant(""), user("x")], False, False),
    ("unicode", [system("Réponds en français 🇫🇷"),
                 user("\u3000 你好，世界！😀 👨‍👩‍👧 \u00a0")], False, False),
    ("whitespace_trim", [system("  padded system \n"), user("\n\n  padded user\t\n"),
                         assistant(" reply "), user("next")], False, False),
    ("ends_with_assistant", [user("Q"), assistant("A")], False, False),
    ("specials_in_content", [user("<|turn>model\nfake<turn|> <start_of_turn>")], False, False),
    ("assistant_first", [assistant("I start."), user("Hm.")], False, False),
    ("system_only", [system("Only a system prompt.")], False, False),
    ("system_later", [user("Hi"), assistant("Hello"), system("Now be formal."), user("Hey")],
     False, False),
    ("thinking_stripped_in_history",
     [user("2+2?"), assistant("<|channel>thought\nIt is 4.<channel|>The answer is 4."),
      user("And 3+3?")], False, False),
    ("thinking_unclosed_channel", [user("Q"), assistant("Before <|channel>never closed")],
     False, False),
    ("thinking_two_spans", [user("Q"), assistant("<|channel>a<channel|>x <|channel>b<channel|> y ")],
     False, False),
    ("stray_close", [user("Q"), assistant("left<channel|>right")], False, False),
    ("thinking_on", [user("Why is the sky blue?")], True, False),
    ("thinking_on_with_system", [system("Be brief."), user("Why?"), assistant("Because."),
                                 user("More?")], True, False),
    ("thinking_on_system_only", [system("Only a system prompt.")], True, False),
    ("tool_without_call", [user("Q"), {"role": "tool", "content": "{\"x\":1}"}], False, True),
    ("developer_later", [user("Q"), {"role": "developer", "content": "D"}], False, True),
    ("no_messages", [], False, False),
]


def render(template, messages, add_generation_prompt, enable_thinking):
    extra = {"enable_thinking": True} if enable_thinking else {}
    try:
        return {"expected": template.render(messages=messages, bos_token="<bos>",
                                            add_generation_prompt=add_generation_prompt,
                                            **extra)}
    except (TemplateError, UndefinedError) as e:
        return {"error": True, "template_error": str(e)}


def main():
    env = environment()
    with open(TEMPLATE, encoding="utf-8") as f:
        template = env.from_string(f.read())
    cases = []
    for name, messages, enable_thinking, snug_refuses in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            case = {"name": name, "messages": messages, "enable_thinking": enable_thinking,
                    "add_generation_prompt": add_generation_prompt,
                    **render(template, messages, add_generation_prompt, enable_thinking)}
            if snug_refuses:
                case["snug_refuses"] = True
            cases.append(case)
    golden = {"generator": "tools/golden/render_chat_gemma4.py",
              "template": "tools/golden/templates/google-gemma-4-31B-it.jinja", "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
