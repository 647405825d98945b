# Sourced by ctest scripts that need an outside oracle (a virtualenv, a model):
# `missing WHAT` fails the run in CI (CI=true), where the set-up has made
# everything, and elsewhere skips it with exit code 77 (ctest's SKIP_RETURN_CODE).
missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: $1 is missing (CI=true: a missing oracle fails)" >&2
    exit 1
  fi
  echo "SKIP: $1 is missing" >&2
  exit 77
}
