#!/usr/bin/env bash
# The main job: run the demo on the shipped default model and write its outputs to outputs/demo/.
# Extra arguments go to `vrs-hq demo` (see `vrs-hq demo --help`).
set -eo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck disable=SC1091
source scripts/env.sh
set -u
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
vrs-hq demo --out outputs/demo "$@"
