# Shared by the benchmark scripts (sourced, not run).

# measure CMD...: prints "seconds rss_mb" for CMD from /usr/bin/time -v, with
# CMD's stdout discarded. CMD's stderr goes to $ERR when set (for the caller
# to read), else to a temporary file; on failure prints "fail -" and shows
# the last lines of that stderr.
measure() {
  local log err="${ERR:-}"
  log=$(mktemp)
  [ -n "$err" ] || err=$(mktemp)
  if /usr/bin/time -v -o "$log" "$@" > /dev/null 2> "$err"; then
    local wall rss
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(grep "Maximum resident set size" "$log" | awk '{print int($NF/1024)}')
    echo "$wall $rss"
  else
    echo "fail -"
    tail -3 "$err" >&2
  fi
  rm -f "$log"
  [ -n "${ERR:-}" ] || rm -f "$err"
}

# build_dq: builds dq's release binary in the shared target directory (the
# one .ci/run uses, outside the clone) and sets DQ to its path.
build_dq() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dq-target}"
  cargo build --release --quiet
  DQ="$CARGO_TARGET_DIR/release/dq"
}
