#!/usr/bin/env bash
# Build ROS 2 interface packages (rosidl) into a Python venv that holds the ROS 2 wheels
# from PyPI. The venv is itself an install prefix, so the generated Python modules import
# with no further environment. Usage: tools/build_interfaces.sh VENV PKG_DIR...
set -euo pipefail
venv=$(cd "$1" && pwd); shift
here=$(cd "$(dirname "$0")" && pwd)
py="$venv/bin/python"
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export AMENT_PREFIX_PATH="$venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export PATH="$venv/bin:$PATH"
# The ROS wheels keep their shared libraries next to the Python packages.
ld_path=$(find "$venv/lib" -maxdepth 1 -type d -printf '%p:' 2>/dev/null)
export LD_LIBRARY_PATH="$venv/lib:${ld_path}${LD_LIBRARY_PATH:-}"
for pkg in "$@"; do
  src=$(cd "$pkg" && pwd)
  name=$(basename "$src")
  build="$venv/build/interfaces/$name"
  mkdir -p "$build"
  echo "[build_interfaces] $name -> $venv"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" \
    -DPython3_EXECUTABLE="$py" -DPYTHON_INSTALL_DIR="${site#"$venv"/}" \
    -DBUILD_TESTING=OFF \
    -DCMAKE_PROJECT_INCLUDE="$here/cmake/wheel_python_include_fix.cmake" >"$build/configure.log" 2>&1 \
    || { tail -n 40 "$build/configure.log"; exit 1; }
  cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { tail -n 40 "$build/build.log"; exit 1; }
  cmake --install "$build" >"$build/install.log" 2>&1 || { tail -n 40 "$build/install.log"; exit 1; }
done
