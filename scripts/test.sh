#!/usr/bin/env bash
# Run the linters and the test suite in the environment scripts/setup.sh made.
# Extra arguments go to pytest (e.g. bash scripts/test.sh test/model -k tda).
set -eo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck disable=SC1091
source scripts/env.sh
set -u
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
python -m pytest "${@:-test}" -q --durations=15
