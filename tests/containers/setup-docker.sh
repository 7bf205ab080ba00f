#!/usr/bin/env bash
# Makes Docker usable for the container tests: installs Debian's docker.io and busybox-static when missing (root and
# apt are needed then), starts a dockerd of its own without systemd (on the socket $D/docker.sock, data in $D, no
# iptables or bridge: the tests' containers have no network or the host's) unless it runs already, and imports the
# busybox test image (image.sh) when that daemon lacks it or its /code is older. Stop it with stop-docker.sh.
# Usage: tests/containers/setup-docker.sh   (prints DOCKER_HOST=<socket> last; exits non-zero saying why docker cannot run)
set -euo pipefail
D=${DOCKER_DIR:-/tmp/pachps-docker}
. "$(dirname "$0")/image.sh"
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null || [ ! -x /bin/busybox ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then echo "docker.io and busybox-static are missing, and installing them needs root and apt"; exit 2; fi
  echo "installing docker.io and busybox-static from Debian..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io busybox-static >/dev/null
fi
export DOCKER_HOST="unix://$D/docker.sock"
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "dockerd is not running at $DOCKER_HOST, and starting it needs root"; exit 2; fi
  mkdir -p "$D"
  setsid nohup dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" --host "$DOCKER_HOST" \
    --iptables=false --bridge=none >"$D/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  if ! docker info >/dev/null 2>&1; then echo "dockerd did not start: $(tail -n 3 "$D/dockerd.log" | tr '\n' ' ')"; exit 3; fi
fi
if [ "$(docker image inspect --format '{{index .Config.Labels "pachps.code"}}' "$IMAGE" 2>/dev/null)" != "$HASH" ]; then
  make_image_tar "$D"
  docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' --change "LABEL pachps.code=$HASH" "$D/busybox.tar" "$IMAGE" >/dev/null
  rm -f "$D/busybox.tar"
fi
if ! out=$(docker run --rm --pull=never --network=none "$IMAGE" true 2>&1); then echo "docker cannot run a container here: $out"; exit 3; fi
echo "DOCKER_HOST=$DOCKER_HOST"
