#!/usr/bin/env bash
# System libraries that headless Blender (bpy) and EEVEE through EGL need.
# Installs them with apt-get when run as root; otherwise prints the exact command and fails.
set -euo pipefail

PKGS=(libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libglx-mesa0
      libx11-6 libxrender1 libxfixes3 libxi6 libxkbcommon0 libsm6 libice6 libxext6 libxxf86vm1)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: not a Debian/Ubuntu system; make sure these libraries exist: ${PKGS[*]}" >&2
    exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: all present"
    exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    echo "system-deps: installing ${missing[*]}"
    bash -c "$cmd"
else
    echo "system-deps: missing ${missing[*]}. Run as root:" >&2
    echo "    sudo bash -c '$cmd'" >&2
    echo "then run 'make setup' again." >&2
    exit 1
fi
