#!/usr/bin/env bash
# (Re)starts only the radosgw daemon of the test cluster and waits until it answers (the fault tests stop it).
set -euo pipefail
D=${CEPH_DIR:-/tmp/pachps-rgw}
PORT=${RGW_PORT:-7480}
radosgw -c "$D/ceph.conf" -n client.rgw.a
for i in $(seq 240); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && exit 0; sleep 0.25; done
echo "radosgw did not answer on port $PORT" >&2
exit 1
