#!/usr/bin/env bash
# Stops the dockerd that setup-docker.sh started (its containers go with it) and removes its folder.
D=${DOCKER_DIR:-/tmp/pachps-docker}
if [ -f "$D/dockerd.pid" ]; then
  pid=$(cat "$D/dockerd.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi
# dockerd leaves its network namespace (and, when killed, overlay mounts) mounted under its folder.
awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
rm -rf "$D"
