#!/usr/bin/env bash
# Builds the agent's small native helpers (needs a C compiler: build-essential). Run by scripts/install.sh.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
for src in *.c; do
  out="bin/${src%.c}"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    cc -O2 -Wall -Wextra -o "$out" "$src"
  fi
done
