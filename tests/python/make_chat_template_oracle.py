#!/usr/bin/python3
"""The models' own chat templates rendered by jinja2 (and llama.cpp's renderer), for tests/tokenizer/test_chat_template_oracle.cpp.

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
Each template's "kind" says where it came from: "model file" (a GGUF file or tokenizer_config.json,
which Whet must read the same) or "package template" (a constant of llama-cpp-python's
llama_chat_format.py, --llama-cpp-python; "file" is that source file and line).

With --llama-cpp-renderer, run by the llama-cpp-python virtualenv's python, it writes llama.cpp's
own renderings instead, for the formats whose Jinja template no package here ships (see
LLAMA_CPP_PEERS below: which official template each follows and where it departs from it):

    {"oracle": "llama.cpp's llama_chat_apply_template (llama-cpp-python X)",
     "renderers": [{"name", "renderer", "whet_format", "follows",
                    "cases": [{"conversation", "messages", "add_generation_prompt", "text",
                               "deviation": {"kind", "why", "text"?} (only where llama.cpp departs)}]}]}

Models come as GGUF files (`tokenizer.chat_template`, token text of `tokenizer.ggml.bos_token_id` /
`eos_token_id`, read by the small reader below so Debian's python3 suffices) or as Hugging Face
folders (tokenizer_config.json). Identical templates are checked once, under all their names.
A model without a chat template is reported on stderr and has nothing to check.

    /usr/bin/python3 tests/python/make_chat_template_oracle.py OUT.json --gguf FILE... --hf-dir DIR...
        [--llama-cpp-python SITE-PACKAGES/llama_cpp]
    VENV/bin/python tests/python/make_chat_template_oracle.py OUT_LLAMACPP.json --llama-cpp-renderer

With --against-transformers, run by the test virtualenv's python, it renders the cases of OUT.json
again with transformers' own apply_chat_template and fails on any difference.
"""
import argparse
import ast
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

    return {"name": os.path.basename(path).removesuffix(".gguf"), "kind": "model file", "file": path,
            "source": metadata.get("tokenizer.chat_template"),
            "bos_token": token("tokenizer.ggml.bos_token_id"), "eos_token": token("tokenizer.ggml.eos_token_id")}


# Templates that llama-cpp-python ships as constants of llama_chat_format.py, each under a comment
# naming the model it came from. The special tokens of the models whose constants come without them:
SPECIAL_TOKENS = {
    "MIXTRAL_INSTRUCT": ("<s>", "</s>"),  # Mixtral-8x7B-Instruct-v0.1's SentencePiece BOS and EOS
    "LLAMA3_INSTRUCT": ("<|begin_of_text|>", "<|eot_id|>"),  # Meta-Llama-3-8B-Instruct's
}


def package_templates(package):
    """The `NAME_CHAT_TEMPLATE` constants of llama-cpp-python's llama_chat_format.py, read from its
    source (no import: Debian's python3 renders them) with the special tokens that go with each."""
    path = os.path.join(package, "llama_chat_format.py")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines()
    constants = {}
    for node in ast.parse(text, path).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = (ast.literal_eval(node.value), node.lineno)
            except ValueError:
                pass  # not a literal
    models = []
    for name, (source, line) in constants.items():
        if not name.endswith("_CHAT_TEMPLATE"):
            continue
        prefix = name.removesuffix("_CHAT_TEMPLATE")
        if f"{prefix}_BOS_TOKEN" in constants:
            tokens = (constants[f"{prefix}_BOS_TOKEN"][0], constants[f"{prefix}_EOS_TOKEN"][0])
        elif prefix in SPECIAL_TOKENS:
            tokens = SPECIAL_TOKENS[prefix]
        else:
            sys.exit(f"{path}:{line}: {name} comes without its special tokens; add the model's to SPECIAL_TOKENS")
        comment = lines[line - 2].strip() if line >= 2 else ""
        origin = comment.removeprefix("# Source:").strip() if comment.startswith("# Source:") else "no source given"
        models.append({"name": f"llama-cpp-python {name} ({origin})", "kind": "package template",
                       "file": f"{path}:{line}", "source": source, "bos_token": tokens[0], "eos_token": tokens[1]})
    if not models:
        sys.exit(f"{path}: no *_CHAT_TEMPLATE constant found")
    return models


def hf_model(folder):
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)

    def token(key):  # a plain string or an AddedToken object
        value = config.get(key) or ""
        return value["content"] if isinstance(value, dict) else value

    return {"name": "/".join(os.path.abspath(folder).split(os.sep)[-2:]), "kind": "model file", "file": path,
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


# --- llama.cpp's own renderer, the second peer

# Formats whose Jinja template no package here ships are held to llama.cpp's native renderer
# (llama_chat_apply_template with a built-in template name), an implementation independent of
# Whet's. Each peer: llama.cpp's template name, Whet's format, the official template it follows, and
# where llama.cpp departs from that template: a function of the conversation and the generation-prompt
# flag that returns None (llama.cpp renders what the official template does) or the deviation:
#   {"kind": "refuses", "why"}: the official template refuses the conversation, llama.cpp renders it;
#   {"kind": "appends", "text", "why"}: the official text is llama.cpp's followed by `text`;
#   {"kind": "differs", "why"}: the official text is another; Whet's must differ from llama.cpp's.
# llama.cpp never writes the BOS that opens a conversation (its tokenizer adds it), so the test
# compares Whet's rendering after its BOS text.

def roles(messages):
    return [m["role"] for m in messages]


def alternates(messages):
    """An optional first system message, then user, assistant, user, ... (what the official templates
    of the folded formats accept)."""
    turns = roles(messages)[1:] if roles(messages)[:1] == ["system"] else roles(messages)
    return all(role == ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(turns))


def refuses_unless_alternating(official):
    return {"kind": "refuses", "why": f"{official} refuses a conversation whose roles do not alternate "
                                      "user/assistant after an optional system message; llama.cpp renders it"}


def gemma_deviation(messages, add_generation_prompt):
    if not alternates(messages):
        return refuses_unless_alternating("Gemma 3's template")
    if messages[0]["role"] == "system" and not messages[0]["content"].strip():
        return {"kind": "differs", "why": "Gemma 3's template writes an empty system prompt as its '\\n\\n' "
                                          "separator before the first user message; llama.cpp leaves both out"}
    return None


def llama2_deviation(messages, add_generation_prompt):
    if not alternates(messages):
        return refuses_unless_alternating("Llama 2's template")
    if "assistant" in roles(messages):
        return {"kind": "differs", "why": "Llama 2's template writes an answer as '[/INST] answer </s>', "
                                          "llama.cpp as '[/INST]answer</s>' (nor does llama2-sys-bos strip "
                                          "messages as the template does)"}
    return None


def phi3_deviation(messages, add_generation_prompt):
    if not add_generation_prompt:
        return {"kind": "appends", "text": "<|endoftext|>",
                "why": "Phi-3's template closes a conversation without a generation prompt with its EOS token "
                       "<|endoftext|>; llama.cpp stops after the last <|end|>\\n"}
    return None


def mistral_v1_deviation(messages, add_generation_prompt):
    if not alternates(messages):
        return {"kind": "refuses", "why": "the v1 layout alternates user turns and answers after an optional "
                                          "first system message: Whet refuses another order, llama.cpp renders it"}
    return None


LLAMA_CPP_PEERS = [
    ("gemma", "gemma", "Gemma 3's template (google/gemma-3-*-it)", gemma_deviation),
    ("llama2-sys-bos", "llama2", "Llama 2's template (meta-llama/Llama-2-*-chat-hf)", llama2_deviation),
    ("phi3", "phi3", "Phi-3's template (microsoft/Phi-3-mini-4k-instruct)", phi3_deviation),
    ("mistral-v1", "mistral", "Mistral's v1 tokenizer layout (docs.mistral.ai, tokenization guide)",
     mistral_v1_deviation),
]


def llama_cpp_render(name, messages, add_generation_prompt):
    import ctypes
    from llama_cpp import llama_cpp

    keep = [(m["role"].encode(), m["content"].encode()) for m in messages]
    chat = (llama_cpp.llama_chat_message * max(len(keep), 1))(
        *[llama_cpp.llama_chat_message(role=role, content=content) for role, content in keep])
    size = 256
    while True:
        buffer = ctypes.create_string_buffer(size)
        length = llama_cpp.llama_chat_apply_template(name.encode(), chat, len(keep), add_generation_prompt, buffer, size)
        if length < 0:
            sys.exit(f"llama.cpp does not know the chat template '{name}'")
        if length <= size:
            return buffer.raw[:length].decode("utf-8")
        size = length


def write_llama_cpp_oracle(path):
    """Renders the conversations with llama.cpp's built-in templates (run by the llama-cpp-python
    virtualenv's python) into PATH."""
    import ctypes
    import llama_cpp
    from llama_cpp import llama_cpp as api

    count = api.llama_chat_builtin_templates(None, 0)
    names = (ctypes.c_char_p * count)()
    api.llama_chat_builtin_templates(names, count)
    builtin = {n.decode() for n in names}
    peers = []
    for name, whet_format, official, deviation in LLAMA_CPP_PEERS:
        if name not in builtin:
            sys.exit(f"llama.cpp {llama_cpp.__version__} has no built-in chat template '{name}'")
        cases = []
        for conversation, messages in CONVERSATIONS:
            for add_generation_prompt in (True, False):
                case = {"conversation": conversation, "messages": messages, "add_generation_prompt": add_generation_prompt,
                        "text": llama_cpp_render(name, messages, add_generation_prompt)}
                found = deviation(messages, add_generation_prompt)
                if found:
                    case["deviation"] = found
                cases.append(case)
        peers.append({"name": f"llama.cpp {name}", "renderer": name, "whet_format": whet_format, "follows": official,
                      "cases": cases})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"oracle": f"llama.cpp's llama_chat_apply_template (llama-cpp-python {llama_cpp.__version__})",
                   "renderers": peers}, f, ensure_ascii=False, indent=1)
    for peer in peers:
        deviating = sum("deviation" in case for case in peer["cases"])
        print(f"chat template oracle: llama.cpp {peer['renderer']}: {len(peer['cases'])} renderings, "
              f"{deviating} where it departs from {peer['follows']}")


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
    parser.add_argument("--llama-cpp-python", metavar="PACKAGE",
                        help="folder of the installed llama_cpp package, whose bundled templates to render too")
    parser.add_argument("--against-transformers", action="store_true",
                        help="compare the written file with transformers' apply_chat_template instead")
    parser.add_argument("--llama-cpp-renderer", action="store_true",
                        help="write llama.cpp's own renderings instead (run by the llama-cpp-python virtualenv)")
    args = parser.parse_args()
    if args.against_transformers:
        return compare_with_transformers(args.out)
    if args.llama_cpp_renderer:
        return write_llama_cpp_oracle(args.out)

    env = environment()
    checked = {}  # (source, bos, eos) -> template entry
    packaged = package_templates(args.llama_cpp_python) if args.llama_cpp_python else []
    for model in [gguf_model(p) for p in args.gguf] + [hf_model(d) for d in args.hf_dir] + packaged:
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
