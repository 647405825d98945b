#!/usr/bin/env bash
# llama-cpp-python in a virtualenv cached outside the repo: the llama.cpp engine
# that reads the same GGUF files as Whet. The export interoperability test
# (tests/python/llamacpp_greedy.py) and the inference benchmark's peer
# (bench/peer_generate.py) both use it; `make test` runs this script.
#
# PyPI has only the sdist of llama-cpp-python (its prebuilt wheels live on GitHub,
# which this machine cannot reach), so pip compiles llama.cpp here with cmake and
# g++: minutes on 2 cores, once per version and set of build flags (the stamp
# holds both, so a clean clone reuses the cached build and a change of either rebuilds).
#
# Build flags: CPU only, so that it does not go looking for CUDA, Vulkan, Metal or
# a BLAS. Not GGML_NATIVE: on a CPU with AMX, a -march=native build segfaults on
# the first completion, even on the untouched SmolLM2 file. Instead the x86 paths
# are named: AVX2/FMA/F16C on (what Whet's kernels use, so the benchmark stays fair),
# AVX-512 and AMX off. LLAMA_CURL is off because model downloading is never used
# and libcurl's headers may be absent; LLAVA_BUILD=OFF skips the multimodal library
# (about a third of the compile), which llama_cpp only loads for vision chat handlers.
# Version checked to build and run here (cmake 3.25, g++ 12, Debian's python 3.11):
# llama-cpp-python 0.3.36.
# Prints the venv's path on success, and only that on stdout.
set -euo pipefail

version="0.3.36"
cmake_args="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_BLAS=OFF \
-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
venv="$cache/venv-llamacpp"
python="$venv/bin/python"
stamp="$venv/.whet-build"
want="llama-cpp-python==$version $cmake_args"

works() {
  "$python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null
}

if [ -x "$python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && works; then
  echo "$venv"
  exit 0
fi

for tool in cmake g++; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup_llamacpp_venv: $tool is missing; pip needs it to compile llama.cpp (apt-get install cmake g++)" >&2
    exit 1
  fi
done
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "setup_llamacpp_venv: Python's venv module is missing (apt-get install python3-venv)" >&2
  exit 1
fi

echo "setup_llamacpp_venv: creating $venv and compiling llama-cpp-python $version (several minutes)" >&2
mkdir -p "$cache"
# --clear: a venv left by an interrupted build, or built with other flags, is not worth trusting.
/usr/bin/python3 -m venv --clear "$venv"
log="$cache/venv-llamacpp-build.log"
# --no-binary keeps the build from these flags even if a wheel ever shows up in a local wheelhouse.
if ! CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL=2 \
  "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir --no-binary llama-cpp-python \
  --verbose "llama-cpp-python==$version" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "setup_llamacpp_venv: pip could not build llama-cpp-python $version; full log in $log" >&2
  exit 1
fi

if ! works; then
  echo "setup_llamacpp_venv: $venv was built but llama_cpp $version does not import; build log in $log" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "$venv"
