#!/usr/bin/env bash
# Runs the randomized differential test (tests/integration/differential.rs)
# at scale with a fresh seed: `tests/differential.sh [CASES] [SEED]`.
# A failure prints the seed, the smallest failing program and its input.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dq-target}"
cases="${1:-3000}"
seed="${2:-$(date +%s)}"
echo "differential: $cases cases, seed $seed" >&2
DQ_DIFF_CASES="$cases" DQ_DIFF_SEED="$seed" \
    cargo test --release --test integration random_pipelines_agree -- --nocapture
