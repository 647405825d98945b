#!/usr/bin/env python3
"""Reads a folder of TensorBoard event files that `whet runs export-tensorboard`
wrote with TensorBoard's own EventAccumulator (the tensorboard package from PyPI,
in the test virtualenv) and compares every scalar with what Whet's store holds.

Usage: check_tensorboard_events.py EVENT_DIR EXPECTED.json
EXPECTED.json: [{"name", "step", "value", "time"}, ...] (the run's metric rows).
Prints "tensorboard events: ok" and exits 0 when every scalar matches."""
import json
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator


def as_float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def main():
    event_dir, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path) as f:
        expected = json.load(f)
    accumulator = event_accumulator.EventAccumulator(event_dir, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    problems = []
    if accumulator.file_version != 2.0:
        problems.append(f"file_version {accumulator.file_version!r}, expected 2.0 (brain.Event:2)")
    tags = sorted(accumulator.Tags()["scalars"])
    want_tags = sorted({row["name"] for row in expected})
    if tags != want_tags:
        problems.append(f"tags {tags}, expected {want_tags}")
    for tag in want_tags:
        want = [row for row in expected if row["name"] == tag]
        got = accumulator.Scalars(tag) if tag in tags else []
        if len(got) != len(want):
            problems.append(f"{tag}: {len(got)} scalars, expected {len(want)}")
            continue
        for event, row in zip(got, want):
            if event.step != row["step"] or event.value != as_float32(row["value"]) or abs(event.wall_time - row["time"]) > 1e-6:
                problems.append(f"{tag}: (step {event.step}, value {event.value!r}, time {event.wall_time}) "
                                f"!= (step {row['step']}, value {as_float32(row['value'])!r}, time {row['time']})")
    count = sum(len(accumulator.Scalars(tag)) for tag in tags)
    for problem in problems[:20]:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"tensorboard events: ok ({count} scalars, {len(tags)} tags)")


if __name__ == "__main__":
    main()
