#!/usr/bin/env python3
"""Checks Whet's block decoders against gguf-py's (the `gguf` package from
PyPI: gguf.quants.dequantize, llama.cpp's own Python port of ggml's decoders).

  check_dequantize.py FILE.gguf DECODED_DIR

DECODED_DIR holds, for some tensors of FILE.gguf, `NAME.f32`: the first whole
rows of the tensor as Whet decoded them, raw little-endian float32. Each must
equal gguf-py's decoding of the same rows up to the rounding of the last
operation (a fused multiply-add in one, a multiply and an add in the other):
2^-20 of the largest magnitude in its block of 32 (256 for the K types).

Prints one line per tensor and exits 1 at the first difference.
Runs in the test virtualenv (scripts/setup_test_venv.sh).
"""
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize


def check_tensor(tensor, path):
    got = np.fromfile(path, dtype="<f4")
    block_elems, _ = GGML_QUANT_SIZES[tensor.tensor_type]
    row = int(tensor.shape[0])  # ne[0]: elements per row
    if got.size == 0 or got.size % row != 0:
        return f"{path}: {got.size} values, not whole rows of {row}"
    rows = got.size // row
    # tensor.data holds rows outermost; decode exactly the rows Whet decoded.
    encoded = np.ascontiguousarray(tensor.data).reshape(-1, tensor.data.shape[-1])[:rows]
    want = dequantize(encoded, tensor.tensor_type).astype(np.float32).reshape(-1)
    if want.size != got.size:
        return f"{tensor.name}: gguf-py decodes {want.size} values from {rows} rows, Whet {got.size}"
    scale = np.repeat(np.abs(want).reshape(-1, block_elems).max(axis=1), block_elems)
    bad = np.flatnonzero(np.abs(got - want) > scale * 2.0**-20)
    if bad.size:
        i = int(bad[0])
        return (f"{tensor.name} ({tensor.tensor_type.name}): {bad.size} of {got.size} values differ, first at "
                f"{i}: Whet {got[i]!r}, gguf-py {want[i]!r}")
    exact = int((got == want).sum())
    print(f"{tensor.name}: {tensor.tensor_type.name}, {rows} rows of {row}; {exact} of {got.size} values "
          f"bit-identical, the rest within the bound")
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf_path, decoded = sys.argv[1], sys.argv[2]
    tensors = {t.name: t for t in GGUFReader(gguf_path).tensors}
    names = sorted(f[:-len(".f32")] for f in os.listdir(decoded) if f.endswith(".f32"))
    if not names:
        sys.exit(f"check_dequantize: {decoded}: no NAME.f32 files")
    for name in names:
        if name not in tensors:
            sys.exit(f"check_dequantize: {gguf_path} has no tensor {name}")
        problem = check_tensor(tensors[name], os.path.join(decoded, name + ".f32"))
        if problem:
            print(f"check_dequantize: {gguf_path}: {problem}", file=sys.stderr)
            sys.exit(1)
    print(f"check_dequantize: {gguf_path}: {len(names)} tensors ok")


if __name__ == "__main__":
    main()
