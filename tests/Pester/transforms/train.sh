#!/bin/sh
# Test transform: a nearest-centroid "model" from the scaled features (fast stand-in for the tutorial's network).
# Usage: train.sh <x_train.csv> <y_train.csv> <out folder>; scaling.csv is read from beside x_train.csv.
set -eu
x=$1; y=$2; out=$3
scaling="$(dirname "$x")/scaling.csv"
paste -d, "$x" "$y" | awk -F, '
  { c = ($5 == 1) ? "Iris-setosa" : ($6 == 1) ? "Iris-versicolor" : "Iris-virginica"; n[c]++; for (i = 1; i <= 4; i++) sum[c, i] += $i }
  END { for (c in n) printf "%s,%.6f,%.6f,%.6f,%.6f\n", c, sum[c,1]/n[c], sum[c,2]/n[c], sum[c,3]/n[c], sum[c,4]/n[c] }' | sort > "$out/model.csv"
cp "$scaling" "$out/scaling.csv"
