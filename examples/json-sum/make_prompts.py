#!/usr/bin/python3
"""Writes prompts.jsonl (training) and test.jsonl (unseen sums): questions
"a + b" with a, b in 1..9, the expected sum as the item field `sum`. Seeded, so
the files are reproduced exactly; every (a, b) appears in at most one file."""
import json
import random

INSTRUCTION = 'Reply with only a JSON object of the form {{"sum": N}}, nothing else. What is {a} + {b}?'


def line(a, b):
    return {"messages": [{"role": "user", "content": INSTRUCTION.format(a=a, b=b)}], "sum": a + b}


def main():
    pairs = [(a, b) for a in range(1, 10) for b in range(1, 10)]
    random.Random(16).shuffle(pairs)
    for name, chosen in (("prompts.jsonl", pairs[:48]), ("test.jsonl", pairs[48:])):
        with open(name, "w") as f:
            for a, b in chosen:
                f.write(json.dumps(line(a, b)) + "\n")


if __name__ == "__main__":
    main()
