#!/usr/bin/env python3
"""Writes tests/tokenizer/golden/chat_tools.json: conversations WITH TOOLS (declarations,
assistant tool calls, tool results) rendered by a real Jinja engine (python3-jinja2, configured
as transformers' apply_chat_template configures it, including its `tojson` filter) from the
official templates of Harmony (gpt-oss), Gemma 4 and Llama 3.2. snug's renderers
(src/tokenizer/chat_format*.cc, chat_tools.cc) must match these byte for byte.

Tool-call arguments are given to the templates as objects, as vLLM and llama.cpp pass them
(OpenAI clients send a JSON string, which snug parses first). Where a template silently drops
something (Harmony renders only a message's first tool call) snug refuses: "snug_refuses": true.
A case whose template raises is recorded with "error": true.
Run by hand from the repository root:  python3 tools/golden/render_chat_tools.py
"""
import json
import os

from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATES = {
    "harmony": "tools/golden/templates/openai-gpt-oss-120b.jinja",
    "gemma4": "tools/golden/templates/google-gemma-4-31B-it.jinja",
    "llama3": "tools/golden/templates/llama-3.2-instruct.jinja",
}
BOS = {"harmony": "", "gemma4": "<bos>", "llama3": "<|begin_of_text|>"}
OUT = os.path.join(ROOT, "tests/tokenizer/golden/chat_tools.json")
HARMONY_DATE = "2024-07-26"
LLAMA_DATE = "26 Jul 2024"


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(fmt):
    assert fmt == "%Y-%m-%d", fmt
    return HARMONY_DATE


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers.utils.chat_template_utils: the filter every HF chat template sees.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.filters["tojson"] = tojson
    return env


def function(name, description, parameters):
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": parameters}}


WEATHER = function("get_weather", "Get the current weather in a city.", {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city name."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                 "description": "Temperature unit."},
    },
    "required": ["city"],
})
SEARCH = function("search", "Search the web.", {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "limit": {"type": "integer", "default": 5},
        "tags": {"type": "array", "items": {"type": "string"}},
        "exact": {"type": "boolean"},
        "score": {"type": "number"},
        "filters": {"type": "object", "description": "Narrow the results.",
                    "properties": {"site": {"type": "string"}, "recent": {"type": "boolean"}},
                    "required": ["site"]},
        "mode": {"type": "string", "nullable": True},
    },
    "required": ["query"],
})
NO_PARAMETERS = function("get_time", "Current time.", {"type": "object", "properties": {}})
TOOLS = [WEATHER, SEARCH, NO_PARAMETERS]


def user(text):
    return {"role": "user", "content": text}


def system(text):
    return {"role": "system", "content": text}


def call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def calls(*tool_calls, content=None):
    message = {"role": "assistant", "tool_calls": list(tool_calls)}
    if content is not None:
        message["content"] = content
    return message


def result(call_id, text):
    return {"role": "tool", "tool_call_id": call_id, "content": text}


PARIS = call("call_1", "get_weather", {"city": "Paris", "unit": "celsius"})
ROME = call("call_2", "get_weather", {"city": "Rome"})
SEARCHED = call("call_3", "search", {"query": "snug \"server\"", "limit": 3, "tags": ["a", "b"],
                                     "exact": True, "score": 0.5})

# (name, messages, formats, options): options are enable_thinking (Gemma 4) and refuses
# (formats snug refuses although the template renders).
CONVERSATIONS = [
    ("tools_declared", [user("What is the weather in Paris?")], {}),
    ("tools_with_system", [system("Be brief."), user("Weather in Paris?")], {}),
    ("call_then_result", [user("Weather in Paris?"), calls(PARIS),
                          result("call_1", "{\"temperature\": 21}")], {}),
    ("call_result_answer", [system("Be brief."), user("Weather in Paris?"), calls(PARIS),
                            result("call_1", "{\"temperature\": 21}"),
                            {"role": "assistant", "content": "It is 21 degrees."},
                            user("And in Rome?")], {}),
    ("call_with_preamble", [user("Find snug."), calls(SEARCHED, content="Let me search."),
                            result("call_3", "3 results")], {}),
    ("two_rounds", [user("Weather?"), calls(PARIS), result("call_1", "sunny"), calls(ROME),
                    result("call_2", "rain")], {}),
    ("parallel_calls", [user("Paris and Rome?"), calls(PARIS, ROME),
                        result("call_1", "sunny"), result("call_2", "rain")],
     {"refuses": ["harmony"]}),
    ("thinking_with_tools", [user("Weather in Paris?"),
                             dict(calls(PARIS), reasoning="I should call the tool."),
                             result("call_1", "sunny")], {"enable_thinking": True}),
]


# Every case declares TOOLS (the golden file lists them once, as "tools").
def render(template, fmt, messages, add_generation_prompt, enable_thinking):
    extra = {}
    if fmt == "llama3":
        extra["date_string"] = LLAMA_DATE
    if enable_thinking:
        extra["enable_thinking"] = True
    try:
        return {"expected": template.render(messages=messages, tools=TOOLS, bos_token=BOS[fmt],
                                            add_generation_prompt=add_generation_prompt,
                                            **extra)}
    except (TemplateError, UndefinedError, TypeError) as e:
        return {"error": True, "template_error": str(e)}


def main():
    env = environment()
    cases = []
    for fmt, path in TEMPLATES.items():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            template = env.from_string(f.read())
        for name, messages, options in CONVERSATIONS:
            enable_thinking = options.get("enable_thinking", False)
            if enable_thinking and fmt != "gemma4":
                continue
            for add_generation_prompt in (True, False):
                case = {"format": fmt, "name": name, "messages": messages,
                        "enable_thinking": enable_thinking,
                        "add_generation_prompt": add_generation_prompt,
                        **render(template, fmt, messages, add_generation_prompt, enable_thinking)}
                if fmt in options.get("refuses", []):
                    case["snug_refuses"] = True
                cases.append(case)
    golden = {"generator": "tools/golden/render_chat_tools.py", "harmony_date": HARMONY_DATE,
              "llama_date": LLAMA_DATE, "tools": TOOLS, "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
