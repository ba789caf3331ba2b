#!/usr/bin/env bash
# From click to won, with rewards: a program with a double-sided reward
# (the referee's welcome discount, the referrer's thanks) and a tier for
# three won referrals; three friends open the participant's link and go
# from lead to won; the webhooks arrive at examples/webhook_receiver.py.
#
# Start goodword first, in another terminal, on the same database (with an
# SMTP sink, as the README's Emails section shows, to see the emails):
#     GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true GOODWORD_SMTP_URL=smtp://127.0.0.1:2525 cargo run --release
# then run this script from the repository's root. GOODWORD names the
# command that runs goodword's CLI (default: cargo run -q --release --).
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
read -r -a GW <<<"${GOODWORD:-cargo run -q --release --}"
gw() { GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true "${GW[@]}" "$@"; }
api() { curl -sS -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$2" ${3:+-d "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "a long enough password" | gw admin create --email ops@example.com >/dev/null 2>&1 || true  # to sign in to /admin
KEY=$(gw api-key create --name click-to-won)
SECRET=$(gw webhook create --url http://127.0.0.1:9000/ --description "click-to-won receiver")
python3 examples/webhook_receiver.py "$SECRET" 9000 &
RECEIVER=$!
trap 'kill $RECEIVER' EXIT
sleep 0.5

api PUT /api/v1/programs/acme '{
  "name": "Acme friends", "destination_url": "https://acme.example/signup",
  "landing": {"headline": "Acme is better with friends", "referee_offer": "20% off your first year"},
  "emails": {"welcome": true, "sender_name": "Acme friends"},
  "rewards": [
    {"id": "welcome", "when": {"stage": "won"}, "to": "referee", "hold_days": 0,
     "menu": [{"kind": "percent_off", "percent": 20, "label": "20% off your first year"}]},
    {"id": "thanks", "when": {"stage": "won"}, "to": "referrer", "hold_days": 0,
     "menu": [{"kind": "credit", "amount": 2000, "currency": "USD", "label": "$20 account credit"},
              {"kind": "coupon", "pool": "spring", "label": "25% off one year"},
              {"kind": "custom", "label": "Early access to new features"}]},
    {"id": "three-friends", "when": {"won_count": 3}, "to": "referrer", "hold_days": 0,
     "menu": [{"kind": "custom", "label": "A year of Acme Pro"}]}]}' >/dev/null
api POST /api/v1/programs/acme/coupons '{"pool": "spring", "codes": ["SPRING-7Q2M", "SPRING-K9XW", "SPRING-3TBD"]}'
echo
JANE=$(api POST /api/v1/programs/acme/participants '{"email": "jane@example.com", "name": "Jane Doe", "external_id": "crm-42"}')
LINK=$(field '["link"]' <<<"$JANE")
CODE=${LINK##*/}

n=0
for friend in bob ann cem; do
  n=$((n + 1))
  # The friend opens the link from WhatsApp: a counted click and the cookie gw_ref={code}.{click_id}.
  CLICK=$(curl -sS -o /dev/null -D - -A 'Mozilla/5.0 (iPhone) Safari/604.1' "$LINK?c=whatsapp" \
    | tr -d '\r' | grep -i '^set-cookie: gw_ref=' | sed -E 's/^[^=]*=[^.]*\.([^;]*);.*/\1/')
  sleep 3.5   # a person takes a few seconds to sign up (sooner is held as too fast); the click is loaded by then
  REFEREE="\"referee\": {\"email\": \"$friend@example.org\", \"external_id\": \"crm-9$n\"}"
  api POST /api/v1/events "{\"id\": \"$friend-1\", \"type\": \"lead\", \"program\": \"acme\", \"click_id\": \"$CLICK\", \"code\": \"$CODE\", $REFEREE}" >/dev/null
  api POST /api/v1/events "{\"id\": \"$friend-2\", \"type\": \"qualified\", \"program\": \"acme\", $REFEREE}" >/dev/null
  api POST /api/v1/events "{\"id\": \"$friend-3\", \"type\": \"opportunity\", \"program\": \"acme\", $REFEREE}" >/dev/null
  api POST /api/v1/events "{\"id\": \"$friend-4\", \"type\": \"won\", \"program\": \"acme\", $REFEREE, \"amount\": 49900, \"currency\": \"EUR\"}"
  echo
done

sleep 1   # let the last webhooks arrive
echo "Jane's rewards:"
api GET '/api/v1/rewards?program=acme&participant=crm-42&to=referrer' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]:
    print("  %-14s %-10s %s" % (r["rule_id"], r["status"], r["reason"]))'
echo "Bob's welcome reward (send him this page): $(api GET '/api/v1/rewards?program=acme' \
  | python3 -c 'import json,sys; print(next(r["page_url"] for r in json.load(sys.stdin)["data"] if r["referee"] and r["referee"]["email"] == "bob@example.org"))')"
echo "Jane chooses in her portal: $(field '["portal_url"]' <<<"$JANE")"
echo "The admin shows her ledger: $BASE/admin/participants/$(field '["id"]' <<<"$JANE")"
