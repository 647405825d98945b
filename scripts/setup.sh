#!/usr/bin/env bash
# Installs every Debian package Whet builds, tests and benchmarks with.
# (oneDNN's CMake package requires the OpenCL headers and loader even for CPU use.)
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git unzip python3-pip
  libdnnl-dev ocl-icd-opencl-dev libpcre2-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libfmt-dev
  libsqlite3-dev libcpp-httplib-dev libutf8proc-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  python3 python3-venv python3-torch python3-numpy python3-jinja2
  libjs-chart.js chromium chromium-driver python3-selenium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
