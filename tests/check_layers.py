#!/usr/bin/env python3
"""Checks that no layer of src/ includes a header of a layer above it.

The order is read from the layer table of docs/architecture.md (one row per
layer, lowest first, its folder in the second column), so the map and the code
cannot drift apart: a new folder missing from the table, or an include that
reaches upward, fails with the file, the line and the two layers named.

    tests/check_layers.py SOURCE_DIR
"""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
TABLE_ROW = re.compile(r"^\|\s*[a-z]+\s*\|\s*`src/([a-z_]+)`\s*\|")


def layer_order(architecture: Path) -> list[str]:
    layers = [m.group(1) for line in architecture.read_text().splitlines() if (m := TABLE_ROW.match(line))]
    if not layers:
        sys.exit(f"{architecture}: no layer table (rows like | core | `src/core` | ...)")
    return layers


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    layers = layer_order(root / "docs/architecture.md")
    rank = {name: i for i, name in enumerate(layers)}
    problems = []
    for folder in sorted(p for p in (root / "src").iterdir() if p.is_dir()):
        if folder.name not in rank:
            problems.append(f"src/{folder.name}: a folder that docs/architecture.md's layer table does not list")
    for path in sorted((root / "src").rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        layer = path.relative_to(root / "src").parts[0]
        if layer not in rank:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) in rank and rank[m.group(1)] > rank[layer]:
                problems.append(f"{path.relative_to(root)}:{number}: layer {layer} includes {m.group(1)}, a layer above it")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_layers: {len(layers)} layers ({' < '.join(layers)}), {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
