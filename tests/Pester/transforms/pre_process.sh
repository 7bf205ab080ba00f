#!/bin/sh
# Test transform: min-max scales the four features and one-hot encodes the species (setosa, versicolor, virginica).
# Usage: pre_process.sh <iris.csv or folder> <out folder>
set -eu
in=$1; out=$2
[ -d "$in" ] && in=$(find "$in" -type f | head -n 1)
awk -F, -v out="$out" '
  NF >= 5 { n++; for (i = 1; i <= 4; i++) { v[n, i] = $i; if (n == 1 || $i < lo[i]) lo[i] = $i; if (n == 1 || $i > hi[i]) hi[i] = $i }; s[n] = $5 }
  END {
    for (r = 1; r <= n; r++) {
      line = ""
      for (i = 1; i <= 4; i++) line = line (i > 1 ? "," : "") sprintf("%.6f", (v[r, i] - lo[i]) / (hi[i] - lo[i]))
      print line > (out "/x_train.csv")
      sp = s[r]; sub(/^Iris-/, "", sp)
      print (sp == "setosa" ? "1,0,0" : sp == "versicolor" ? "0,1,0" : "0,0,1") > (out "/y_train.csv")
    }
    print lo[1] "," lo[2] "," lo[3] "," lo[4] > (out "/scaling.csv")
    print hi[1] "," hi[2] "," hi[3] "," hi[4] > (out "/scaling.csv")
  }' "$in"
