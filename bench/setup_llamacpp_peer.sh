#!/usr/bin/env bash
# Builds the environment of the inference benchmark's peer (bench/peer_generate.py):
# a virtualenv outside the repository with llama-cpp-python, a llama.cpp-class
# engine that reads the same GGUF files as Whet. Reused when it already imports.
#
# PyPI has only the sdist of llama-cpp-python (its prebuilt wheels live on GitHub,
# which this machine cannot reach), so pip compiles llama.cpp here with cmake and
# g++: 5-15 minutes on 2 cores, once. The build is forced CPU-only so that it does
# not go looking for CUDA, Vulkan, Metal or a BLAS; GGML_NATIVE keeps -march=native
# so that the peer gets the same AVX2/FMA this machine gives Whet, and LLAMA_CURL
# is off because model downloading is never used and libcurl's headers may be absent.
# LLAVA_BUILD=OFF skips the multimodal library (about a third of the compile), which
# llama_cpp only loads for vision chat handlers.
# Version checked to build and run here (cmake 3.25, g++ 12, Debian's python 3.11):
# llama-cpp-python 0.3.36.
# Prints the venv's path on success; run_generate.sh uses nothing else from here.
set -euo pipefail

version="0.3.36"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
venv="$cache/venv-llamacpp"
python="$venv/bin/python"

works() {
  "$python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null
}

if [ -x "$python" ] && works; then
  echo "$venv"
  exit 0
fi

for tool in cmake g++; do
  if ! command -v "$tool" >/dev/null; then
    echo "setup_llamacpp_peer: $tool is missing; pip needs it to compile llama.cpp (apt-get install cmake g++)" >&2
    exit 1
  fi
done
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "setup_llamacpp_peer: Python's venv module is missing (apt-get install python3-venv)" >&2
  exit 1
fi

echo "setup_llamacpp_peer: creating $venv and compiling llama-cpp-python $version (several minutes)" >&2
mkdir -p "$cache"
# --clear: a venv left by an interrupted build is not worth trusting.
/usr/bin/python3 -m venv --clear "$venv"
log="$cache/venv-llamacpp-build.log"
# --no-binary keeps the build from this machine's flags even if a wheel ever shows up in a local wheelhouse.
if ! CMAKE_ARGS="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF \
-DGGML_BLAS=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=2 \
  "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir --no-binary llama-cpp-python \
  --verbose "llama-cpp-python==$version" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "setup_llamacpp_peer: pip could not build llama-cpp-python $version; full log in $log" >&2
  exit 1
fi

if ! works; then
  echo "setup_llamacpp_peer: $venv was built but llama_cpp $version does not import; build log in $log" >&2
  exit 1
fi
echo "$venv"
