#!/usr/bin/env bash
# Stops the test control plane and the fake kubelet started by start-k8s.sh and build.ps1, with every process the
# kubelet started for a pod (they would otherwise outlive it).
D=${K8S_DIR:-/tmp/pachps-k8s}
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -9 "$1" 2>/dev/null || true
}
for f in "$D"/*.pid; do
  [ -f "$f" ] && { kill_tree "$(cat "$f")"; rm -f "$f"; }
done
exit 0
