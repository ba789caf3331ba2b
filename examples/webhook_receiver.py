#!/usr/bin/env python3
"""A webhook receiver for trying goodword out: it checks each delivery's
signature the way the README describes and prints what arrived.

    python3 examples/webhook_receiver.py whsec_... [port]

Standard library only. Answers 204 to a delivery whose signature checks
out, 401 otherwise (goodword then retries it).
"""

import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 5 * 60


def verify(secret: str, headers, body: bytes) -> bool:
    """Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with
    the base64-decoded secret; any of the space-separated "v1,..." may match."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, signature.split(",", 1)[1])
        for signature in headers["webhook-signature"].split()
        if signature.startswith("v1,")
    )


class Receiver(BaseHTTPRequestHandler):
    seen = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not verify(SECRET, self.headers, body):
            self.send_response(401)
            self.end_headers()
            print("refused: the signature does not verify", flush=True)
            return
        msg_id = self.headers["webhook-id"]
        event = json.loads(body)
        again = " (again: already handled)" if msg_id in Receiver.seen else ""
        Receiver.seen.add(msg_id)
        data = event["data"]
        if event["type"].startswith("reward."):
            chosen = f", chose {data['chosen']['label']}" if data.get("chosen") else ""
            print(f"{event['type']}: {data.get('to')} reward {data.get('id')} ({data.get('rule_id')}) "
                  f"is {data.get('status')}{chosen}{again}", flush=True)
        elif event["type"] == "fraud.flagged":
            checks = "; ".join(f"{c['check']} ({c['action']}): {c['evidence']}" for c in data["checks"])
            print(f"{event['type']}: referral {data.get('referral_id')} {data.get('action')}: {checks}{again}",
                  flush=True)
        else:
            print(f"{event['type']}: referral {data.get('id')} is at {data.get('stage')}{again}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    SECRET = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
