#!/usr/bin/env bash
# Stops the test control plane and the fake kubelet started by start-k8s.sh and build.ps1.
D=${K8S_DIR:-/tmp/pachps-k8s}
for f in "$D"/*.pid; do
  [ -f "$f" ] && { kill -9 "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; }
done
exit 0
