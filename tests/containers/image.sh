# Sourced by setup-podman.sh and setup-docker.sh: the busybox test image's tar, made offline from Debian's
# busybox-static (a rootfs folder with an applet link per command, /tmp, and tests/Pester/transforms in /code, as the
# tutorial's images hold its code), and the hash of that code, which the image carries as label pachps.code.
CODE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Pester/transforms" && pwd)"
HASH=$(cat "$CODE"/*.sh | sha256sum | cut -c1-16)
IMAGE=${IMAGE:-localhost/pachps-busybox:test}

# make_image_tar <work folder>: writes <work folder>/busybox.tar
make_image_tar() {
  local d=$1
  rm -rf "$d/rootfs"; mkdir -p "$d/rootfs/bin" "$d/rootfs/tmp" "$d/rootfs/pfs" "$d/rootfs/code"
  cp /bin/busybox "$d/rootfs/bin/busybox"
  for applet in $("$d/rootfs/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$d/rootfs/bin/$applet"; done
  chmod 1777 "$d/rootfs/tmp"
  cp "$CODE"/*.sh "$d/rootfs/code/"
  tar -C "$d/rootfs" -cf "$d/busybox.tar" .
  rm -rf "$d/rootfs"
}
