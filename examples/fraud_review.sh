#!/usr/bin/env bash
# Fraud and review, end to end: Jane tries her own link with another
# spelling of her address (rejected as a self-referral); then five friends
# sign up through her link from one address within a minute (the first
# ones are leads, the rest held: the per-IP velocity check); a reviewer
# approves one held referral and rejects another from the review queue;
# Jane's portal shows the plain-words reasons. Every check that fires
# arrives as a fraud.flagged webhook at examples/webhook_receiver.py.
#
# Start goodword first, in another terminal, on the same database:
#     GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true cargo run --release
# then run this script from the repository's root. GOODWORD names the
# command that runs goodword's CLI (default: cargo run -q --release --).
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
read -r -a GW <<<"${GOODWORD:-cargo run -q --release --}"
gw() { GOODWORD_ALLOW_PRIVATE_WEBHOOKS=true "${GW[@]}" "$@"; }
api() { curl -sS -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$BASE$2" ${3:+-d "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
csrf() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1; }
UA='Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1'
OWNER=ops@example.com
PASSWORD='a long enough password'
JARS=$(mktemp -d)

echo "$PASSWORD" | gw admin create --email "$OWNER" >/dev/null 2>&1 || true   # the owner reviews too
KEY=$(gw api-key create --name fraud-review)
SECRET=$(gw webhook create --url http://127.0.0.1:9001/ --description "fraud receiver" --event fraud.flagged)
python3 examples/webhook_receiver.py "$SECRET" 9001 &
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null; rm -rf "$JARS"' EXIT
sleep 0.5

api PUT /api/v1/programs/acme '{
  "name": "Acme friends", "destination_url": "https://acme.example/signup",
  "landing": {"headline": "Acme is better with friends", "referee_offer": "20% off your first year"}}' >/dev/null
JANE=$(api POST /api/v1/programs/acme/participants '{"email": "jane.doe@gmail.com", "name": "Jane Doe"}')
LINK=$(field '["link"]' <<<"$JANE")
PORTAL=$(field '["portal_url"]' <<<"$JANE")

# open JAR: the link opened in a browser of its own (the gw_ref cookie)
open_link() { curl -sS -o /dev/null -c "$JARS/$1" -b "$JARS/$1" -A "$UA" "$LINK"; }
# claim JAR EMAIL NAME: the landing page's form, as the browser sends it
claim() {
  local token
  token=$(curl -sS -c "$JARS/$1" -b "$JARS/$1" -A "$UA" "$BASE/join/acme" | csrf)
  curl -sS -o "$JARS/$1.html" -w '%{http_code}' -c "$JARS/$1" -b "$JARS/$1" -A "$UA" -H "Origin: $BASE" \
    --data-urlencode "csrf_token=$token" --data-urlencode "email=$2" --data-urlencode "name=$3" "$BASE/join/acme"
}

echo "1. Jane opens her own link and claims it with another spelling of her address:"
open_link jane
sleep 4   # a claim sooner than 3 s after the click would be held as too fast
status=$(claim jane 'Jane.Doe+again@googlemail.com' 'Jane')
echo "   $status: $(sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p' "$JARS/jane.html")"

echo "2. Five friends sign up through her link from one address:"
for friend in ann bob cem dia eve; do open_link "$friend"; done
sleep 4
for friend in ann bob cem dia eve; do
  echo "   $friend@example.org: $(claim "$friend" "$friend@example.org" "${friend^} Friend") (sent on to the destination)"
done

sleep 1   # let the webhooks arrive
echo "   The referrals, as the API lists them:"
api GET '/api/v1/referrals?program=acme' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]:
    print("     %-30s stage %-9s review %s" % (r["referee"]["email"], r["stage"], r["review"]))'
HELD=($(api GET '/api/v1/referrals?program=acme' | python3 -c '
import json, sys
print(" ".join(r["id"] for r in json.load(sys.stdin)["data"] if r["review"] == "held"))'))

echo "3. A reviewer signs in and decides two held referrals from the queue:"
ADMIN="$JARS/admin"
token=$(curl -sS -c "$ADMIN" -b "$ADMIN" "$BASE/admin/login" | csrf)
curl -sS -o /dev/null -c "$ADMIN" -b "$ADMIN" -H "Origin: $BASE" --data-urlencode "csrf_token=$token" \
  --data-urlencode "email=$OWNER" --data-urlencode "password=$PASSWORD" "$BASE/admin/login"
decide() {
  local token
  token=$(curl -sS -c "$ADMIN" -b "$ADMIN" "$BASE/admin/review" | csrf)
  curl -sS -o /dev/null -w '%{http_code}' -c "$ADMIN" -b "$ADMIN" -H "Origin: $BASE" \
    --data-urlencode "csrf_token=$token" --data-urlencode "decision=$2" --data-urlencode "reason=$3" \
    --data-urlencode "note=$4" "$BASE/admin/review/$1"
}
echo "   approve ${HELD[0]}: $(decide "${HELD[0]}" approve shared_network 'her flatmate; checked by phone')"
echo "   reject  ${HELD[1]}: $(decide "${HELD[1]}" reject scripted_signups 'same minute, same address, no activity')"

echo "4. Jane's portal ($PORTAL) says, beside each referral:"
curl -sS -A "$UA" "$PORTAL" | python3 -c '
import html, re, sys
page = sys.stdin.read()
for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
    cells = [html.unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    if len(cells) >= 2:
        name, rest = " ".join(cells[0]), " ".join(cells[1])
        note = re.search(r"(under review[^<]*|not eligible[^<]*)", row)
        print("   %-12s %s" % (name, html.unescape(note.group(1)) if note else "(going ahead)"))'
echo "The queue and each referral's evidence: $BASE/admin/review, $BASE/admin/referrals"
