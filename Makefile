# The two commands of the README: `make demo` and `make test`. Both set up
# everything from a clean clone on Debian 12 (packages, build, default model).
BUILD ?= build
JOBS ?= 2

.PHONY: all setup build model test-venv venv-test venv-trl venv-llamacpp test-prerequisites demo test acceptance-tune bench clean

all: build

setup:
	@scripts/setup.sh

# The library, the commands and the tests compile in batches (cmake/unity_build.cmake),
# through ccache (its cache under ~/.cache/ccache): paths under this clone are
# hashed relative to it, so a fresh clone of a commit that changed a few files
# recompiles only their batches. The sloppiness lets objects built with the
# precompiled headers be cached.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHET_UNITY_BUILD=ON \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The default model, and the other families' real models the tests run (docs/models.md).
model: setup
	@scripts/fetch_model.sh
	@scripts/fetch_model.sh qwen2.5-coder
	@scripts/fetch_model.sh gemma3

# The tests' outside oracles, cached under ~/.cache/whet: Python packages (TRL in its own
# virtualenv over PyPI's torch 2.x), and
# llama.cpp (compiled by pip once per version and build flags: minutes on 2 cores).
test-venv: venv-test venv-trl venv-llamacpp

venv-test: setup
	@scripts/setup_test_venv.sh

venv-trl: setup
	@scripts/setup_trl_venv.sh

venv-llamacpp: setup
	@scripts/setup_llamacpp_venv.sh >/dev/null

# What `make test` needs, made side by side once the Debian packages are in: on a
# fresh machine the virtualenvs are mostly downloads (TRL's took 10.5 minutes for
# 1.3 minutes of CPU), which then overlap the compile instead of following it.
# The two compiles (Whet's and llama.cpp's) share the cores; neither waits for the other.
test-prerequisites:
	@$(MAKE) --no-print-directory -j 5 build model test-venv

demo: build model
	@scripts/demo.sh $(BUILD)/whet

# ctest runs the gtest binaries in shards, the Python references and the
# acceptance runs; tests/test_results.py then lists the slowest tests from the
# shards' XML and fails a CI run in which any test skipped.
test: test-prerequisites
	@rm -rf $(BUILD)/test-results
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@tests/test_results.py $(BUILD)/test-results

# whet tune's acceptance on the real model (docs/tune.md, "The acceptance run"):
# a 12-trial study on examples/tickets and a paired comparison on its test set,
# far longer than `make test` can afford. Run it again to continue where it stopped.
acceptance-tune: build model
	@tests/acceptance/tune_tickets.sh $(BUILD)/whet $(BUILD)/acceptance-tune

bench: build model
	@cmake --build $(BUILD) -j $(JOBS) --target bench_tokenizer
	@$(BUILD)/bench_tokenizer
	@bench/run_generate.sh $(BUILD)/whet

clean:
	rm -rf $(BUILD)
