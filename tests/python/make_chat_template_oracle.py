#!/usr/bin/python3
"""The models' own chat templates rendered by jinja2, for tests/tokenizer/test_chat_template_oracle.cpp.

Whet renders chat templates natively (src/tokenizer/chat_template.cpp): it detects the format from
the Jinja source a model ships and renders it from a table. This script is the oracle it is held
to: it reads each model's `chat_template` with its BOS and EOS token text, renders a fixed set of
conversations with jinja2 the way transformers' apply_chat_template does (a sandboxed, immutable
environment with trim_blocks and lstrip_blocks, the loop-control extension, `raise_exception`,
`strftime_now` and a `tojson` filter; `messages`, `tools=None`, `add_generation_prompt` and the
special tokens as variables), with and without the generation prompt, and writes JSON:

    {"oracle": "jinja2 3.1.2",
     "templates": [{"name", "file", "source", "bos_token", "eos_token",
                    "cases": [{"conversation", "messages", "add_generation_prompt",
                               "text" | "error"}]}]}

A case whose template raises records the error instead of a text; Whet must refuse it too.

Models come as GGUF files (`tokenizer.chat_template`, token text of `tokenizer.ggml.bos_token_id` /
`eos_token_id`, read by the small reader below so Debian's python3 suffices) or as Hugging Face
folders (tokenizer_config.json). Identical templates are checked once, under all their names.
A model without a chat template is reported on stderr and has nothing to check.

    /usr/bin/python3 tests/python/make_chat_template_oracle.py OUT.json --gguf FILE... --hf-dir DIR...

With --against-transformers, run by the test virtualenv's python, it renders the cases of OUT.json
again with transformers' own apply_chat_template and fails on any difference.
"""
import argparse
import datetime
import json
import os
import struct
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox

CONVERSATIONS = [
    ("user only", [{"role": "user", "content": "Hi"}]),
    ("system and user", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
    ("system, user, assistant, user", [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "How are you?"}]),
    ("assistant last", [
        {"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6"}]),
    ("newlines, quotes, unicode, braces", [
        {"role": "system", "content": "Answer in JSON: {\"ok\": true}.\nNo 'prose'."},
        {"role": "user", "content": "  Line one\nline two \"quoted\" — ünïcödé 日本語 🙂 {{ x }} {% if %}\t\n"},
        {"role": "assistant", "content": "\n{\"ok\": true, \"path\": \"C:\\\\tmp\"}  "},
        {"role": "user", "content": "{# not a comment #} end"}]),
    ("empty system prompt", [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]),
    ("empty user message", [{"role": "user", "content": ""}]),
    # Role orders that the templates of folded formats (no system turn of their own) refuse.
    ("user twice", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
    ("assistant first", [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]),
    ("system after user", [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]),
]


class TemplateError(Exception):
    """What `raise_exception` raises: the template refuses the conversation."""


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(format):
    return datetime.datetime.now().strftime(format)


def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def environment():
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# --- reading the template and its special tokens

GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
GGUF_STRING, GGUF_ARRAY = 8, 9


def read_gguf_metadata(path):
    """The key-value pairs at the head of a GGUF file (version 2 or 3, little-endian)."""
    with open(path, "rb") as f:
        def unpack(code):
            size = struct.calcsize("<" + code)
            data = f.read(size)
            if len(data) != size:
                sys.exit(f"{path}: truncated GGUF metadata")
            return struct.unpack("<" + code, data)[0]

        def string():
            return f.read(unpack("Q")).decode("utf-8")

        def value(kind):
            if kind == GGUF_STRING:
                return string()
            if kind == GGUF_ARRAY:
                element, count = unpack("I"), unpack("Q")
                return [value(element) for _ in range(count)]
            if kind not in GGUF_SCALARS:
                sys.exit(f"{path}: unknown GGUF value type {kind}")
            return unpack(GGUF_SCALARS[kind])

        if f.read(4) != b"GGUF":
            sys.exit(f"{path}: not a GGUF file")
        version = unpack("I")
        if version not in (2, 3):
            sys.exit(f"{path}: GGUF version {version} (expected 2 or 3)")
        unpack("Q")  # tensor count
        metadata = {}
        for _ in range(unpack("Q")):
            key = string()
            metadata[key] = value(unpack("I"))
        return metadata


def gguf_model(path):
    metadata = read_gguf_metadata(path)
    tokens = metadata.get("tokenizer.ggml.tokens", [])

    def token(key):
        return tokens[metadata[key]] if key in metadata else ""

    return {"name": os.path.basename(path).removesuffix(".gguf"), "file": path,
            "source": metadata.get("tokenizer.chat_template"),
            "bos_token": token("tokenizer.ggml.bos_token_id"), "eos_token": token("tokenizer.ggml.eos_token_id")}


def hf_model(folder):
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)

    def token(key):  # a plain string or an AddedToken object
        value = config.get(key) or ""
        return value["content"] if isinstance(value, dict) else value

    return {"name": "/".join(os.path.abspath(folder).split(os.sep)[-2:]), "file": path,
            "source": config.get("chat_template"), "bos_token": token("bos_token"), "eos_token": token("eos_token")}


# --- rendering

def render_cases(env, model):
    template = env.from_string(model["source"])
    cases = []
    for conversation, messages in CONVERSATIONS:
        for add_generation_prompt in (True, False):
            case = {"conversation": conversation, "messages": messages, "add_generation_prompt": add_generation_prompt}
            try:
                case["text"] = template.render(messages=messages, tools=None, add_generation_prompt=add_generation_prompt,
                                               bos_token=model["bos_token"], eos_token=model["eos_token"])
            except (TemplateError, jinja2.TemplateError, TypeError) as e:  # TypeError: e.g. str + None
                case["error"] = f"{type(e).__name__}: {e}"
            cases.append(case)
    return cases


def compare_with_transformers(path):
    """Renders every case of the oracle file again with transformers' own apply_chat_template
    (run by the test virtualenv's python), so the environment above stays the one it sets up."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    import transformers

    with open(path, encoding="utf-8") as f:
        oracle = json.load(f)
    differences = 0
    for model in oracle["templates"]:
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()),
                                            bos_token=model["bos_token"], eos_token=model["eos_token"])
        for case in model["cases"]:
            try:
                text = tokenizer.apply_chat_template(case["messages"], chat_template=model["source"], tokenize=False,
                                                     add_generation_prompt=case["add_generation_prompt"])
            except Exception as e:  # whatever transformers lets through is a refusal
                text = None
                error = f"{type(e).__name__}: {e}"
            if text != case.get("text"):
                differences += 1
                print(f"{model['name']}, '{case['conversation']}', add_generation_prompt {case['add_generation_prompt']}: "
                      f"transformers gives {text if text is not None else error!r}, the oracle "
                      f"{case.get('text', case.get('error'))!r}", file=sys.stderr)
    if differences:
        sys.exit(f"chat template oracle: {differences} renderings differ from transformers {transformers.__version__}")
    print(f"chat template oracle: transformers {transformers.__version__} renders the same")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="JSON file to write (to read, with --against-transformers)")
    parser.add_argument("--gguf", nargs="*", default=[], help="GGUF model files")
    parser.add_argument("--hf-dir", nargs="*", default=[], help="Hugging Face model folders")
    parser.add_argument("--against-transformers", action="store_true",
                        help="compare the written file with transformers' apply_chat_template instead")
    args = parser.parse_args()
    if args.against_transformers:
        return compare_with_transformers(args.out)

    env = environment()
    checked = {}  # (source, bos, eos) -> template entry
    for model in [gguf_model(p) for p in args.gguf] + [hf_model(d) for d in args.hf_dir]:
        if not model["source"]:
            print(f"chat template oracle: {model['file']} has no chat template; nothing to check", file=sys.stderr)
            continue
        key = (model["source"], model["bos_token"], model["eos_token"])
        if key in checked:
            checked[key]["name"] += ", " + model["name"]
            continue
        model["cases"] = render_cases(env, model)
        checked[key] = model
    if not checked:
        sys.exit("chat template oracle: no model with a chat template given")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"oracle": f"jinja2 {jinja2.__version__}", "templates": list(checked.values())}, f,
                  ensure_ascii=False, indent=1)
    for model in checked.values():
        refused = sum("error" in case for case in model["cases"])
        print(f"chat template oracle: {model['name']}: {len(model['cases'])} renderings, {refused} refused")


if __name__ == "__main__":
    main()
