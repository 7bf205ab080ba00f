#!/usr/bin/env bash
# Makes Podman usable for the container tests and benchmarks: installs Debian's podman, runc and busybox-static when
# missing (root and apt are needed then), writes a containers.conf that podman 4.3 needs as root where the cgroup
# layout is hybrid (runc: crun 1.8 refuses it; explicit ulimits: root lacks CAP_SYS_RESOURCE to raise them), and
# imports the busybox test image (image.sh) when podman lacks it or its /code is older.
# Usage: tests/containers/setup-podman.sh   (prints CONTAINERS_CONF=<path> last; exits non-zero saying why podman cannot run)
set -euo pipefail
D=${CONTAINERS_DIR:-/tmp/pachps-containers}
. "$(dirname "$0")/image.sh"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /bin/busybox ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then echo "podman, runc and busybox-static are missing, and installing them needs root and apt"; exit 2; fi
  echo "installing podman, runc and busybox-static from Debian..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc busybox-static >/dev/null
fi
mkdir -p "$D"
cat > "$D/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$D/containers.conf"
if [ "$(podman image inspect --format '{{index .Labels "pachps.code"}}' "$IMAGE" 2>/dev/null)" != "$HASH" ]; then
  make_image_tar "$D"
  podman import --quiet --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' --change "LABEL pachps.code=$HASH" "$D/busybox.tar" "$IMAGE" >/dev/null
  rm -f "$D/busybox.tar"
fi
# A container must start here: say why not when it cannot.
if ! out=$(podman run --rm --pull=never --network=none "$IMAGE" true 2>&1); then echo "podman cannot run a container here: $out"; exit 3; fi
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
