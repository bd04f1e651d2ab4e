#!/usr/bin/env bash
# Runs dq's seeded fuzz targets for a set time with fresh seeds (the stable
# stand-in for `cargo fuzz`): `tests/fuzz.sh [SECONDS_PER_TARGET] [FIRST_SEED]`.
#
# Targets (tests/integration): random token soup through the parser, planner
# and executor (`random_programs_never_panic`), generated pipelines
# (`generated_pipelines_run_or_fail_cleanly`), and mutated CSV, NDJSON, gzip
# and Parquet inputs through the readers (`issue8_mutated_inputs_never_crash_the_readers`).
# The CSV chunker's cut points are checked against a whole-file parse by the
# unit tests in src/io/records.rs. `cargo test` runs each target once with its
# default seed (the bounded run in CI). A failure prints the seed to rerun:
#   DQ_FUZZ_SEED=<seed> DQ_FUZZ_CASES=<cases> cargo test --release --test integration <target>
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dq-target}"
seconds="${1:-60}"
seed="${2:-$(date +%s)}"
cargo test --release --test integration --no-run -q 2>/dev/null
targets=("random_programs_never_panic 2000" "generated_pipelines_run_or_fail_cleanly 300"
         "issue8_mutated_inputs_never_crash_the_readers 30")
for entry in "${targets[@]}"; do
  read -r target cases <<<"$entry"
  end=$((SECONDS + seconds))
  runs=0
  while [ "$SECONDS" -lt "$end" ]; do
    log="$(mktemp)"
    if ! DQ_FUZZ_SEED="$seed" DQ_FUZZ_CASES="$cases" \
        cargo test --release -q --test integration "$target" >"$log" 2>&1; then
      cat "$log"
      echo "FAILED: $target with DQ_FUZZ_SEED=$seed DQ_FUZZ_CASES=$cases" >&2
      exit 1
    fi
    rm -f "$log"
    runs=$((runs + 1))
    seed=$((seed + 1))
  done
  echo "$target: $runs runs of $cases cases, no failure" >&2
done
