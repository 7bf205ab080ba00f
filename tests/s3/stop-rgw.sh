#!/usr/bin/env bash
# Stops the test cluster's daemons (radosgw only with --rgw-only).
D=${CEPH_DIR:-/tmp/pachps-rgw}
names="rgw.a"
[ "${1:-}" = "--rgw-only" ] || names="rgw.a osd.0 mon.a"
for n in $names; do
  f="$D/run/client.$n.pid"; [ -f "$f" ] || f="$D/run/$n.pid"
  if [ -f "$f" ]; then kill -9 "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; fi
done
pkill -9 -f "radosgw -c $D/ceph.conf" 2>/dev/null || true
[ "${1:-}" = "--rgw-only" ] || pkill -9 -f "ceph-(mon|osd) -c $D/ceph.conf" 2>/dev/null || true
exit 0
