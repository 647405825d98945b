#!/usr/bin/env python3
"""Seeded JSONL records for the data pipeline benchmarks.

Prompts of MIN to MAX made-up words: 5% exact copies and 5% near copies (one
word changed) of earlier ones, 5% with an e-mail address, phone, card, IBAN or
IP. A vocabulary of 20000 made-up words with Zipf-like use, so that unrelated
prompts share about as much as unrelated sentences do.

Usage: generate_records.py COUNT PATH [MIN_WORDS MAX_WORDS]   (default 12 40)
"""
import itertools
import json
import random
import sys

n, path = int(sys.argv[1]), sys.argv[2]
low, high = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (12, 40)
rng = random.Random(1)
syllables = "ka lo mi tu re sa ne vi do pa li go be ru fe zo".split()
words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
pii = ["write to jane.doe@example.com", "call +44 20 7946 0958", "card 4111 1111 1111 1111",
       "pay DE89 3704 0044 0532 0130 00", "server 192.168.10.24"]
made = []
with open(path, "w") as out:
    for i in range(n):
        r = rng.random()
        if made and r < 0.05:
            prompt = rng.choice(made)
        elif made and r < 0.10:
            ws = rng.choice(made).split(); ws[rng.randrange(len(ws))] = rng.choice(words); prompt = " ".join(ws)
        else:
            prompt = f"item {i}: " + " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(low, high)))
            if r < 0.15: prompt += ", " + rng.choice(pii)
            if len(made) < 10000: made.append(prompt)
        out.write(json.dumps({"prompt": prompt, "completion": rng.choice(words[:50])}) + "\n")
