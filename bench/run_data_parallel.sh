#!/usr/bin/env bash
# Data-parallel scaling on one machine (docs/distributed.md): the default model
# (SmolLM2-135M-Instruct, LoRA r=16 on all linear layers) trained for a few steps
# as 1 rank and as 2 ranks under mpirun, one thread per rank, the same
# micro_batch_size per rank (so 2 ranks do twice the work per step). Prints
# tokens/s, ms/step, the communication per step that the backward did not hide
# (and rank 0's whole wait, which adds waiting for the slower rank), the scaling
# efficiency, the CPU and the load.
# With RL=dpo, the same for DPO on preference pairs (micro_batch_size counts pairs).
# Usage: bench/run_data_parallel.sh [path/to/whet]   (SEQ, BATCH, STEPS, WARMUP, RL override the settings)
set -euo pipefail
whet="$(realpath "${1:-build/whet}")"
seq="${SEQ:-256}" batch="${BATCH:-2}" steps="${STEPS:-8}" warmup="${WARMUP:-2}" rl="${RL:-none}"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$model" ] || { echo "bench: $model missing (scripts/fetch_model.sh)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# A rank waiting in MPI yields its core instead of spinning: on a machine shared with
# other work, a spinning rank slows the rank it waits for (about 10x the wait here at load 5 on 2 cores).
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}"

# Long enough text that every sequence is full: packed, seq tokens each; for DPO,
# pairs whose prompt and two answers share about seq tokens.
python3 - "$work/train.jsonl" "$rl" "$seq" <<'PY'
import json, sys
words = lambda n, count: " ".join(f"word{(n * 7 + i) % 97}" for i in range(count))
with open(sys.argv[1], "w") as out:
    # DPO computes every pair's reference log-probs before its first step: no more pairs than the steps take.
    for n in range(40 if sys.argv[2] == "dpo" else 400):
        if sys.argv[2] == "dpo":
            third = int(sys.argv[3]) // 6  # about two tokens a word
            out.write(json.dumps({"prompt": f"Paragraph {n}: {words(n, third)}.", "chosen": f" {words(n + 1, third)}.",
                                  "rejected": f" {words(n + 2, third)}."}) + "\n")
        else:
            out.write(json.dumps({"text": f"Paragraph {n}: {words(n, 60)}."}) + "\n")
PY
config() {  # config RUN_DIR
  cat <<YAML
base_model: $model
train_data: $work/train.jsonl
output_dir: $1
method: lora
lora_r: 16
lora_alpha: 32
lora_target_modules: all-linear
weights: f32
sequence_len: $seq
sample_packing: $([ "$rl" = none ] && echo true || echo false)
rl: $rl
micro_batch_size: $batch
max_steps: $steps
learning_rate: 0.0001
val_set_size: 0
eval_steps: 0
save_steps: 0
forgetting_gate: false
replay_data: none
distill_weight: 0
YAML
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
config "$work/one" > "$work/one.yaml"
config "$work/two" > "$work/two.yaml"
"$whet" train "$work/one.yaml" >/dev/null 2>"$work/one.log" || { cat "$work/one.log" >&2; exit 1; }
mpirun -np 2 --oversubscribe --bind-to none "$whet" train "$work/two.yaml" >/dev/null 2>"$work/two.log" ||
  { cat "$work/two.log" >&2; exit 1; }

python3 - "$work" "$warmup" "$batch" "$seq" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$rl" <<'PY'
import json, statistics, sys
work, warmup, batch, seq, rl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[7]
def steps(run):
    rows = [json.loads(l) for l in open(f"{work}/{run}/metrics.jsonl")]
    return [r for r in rows if "loss" in r][warmup:]
def cpu():
    info = open("/proc/cpuinfo").read()
    name = next(l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name"))
    flags = set(next(l for l in info.splitlines() if l.startswith("flags")).split(":", 1)[1].split())
    isa = [n for f, n in [("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX512_BF16"),
                          ("amx_tile", "AMX")] if f in flags]
    return f"{name}; {' '.join(isa)}"
rows = {}
for run, ranks in (("one", 1), ("two", 2)):
    s = steps(run)
    elapsed = [b["elapsed_s"] - a["elapsed_s"] for a, b in zip(s, s[1:])]
    rows[ranks] = dict(tokens_per_s=statistics.median(r["tokens_per_s"] for r in s),
                       ms_per_step=1e3 * statistics.median(elapsed),
                       wait_ms=1e3 * statistics.median(r.get("allreduce_wait_s", 0.0) for r in s),
                       exposed_ms=1e3 * statistics.median(r.get("allreduce_exposed_s", 0.0) for r in s),
                       loss=s[-1]["loss"], steps=len(s))
print(f"machine {cpu()}")
print(f"SmolLM2-135M-Instruct Q4_1 as f32, LoRA r=16 all-linear{', rl ' + rl if rl != 'none' else ''}, seq {seq}, "
      f"micro_batch_size {batch} per rank, "
      f"1 thread per rank, median of {rows[1]['steps']} steps after {warmup} warm-up")
print(f"{'ranks':>5} {'global batch':>12} {'tokens/s':>9} {'ms/step':>8} {'comm ms/step':>12} {'rank 0 wait ms':>14} "
      f"{'last loss':>9}")
for ranks, r in rows.items():
    print(f"{ranks:>5} {ranks * batch:>12} {r['tokens_per_s']:>9.1f} {r['ms_per_step']:>8.0f} {r['exposed_ms']:>12.1f} "
          f"{r['wait_ms']:>14.1f} {r['loss']:>9.4f}")
print("comm: the gradient sum's wait of the last rank to finish its backward (not hidden by the overlap); "
      "rank 0 wait: also its wait for a slower rank")
print(f"scaling efficiency 1 -> 2 ranks: {rows[2]['tokens_per_s'] / (2 * rows[1]['tokens_per_s']):.2f} "
      f"(2-rank tokens/s over twice 1-rank's)")
print(f"load average {sys.argv[5]} before, {sys.argv[6]} after")
PY
