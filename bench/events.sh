#!/usr/bin/env bash
# Events benchmark: unique conversion events posted to POST /api/v1/events
# by 32 concurrent connections for 10 s (wrk -t2 -c32 -d10s), against
# goodword on SQLite with synchronous=FULL. Prints acknowledged events/s
# and p50/p99, then checks that every acknowledged event is stored, once.
#
# Goal: >= 5,000 acknowledged events/s, p99 <= 50 ms. A benchmark, not a
# test: it reports numbers and exits non-zero only when an acknowledged
# event is missing (or it could not run).
#
# Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
#        BENCH_WEBHOOK=1 (a webhook endpoint subscribed to every event, so
#        each event also writes an outbox row; the receiver is
#        examples/webhook_receiver.py), BENCH_REWARDS=1 (the program has a
#        double-sided reward at lead, so each event also issues two rewards
#        with their ledger entries and cap counts), BENCH_FRAUD=defaults (the
#        program keeps the default velocity limits, so every referral after
#        Jane's fifth of the hour is held and stores its finding: a flood;
#        otherwise the limits are out of reach and the checks run without
#        firing), BENCH_KEEP=1 (keep the temporary folder).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
GOODWORD="$TARGET_DIR/release/goodword"

ensure_wrk
command -v curl >/dev/null 2>&1 || die "curl is needed"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (to count stored events)"

log "building release"
(cd "$ROOT" && cargo build --release --quiet --bin goodword)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/goodword-events.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "${RECEIVER_PID:-}" ]; then kill "$RECEIVER_PID" 2>/dev/null || true; fi
    if [ "${BENCH_KEEP:-0}" = "1" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DB="$WORK/bench.db"
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="sqlite://$DB" GOODWORD_SQLITE_SYNCHRONOUS=full RUST_LOG=warn
export GOODWORD_SECRET_KEY="bench-secret-bench-secret-bench-secret"

"$GOODWORD" migrate >/dev/null
KEY="$("$GOODWORD" api-key create --name bench)"
RECEIVER_PID=""
if [ "${BENCH_WEBHOOK:-0}" = "1" ]; then
    export GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true
    RPORT="$(free_port)"
    SECRET="$("$GOODWORD" webhook create --url "http://127.0.0.1:$RPORT/" --description bench)"
    python3 "$ROOT/examples/webhook_receiver.py" "$SECRET" "$RPORT" >"$WORK/receiver.log" 2>&1 &
    RECEIVER_PID=$!
fi
GOODWORD_BIND="127.0.0.1:$PORT" "$GOODWORD" serve >"$WORK/goodword.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "goodword exited; see $WORK/goodword.log"
    sleep 0.1
done

api() { curl -sf -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$2" -d "$3"; }
FRAUD='"fraud": {"velocity": {"per_participant_per_hour": 100000, "per_participant_per_day": 100000, "per_ip_per_day": 100000}}'
if [ "${BENCH_FRAUD:-}" = "defaults" ]; then FRAUD='"fraud": {}'; fi
PROGRAM="{\"name\": \"Bench\", \"destination_url\": \"https://bench.example/\", $FRAUD}"
if [ "${BENCH_REWARDS:-0}" = "1" ]; then
    PROGRAM='{"name": "Bench", "destination_url": "https://bench.example/", '"$FRAUD"',
      "caps": {"per_participant_per_year": {"count": null, "amount": null}},
      "rewards": [
        {"id": "friend", "when": {"stage": "lead"}, "to": "referee",
         "menu": [{"kind": "percent_off", "percent": 20, "label": "20% off"}]},
        {"id": "thanks", "when": {"stage": "lead"}, "to": "referrer",
         "menu": [{"kind": "credit", "amount": 500, "currency": "USD", "label": "$5 credit"}]}]}'
fi
api PUT /api/v1/programs/bench "$PROGRAM" >/dev/null
CODE="$(api POST /api/v1/programs/bench/participants '{"email": "jane@example.com", "name": "Jane"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["code"])')"

log "posting events for $DURATION from $CONNECTIONS connections"
OUT="$WORK/wrk.txt"
GOODWORD_KEY="$KEY" GOODWORD_CODE="$CODE" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/bench/events.lua" "$BASE" >"$OUT" 2>&1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""

requests="$(awk '/ requests in / { print $1 }' "$OUT")"
failed="$(awk '/^Non-2xx or 3xx responses:/ { print $NF }' "$OUT")"
seconds="$(awk '/ requests in / { v = $4; sub(/s,$/, "", v); print v }' "$OUT")"
acknowledged=$((requests - ${failed:-0}))
stored="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from conversion_events").fetchone()[0])' "$DB")"
p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$OUT")")"
p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$OUT")")"
rate="$(awk -v n="$acknowledged" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"

printf '\nEvents (wrk -t%s -c%s -d%s, SQLite synchronous=FULL, %s cores)\n' "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc)"
printf '  acknowledged events/s   %s   (goal >= 5000: %s)\n' "$rate" "$(verdict "$rate" ">=" 5000)"
printf '  p50                     %s ms\n' "$p50"
printf '  p99                     %s ms   (goal <= 50 ms: %s)\n' "$p99" "$(verdict "$p99" "<=" 50)"
printf '  answers other than 2xx  %s\n' "${failed:-0}"
if [ -n "$RECEIVER_PID" ]; then
    queued="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from webhook_deliveries").fetchone()[0])' "$DB")"
    printf '  webhook outbox rows     %s (one per new referral, in its transaction)\n' "$queued"
fi
if [ "${BENCH_REWARDS:-0}" = "1" ]; then
    issued="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from rewards").fetchone()[0])' "$DB")"
    printf '  rewards issued          %s (two per event, in its transaction)
' "$issued"
fi
# Requests still in flight when wrk stopped may be stored without wrk
# having counted their answer: stored may exceed acknowledged by at most
# one per connection, never fall below it.
if [ "$stored" -ge "$acknowledged" ] && [ "$stored" -le $((acknowledged + CONNECTIONS)) ]; then
    printf '  stored check            OK (%s acknowledged, %s stored)\n' "$acknowledged" "$stored"
else
    printf '  stored check            MISMATCH (%s acknowledged, %s stored)\n' "$acknowledged" "$stored"
    exit 1
fi
