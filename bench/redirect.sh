#!/usr/bin/env bash
# Redirect benchmark: goodword's GET /r/{code} against a bare actix-web
# server that answers every /r/{code} with a fixed 302, on this machine.
#
# Builds release, seeds a SQLite database with a program of N participants
# (BENCH_PARTICIPANTS, default 10000), then runs ROUNDS (default 3)
# interleaved rounds of `wrk -t2 -c64 -d10s --latency` over random codes:
# goodword first, then the bare server, then the bare server sending
# goodword's response headers (what the headers cost by themselves).
# Prints requests/s, p50/p99, RSS and server CPU time per request, the
# ratios, and checks after each shutdown that goodword's click rows equal
# the redirects it answered. During goodword's rounds a probe also posts a
# conversion event four times a second and reports how long those writes
# took while the redirects kept the processor busy.
#
# Goal: >= 0.90 of the bare server's throughput, p99 <= 15 ms, RSS <= 64 MB,
# every click recorded. A benchmark, not a test: it reports numbers and
# exits non-zero only when clicks were lost (or it could not run).
#
# Usage: bench/redirect.sh            (from any directory)
# Knobs: BENCH_ROUNDS, BENCH_DURATION (10s), BENCH_THREADS (2),
#        BENCH_CONNECTIONS (64), BENCH_PARTICIPANTS (10000), BENCH_KEEP=1
#        (keep the temporary directory with the database and wrk outputs).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ROUNDS="${BENCH_ROUNDS:-3}"
DURATION="${BENCH_DURATION:-10s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
PARTICIPANTS="${BENCH_PARTICIPANTS:-10000}"
LUA="$ROOT/bench/redirect.lua"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
GOODWORD="$TARGET_DIR/release/goodword"
BARE="$TARGET_DIR/release/examples/bare_redirect"
SEED="$TARGET_DIR/release/examples/bench_seed"

# --- tools ------------------------------------------------------------------

ensure_wrk
command -v curl >/dev/null 2>&1 || die "curl is needed"

log "building release (goodword, bare_redirect, bench_seed)"
(cd "$ROOT" && cargo build --release --quiet --bin goodword --example bare_redirect --example bench_seed)

# --- scratch space and cleanup ------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/goodword-bench.XXXXXX")"
SERVER_PID=""
PROBE_PID=""
cleanup() {
    [ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null || true
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${BENCH_KEEP:-0}" = "1" ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB="$WORK/bench.db"
CODES="$WORK/codes.txt"
CLK_TCK="$(getconf CLK_TCK)"


# utime + stime of a process, in clock ticks (fields 14 and 15 of stat,
# counted after the command name, which may hold spaces).
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")"
    stat="${stat##*) }"
    awk '{ print $12 + $13 }' <<<"$stat"
}

rss_mb() {
    ps -o rss= -p "$1" | awk '{ printf "%.1f", $1 / 1024 }'
}

# Waits until `curl URL` answers with the status given.
wait_for() {
    local url="$1" want="$2" pid="$3" i
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || die "the server (pid $pid) exited before it was ready; see $WORK/*.log"
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null || true)" = "$want" ]; then
            return 0
        fi
        sleep 0.05
    done
    die "$url did not answer $want within 10 s"
}

stop_server() {
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    [ "$rc" -eq 0 ] || log "server exited with status $rc"
}

# The server's own count of redirects answered (302s of the route /r/{code}).
redirects_answered() {
    curl -s "http://127.0.0.1:$1/metrics" |
        awk '/^goodword_http_requests_total\{/ && /route="\/r\/\{code\}"/ && /status="302"/ { n += $NF } END { print n + 0 }'
}


# Runs the measured wrk against BASE with the server PID; sets R_RPS,
# R_P50, R_P99, R_RSS, R_CPU_US, R_REQUESTS, R_NON302 and writes OUT.
measure() {
    local base="$1" pid="$2" out="$3" before after
    # Warm-up: fills goodword's link cache and the bare server's buffers.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$LUA" "$base" -- "$CODES" >"$out.warmup" 2>&1
    before="$(cpu_ticks "$pid")"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$base" -- "$CODES" >"$out" 2>&1
    after="$(cpu_ticks "$pid")"
    R_RSS="$(rss_mb "$pid")"
    R_RPS="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
    R_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    R_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    R_REQUESTS="$(awk '/ requests in / { print $1 }' "$out")"
    R_NON302="$(awk '/^Non-302 responses:/ { print $3 }' "$out")"
    [ -n "$R_RPS" ] && [ -n "$R_REQUESTS" ] || die "could not read wrk's output $out"
    R_CPU_US="$(awk -v d="$((after - before))" -v t="$CLK_TCK" -v n="$R_REQUESTS" \
        'BEGIN { if (n > 0) printf "%.1f", d / t * 1e6 / n; else print "nan" }')"
}

# --- seed ----------------------------------------------------------------------

log "seeding $PARTICIPANTS participants into $DB"
"$SEED" seed "$DB" "$CODES" "$PARTICIPANTS"
[ "$(wc -l <"$CODES")" -eq "$PARTICIPANTS" ] || die "expected $PARTICIPANTS codes in $CODES"
export GOODWORD_SECRET_KEY="bench-secret-bench-secret-bench-secret"
API_KEY="$(DATABASE_URL="sqlite://$DB" "$GOODWORD" api-key create --name bench)"
PROBE_CODE="$(head -n 1 "$CODES")"

# Posts a `lead` event every 250 ms to BASE until killed, one line per
# event: "<status> <seconds>" (writes beside the redirect burst).
write_probe() {
    local base="$1" i=0 id
    while :; do
        i=$((i + 1))
        id="probe-$$-$RANDOM-$i"
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $API_KEY" \
            -H 'Content-Type: application/json' \
            -d "{\"id\":\"$id\",\"type\":\"lead\",\"program\":\"bench\",\"code\":\"$PROBE_CODE\",\"referee\":{\"external_id\":\"$id\"}}" \
            "$base/api/v1/events" || true
        sleep 0.25
    done
}

# --- rounds --------------------------------------------------------------------

declare -a GW_RPS GW_P50 GW_P99 GW_RSS GW_CPU BARE_RPS BARE_P50 BARE_P99 BARE_RSS BARE_CPU HDR_RPS HDR_CPU
REDIRECTS_TOTAL=0
CLICK_CHECK="OK"
NON302_TOTAL=0

printf '\n%-6s %-9s %10s %9s %9s %8s %10s  %s\n' round server "req/s" "p50 ms" "p99 ms" "RSS MB" "CPU us/req" "clicks"
for round in $(seq 1 "$ROUNDS"); do
    # goodword
    port="$(free_port)"
    RUST_LOG=warn DATABASE_URL="sqlite://$DB" GOODWORD_BIND="127.0.0.1:$port" \
        GOODWORD_REDIRECT_RATE_LIMIT=100000000 \
        "$GOODWORD" serve >"$WORK/goodword-$round.log" 2>&1 &
    SERVER_PID=$!
    wait_for "http://127.0.0.1:$port/readyz" 200 "$SERVER_PID"
    write_probe "http://127.0.0.1:$port" >"$WORK/writes-$round.txt" 2>/dev/null &
    PROBE_PID=$!
    measure "http://127.0.0.1:$port" "$SERVER_PID" "$WORK/wrk-goodword-$round.txt"
    kill "$PROBE_PID" 2>/dev/null || true
    wait "$PROBE_PID" 2>/dev/null || true
    cat "$WORK/writes-$round.txt" >>"$WORK/writes.txt"
    # Requests that wrk abandoned at its deadline may still be in the
    # server (waiting for room in the click queue); they are answered and
    # counted after wrk has gone. Read the count once it stops moving.
    answered="$(redirects_answered "$port")"
    for _ in $(seq 1 30); do
        sleep 1
        now="$(redirects_answered "$port")"
        [ "$now" = "$answered" ] && break
        answered="$now"
    done
    stop_server
    REDIRECTS_TOTAL=$((REDIRECTS_TOTAL + answered))
    rows="$("$SEED" count "$DB")"
    if [ "$rows" -eq "$REDIRECTS_TOTAL" ]; then
        check="OK ($rows rows = $REDIRECTS_TOTAL redirects)"
    else
        check="MISMATCH ($rows rows, $REDIRECTS_TOTAL redirects)"
        CLICK_CHECK="MISMATCH"
    fi
    NON302_TOTAL=$((NON302_TOTAL + ${R_NON302:-0}))
    GW_RPS+=("$R_RPS") GW_P50+=("$R_P50") GW_P99+=("$R_P99") GW_RSS+=("$R_RSS") GW_CPU+=("$R_CPU_US")
    printf '%-6s %-9s %10s %9s %9s %8s %10s  %s\n' "$round" goodword "$R_RPS" "$R_P50" "$R_P99" "$R_RSS" "$R_CPU_US" "$check"
    [ "${R_NON302:-0}" -eq 0 ] || printf '       goodword answered %s requests with another status than 302\n' "$R_NON302"

    # the bare server
    port="$(free_port)"
    "$BARE" "127.0.0.1:$port" >"$WORK/bare-$round.log" 2>&1 &
    SERVER_PID=$!
    wait_for "http://127.0.0.1:$port/r/warm" 302 "$SERVER_PID"
    measure "http://127.0.0.1:$port" "$SERVER_PID" "$WORK/wrk-bare-$round.txt"
    stop_server
    BARE_RPS+=("$R_RPS") BARE_P50+=("$R_P50") BARE_P99+=("$R_P99") BARE_RSS+=("$R_RSS") BARE_CPU+=("$R_CPU_US")
    printf '%-6s %-9s %10s %9s %9s %8s %10s\n' "$round" bare "$R_RPS" "$R_P50" "$R_P99" "$R_RSS" "$R_CPU_US"

    # the bare server sending goodword's headers: what they cost alone
    port="$(free_port)"
    "$BARE" "127.0.0.1:$port" --goodword-headers >"$WORK/bare-headers-$round.log" 2>&1 &
    SERVER_PID=$!
    wait_for "http://127.0.0.1:$port/r/warm" 302 "$SERVER_PID"
    measure "http://127.0.0.1:$port" "$SERVER_PID" "$WORK/wrk-bare-headers-$round.txt"
    stop_server
    HDR_RPS+=("$R_RPS") HDR_CPU+=("$R_CPU_US")
    printf '%-6s %-9s %10s %9s %9s %8s %10s\n' "$round" "bare+hdrs" "$R_RPS" "$R_P50" "$R_P99" "$R_RSS" "$R_CPU_US"
done

# --- summary -------------------------------------------------------------------

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -n 1; }

gw_rps="$(median "${GW_RPS[@]}")"
bare_rps="$(median "${BARE_RPS[@]}")"
ratio="$(awk -v a="$gw_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
gw_p50="$(median "${GW_P50[@]}")" bare_p50="$(median "${BARE_P50[@]}")"
gw_p99="$(maximum "${GW_P99[@]}")" bare_p99="$(maximum "${BARE_P99[@]}")"
gw_rss="$(maximum "${GW_RSS[@]}")" bare_rss="$(maximum "${BARE_RSS[@]}")"
gw_cpu="$(median "${GW_CPU[@]}")" bare_cpu="$(median "${BARE_CPU[@]}")"

printf '\nSummary (%s rounds, wrk -t%s -c%s -d%s, %s participants, %s cores)\n' \
    "$ROUNDS" "$THREADS" "$CONNECTIONS" "$DURATION" "$PARTICIPANTS" "$(nproc)"
printf '  %-26s %12s %12s\n' "" goodword bare
printf '  %-26s %12s %12s\n' "median req/s" "$gw_rps" "$bare_rps"
printf '  %-26s %12s %12s\n' "median p50 (ms)" "$gw_p50" "$bare_p50"
printf '  %-26s %12s %12s\n' "worst p99 (ms)" "$gw_p99" "$bare_p99"
printf '  %-26s %12s %12s\n' "max RSS (MB)" "$gw_rss" "$bare_rss"
printf '  %-26s %12s %12s\n' "median CPU per request (us)" "$gw_cpu" "$bare_cpu"
printf '  ratio goodword/bare req/s   %s   (goal >= 0.90: %s)\n' "$ratio" "$(verdict "$ratio" ">=" 0.90)"
printf '  goodword worst p99          %s ms   (goal <= 15 ms: %s)\n' "$gw_p99" "$(verdict "$gw_p99" "<=" 15)"
printf '  goodword max RSS            %s MB   (goal <= 64 MB: %s)\n' "$gw_rss" "$(verdict "$gw_rss" "<=" 64)"
printf '  CPU ratio goodword/bare     %s\n' "$(awk -v a="$gw_cpu" -v b="$bare_cpu" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
hdr_rps="$(median "${HDR_RPS[@]}")"
printf '  bare with goodword headers  %s req/s, %s of bare; goodword is %s of it\n' "$hdr_rps" \
    "$(awk -v a="$hdr_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')" \
    "$(awk -v a="$gw_rps" -v b="$hdr_rps" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
printf '  non-302 answers (goodword)  %s\n' "$NON302_TOTAL"
mapfile -t WRITE_MS < <(awk '{ printf "%.0f\n", $2 * 1000 }' "$WORK/writes.txt")
printf '  writes during the bursts    %s events posted, %s not 2xx, median %s ms, slowest %s ms\n' \
    "${#WRITE_MS[@]}" "$(awk '$1 !~ /^2/' "$WORK/writes.txt" | wc -l)" "$(median "${WRITE_MS[@]}")" "$(maximum "${WRITE_MS[@]}")"
printf '  click check                 %s (%s redirects answered, %s click rows)\n' \
    "$CLICK_CHECK" "$REDIRECTS_TOTAL" "$("$SEED" count "$DB")"

[ "$CLICK_CHECK" = "OK" ] || exit 1
