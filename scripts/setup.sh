#!/usr/bin/env bash
# Set up vrs_hq_ros on a machine without ROS 2: a virtual environment in .venv with every
# dependency (ROS 2 Kilted wheels and colcon from PyPI), then the messages built with colcon
# into install/. Idempotent: with nothing changed a second run only checks and finishes in seconds.
#
#   bash scripts/setup.sh            # then: source scripts/env.sh
#
# VRS_HQ_VENV overrides the venv location; VRS_HQ_CONSTRAINTS the pip constraints file.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VRS_HQ_VENV:-$repo/.venv}"
constraints="${VRS_HQ_CONSTRAINTS:-$repo/requirements/this-machine.txt}"
python="${PYTHON:-python3}"

log() { printf '[setup] %s\n' "$*" >&2; }

[ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

# Re-install only when the dependency declarations changed.
stamp="$venv/.vrs_hq_ros-deps"
want="$(cat "$repo/setup.py" "$constraints" "$repo/scripts/setup.sh" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing torch (pinned for this machine by $constraints)"
  "${pip[@]}" install -c "$constraints" torch torchvision "setuptools>=64" wheel numpy
  # sam2 ships as an sdist whose build imports torch; build it against the torch just installed,
  # without its CUDA extension (optional post-processing only).
  if ! "$venv/bin/python" -c "import sam2" 2>/dev/null; then
    log "installing sam2 (no CUDA extension)"
    SAM2_BUILD_CUDA=0 "${pip[@]}" install -c "$constraints" --no-build-isolation "sam2>=1.0"
  fi
  log "installing vrs_hq_ros and its dependencies"
  "${pip[@]}" install -c "$constraints" -e "$repo[ros-pip,train,dev]"
  echo "$want" > "$stamp"
else
  log "dependencies up to date"
fi

# Build the messages (and install the Python modules beside them). colcon/CMake are incremental.
log "building messages with colcon"
(
  cd "$repo"
  export AMENT_PREFIX_PATH="$venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  PATH="$venv/bin:$PATH" "$venv/bin/colcon" --log-level error build --merge-install --base-paths "$repo" \
    --event-handlers status- summary- \
    --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF >/dev/null
)
log "done: source scripts/env.sh to use it"
