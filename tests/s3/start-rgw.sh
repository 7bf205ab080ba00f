#!/usr/bin/env bash
# Starts a throw-away S3 server for the tests: a single-node Ceph (one monitor, one in-memory OSD) with radosgw on
# 127.0.0.1:$RGW_PORT (monitor on $MON_PORT), path-style, region us-east-1, access key $AK / secret $SK. Installs Debian's packages when
# they are missing (root and apt are needed then). Authentication stays on: radosgw hangs without cephx.
# Usage: tests/s3/start-rgw.sh   (prints the endpoint; stop with tests/s3/stop-rgw.sh)
set -euo pipefail
D=${CEPH_DIR:-/tmp/pachps-rgw}
PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-3300}
AK=${AK:-PACHPSTEST}
SK=${SK:-pachps-test-secret}
if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null || ! command -v curl >/dev/null; then
  echo "installing radosgw, ceph-mon, ceph-osd from Debian..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends radosgw ceph-mon ceph-osd curl >/dev/null
fi
"$(dirname "$0")/stop-rgw.sh" >/dev/null 2>&1 || true
rm -rf "$D"; mkdir -p "$D"/{mon.a,osd.0,run,log}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/keyring
client mount timeout = 30
ms bind ipv6 = false
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
[mon]
mon data = $D/mon.\$id
mon cluster log file = $D/log/cluster.log
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw dns name = 127.0.0.1
rgw data = $D/rgw.a
CONF
C="-c $D/ceph.conf"
K="$D/keyring"
ceph-authtool --create-keyring "$K" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$K" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$K" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
ceph-authtool "$K" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$K"
ceph-mon $C -i a
timeout 60 ceph $C -s >/dev/null
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ceph $C osd new "$OSD_UUID" 0 >/dev/null
ceph-osd $C -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>/dev/null
ceph-osd $C -i 0
mkdir -p "$D/rgw.a"
"$(dirname "$0")/restart-rgw.sh"
radosgw-admin $C user create --uid=pachps --display-name=pachps --access-key="$AK" --secret-key="$SK" >/dev/null
echo "http://127.0.0.1:$PORT"
