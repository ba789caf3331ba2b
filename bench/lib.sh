# Shared by the benchmark scripts (sourced, not run): logging, wrk, ports,
# wrk's latency figures, and goal verdicts.

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
    exit 2
}

# Installs wrk from the distribution when it is missing.
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    log "installing wrk"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! $sudo apt-get install -y wrk >/dev/null 2>&1; then
        $sudo apt-get update >/dev/null
        $sudo apt-get install -y wrk >/dev/null
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wrk latency "394.00us" / "2.31ms" / "1.02s" → milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else { printf "nan" }
    }'
}

# verdict VALUE ">="|"<=" GOAL → "met" or "MISSED".
verdict() { awk -v v="$1" -v op="$2" -v goal="$3" 'BEGIN { ok = (op == ">=") ? v >= goal : v <= goal; print ok ? "met" : "MISSED" }'; }
