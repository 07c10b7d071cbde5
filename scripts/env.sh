# Source this (bash): puts the venv, the colcon install tree and the source tree in the environment.
#   source scripts/env.sh
_vrs_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_vrs_venv="${VRS_HQ_VENV:-$_vrs_repo/.venv}"
if [ ! -f "$_vrs_repo/install/setup.bash" ]; then
  echo "vrs_hq_ros is not built yet: run bash scripts/setup.sh" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_vrs_venv/bin/activate"
export AMENT_PREFIX_PATH="$_vrs_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
# shellcheck disable=SC1091
source "$_vrs_repo/install/setup.bash"
# The source tree first, so edits apply without a rebuild; vrs_hq_ros extends its __path__
# to find the generated vrs_hq_ros.msg in install/.
export PYTHONPATH="$_vrs_repo${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# DDS discovery stays on this machine unless the caller chose otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
unset _vrs_repo _vrs_venv
