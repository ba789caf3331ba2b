"""A real SMTP server for the tests (aiosmtpd): every message it accepts is
written to DIR as JSON (envelope, headers, the text and HTML parts), so a
test can read what a mail client would. --fail-first N answers the first N
messages with 451 (a temporary failure); --reject answers every one with 550.
Prints "ready PORT" once it listens. Run with Debian's python3 (python3-aiosmtpd).
"""
import argparse
import email
import email.policy
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, fail_first, reject):
        self.directory = directory
        self.fail_first = fail_first
        self.reject = reject
        self.seen = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seen += 1
            n = self.seen
        if self.reject:
            return "550 5.7.1 rejected by the test sink"
        if n <= self.fail_first:
            return "451 4.3.0 try again later (test sink)"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "multipart":
                continue
            parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in message.items()],
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        path = os.path.join(self.directory, f"{n:06d}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject", action="store_true")
    args = parser.parse_args()
    controller = Controller(Sink(args.dir, args.fail_first, args.reject), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"ready {args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
