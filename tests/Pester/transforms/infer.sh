#!/bin/sh
# Test transform: predicts one species per input row with the nearest centroid.
# Usage: infer.sh <model.csv> <attributes file> <out folder>
set -eu
model=$1; in=$2; out=$3
scaling="$(dirname "$model")/scaling.csv"
awk -F, -v m="$model" -v sc="$scaling" '
  BEGIN {
    getline l < sc; split(l, lo, ","); getline l < sc; split(l, hi, ",")
    while ((getline l < m) > 0) { split(l, f, ","); k++; name[k] = f[1]; for (i = 1; i <= 4; i++) c[k, i] = f[i + 1] }
  }
  NF >= 4 {
    best = ""; bd = 1e9
    for (j = 1; j <= k; j++) { d = 0; for (i = 1; i <= 4; i++) { z = ($i - lo[i]) / (hi[i] - lo[i]) - c[j, i]; d += z * z }; if (d < bd) { bd = d; best = name[j] } }
    print best
  }' "$in" > "$out/$(basename "$in")"
