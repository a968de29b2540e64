#!/usr/bin/env bash
# Create or update the project's virtual environment from PyPI alone (Debian 12, Python 3.11):
# torch 2.13.0 (local CPU build) first, then pinned dependencies, then tf2_msgs and
# sky2ground_interfaces built with the pip-installed rosidl generators, then this package
# in editable mode. Safe to re-run: each step is skipped when already satisfied.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/.venv}
python=${PYTHON:-python3}
log() { echo "[bootstrap] $*"; }

"$python" - <<'PY' || { echo "[bootstrap] Python 3.11 is required (the ROS 2 Kilted wheels are cp311)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

missing=()
for tool in cmake c++ make; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing build tools from Debian: cmake g++ make"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make >/dev/null
  else
    echo "[bootstrap] missing build tools: ${missing[*]} (install cmake, g++ and make)" >&2; exit 1
  fi
fi

[ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
constraints="$root/constraints.txt"

log "pip, setuptools, wheel"
"${pip[@]}" install -q -c "$constraints" pip setuptools wheel
log "torch 2.13.0 (CPU build, installed first so nothing pulls another torch)"
"${pip[@]}" install -q "torch==2.13.0"
log "dependencies (requirements.txt pinned by constraints.txt)"
"${pip[@]}" install -q -r "$root/requirements.txt" -c "$constraints"

# Interface packages: rebuilt only when their sources change. With a ROS 2 install sourced
# (ROS_DISTRO set and its tf2_msgs present), the system's tf2_msgs is used instead.
build_if_changed() {
  local pkg=$1 name sum stamp
  name=$(basename "$pkg")
  sum=$(cd "$pkg" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  stamp="$venv/build/interfaces/$name.sha256"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    log "$name: up to date"; return
  fi
  "$root/tools/build_interfaces.sh" "$venv" "$pkg"
  echo "$sum" >"$stamp"
}
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}/share/tf2_msgs" ]; then
  log "tf2_msgs: using the system package from /opt/ros/${ROS_DISTRO}"
else
  build_if_changed "$root/interfaces/tf2_msgs"
fi
build_if_changed "$root/interfaces/sky2ground_interfaces"

log "sky2ground_ros (editable)"
"${pip[@]}" install -q --no-deps --no-build-isolation -e "$root"
"${pip[@]}" check
"$venv/bin/python" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else f"unexpected torch {torch.__version__}")'
touch "$venv/COLCON_IGNORE"  # keep colcon from crawling the venv's share/*/package.xml
log "environment ready: $venv"
