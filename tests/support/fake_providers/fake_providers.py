#!/usr/bin/env python3
"""Fake provider APIs for integration and e2e tests: a real HTTP server, Python stdlib only.

Speaks Twilio's Programmable Messaging API as Twilio does (paths, HTTP Basic auth, form bodies,
status codes, error JSON, message JSON), records every request, and lets a test inject latency
and failures through control endpoints. Other providers (Vonage, Resend, Meta WhatsApp) plug in
by adding a handler class and its entries to ROUTES.

Usage:
  fake_providers.py --port 0 [--host 127.0.0.1] [--account-sid AC...] [--auth-token TOKEN]
                    [--record-file requests.jsonl]

The first line on stdout is `LISTENING <port>` once the socket accepts connections.

Control API (JSON):
  GET    /_fake/health      -> {"ok": true}
  GET    /_fake/requests    -> [recorded request, ...] (oldest first)
  DELETE /_fake/requests    -> clears the record
  GET    /_fake/behaviour   -> the current behaviour
  POST   /_fake/behaviour   {"latency_ms": 250, "statuses": [503, 503, 429], "retry_after": 7}
                            latency applies to every provider request until changed; each provider
                            request pops one status from `statuses` and fails with it (Twilio-shaped
                            error JSON; 429 carries `Retry-After: <retry_after>` if set); when the
                            queue is empty requests are served normally. Omitted keys keep their
                            value; `"reset": true` restores the defaults first.
  DELETE /_fake/behaviour   -> restores the defaults

A recorded request: {"time": "2026-11-21T21:30:00.123Z", "provider": "twilio", "method": "POST",
"path": "...", "headers": {...}, "form": {"To": "...", ...}, "status": 201}. The Authorization header
is recorded as "Basic <user>:***": the user (Twilio's account sid) is kept, the secret is not.
"""

import argparse
import base64
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def utc_now_rfc3339():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int(now % 1 * 1000)


def rfc2822_now():
    # Twilio writes "+0000"; email.utils.formatdate writes "-0000" for UTC.
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())


def sms_segments(body):
    """Segments as a carrier counts them: GSM-7 (160/153 septets) or UCS-2 (70/67 units)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        septets = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


class State:
    """Everything shared between request threads: config, behaviour, recorded requests."""

    def __init__(self, account_sid, auth_token, record_file):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.requests = []
        self.record_file = open(record_file, "a", encoding="utf-8") if record_file else None
        self.behaviour = self.default_behaviour()

    @staticmethod
    def default_behaviour():
        return {"latency_ms": 0, "statuses": [], "retry_after": None}

    def update_behaviour(self, change):
        with self.lock:
            if change.get("reset"):
                self.behaviour = self.default_behaviour()
            for key in ("latency_ms", "statuses", "retry_after"):
                if key in change:
                    self.behaviour[key] = change[key]
            return dict(self.behaviour)

    def next_injected(self):
        """(latency seconds, injected status or None, retry_after) for one provider request."""
        with self.lock:
            statuses = self.behaviour["statuses"]
            status = statuses.pop(0) if statuses else None
            return self.behaviour["latency_ms"] / 1000.0, status, self.behaviour["retry_after"]

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.record_file:
                self.record_file.write(json.dumps(entry) + "\n")
                self.record_file.flush()

    def close(self):
        if self.record_file:
            self.record_file.close()


class Reply:
    def __init__(self, status, body, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class TwilioMessages:
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, as Twilio's REST API answers it."""

    provider = "twilio"
    ERROR_TEXT = {
        400: (21211, "Invalid 'To' Phone Number"),
        401: (20003, "Authenticate"),
        403: (20003, "Permission Denied"),
        404: (20404, "The requested resource was not found"),
        429: (20429, "Too Many Requests"),
        500: (20500, "Internal Server Error"),
        503: (20503, "Service Unavailable"),
    }

    def __init__(self, state):
        self.state = state

    @staticmethod
    def error(status, code, message, headers=None):
        body = {
            "code": code,
            "message": message,
            "more_info": "https://www.twilio.com/docs/errors/%d" % code,
            "status": status,
        }
        return Reply(status, body, headers)

    def injected(self, status, retry_after):
        code, message = self.ERROR_TEXT.get(status, (20500, HTTPStatus(status).phrase))
        headers = {}
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return self.error(status, code, message, headers)

    def authenticated_user(self, headers):
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if user != self.state.account_sid or password != self.state.auth_token:
            return None
        return user

    def handle(self, match, headers, form):
        if self.authenticated_user(headers) is None:
            return self.error(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        account_sid = match.group("account_sid")
        if account_sid != self.state.account_sid:
            return self.error(
                404,
                20404,
                "The requested resource /2010-04-01/Accounts/%s/Messages.json was not found"
                % account_sid,
            )
        to = form.get("To", "")
        sender = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        if not to:
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return self.error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return self.error(400, 21602, "Message body is required.")
        if not E164.match(to.removeprefix("whatsapp:")):
            return self.error(400, 21211, "Invalid 'To' Phone Number: %s" % to)
        if len(body) > 1600:
            return self.error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )

        sid = "SM" + secrets.token_hex(16)
        now = rfc2822_now()
        uri = "/2010-04-01/Accounts/%s/Messages/%s" % (account_sid, sid)
        message = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            # Twilio answers 0 segments until a Messaging Service has picked a sender.
            "num_segments": "0" if service else str(sms_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": uri + "/Media.json"},
            "to": to,
            "uri": uri + ".json",
        }
        return Reply(201, message)


# (method, path pattern, handler class). Vonage (`POST /sms/json`), Resend (`POST /emails`) and
# Meta (`POST /v{version}/{phone_number_id}/messages`) go here, each with its own handler class.
ROUTES = [
    (
        "POST",
        re.compile(r"^/2010-04-01/Accounts/(?P<account_sid>[^/]+)/Messages\.json$"),
        TwilioMessages,
    ),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects from a real API
    server_version = "fake-providers/1"
    state = None  # set by main()

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        sys.stderr.write("%s %s\n" % (utc_now_rfc3339(), format % args))

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def dispatch(self):
        received = utc_now_rfc3339()
        raw = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_fake/"):
            self.control(path, raw)
            return
        for method, pattern, handler_class in ROUTES:
            match = pattern.match(path)
            if match and method == self.command:
                self.serve_provider(handler_class, match, path, raw, received)
                return
        self.send_json(404, {"code": 20404, "message": "Not Found", "status": 404})

    def serve_provider(self, handler_class, match, path, raw, received):
        latency, injected, retry_after = self.state.next_injected()
        if latency > 0:
            time.sleep(latency)
        handler = handler_class(self.state)
        form = {}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            form = {name: values[0] for name, values in parsed.items()}
        if injected is not None:
            reply = handler.injected(int(injected), retry_after)
        else:
            reply = handler.handle(match, self.headers, form)
        self.state.record(
            {
                "time": received,
                "provider": handler.provider,
                "method": self.command,
                "path": path,
                "headers": self.recorded_headers(),
                "form": form,
                "body": None if form else raw.decode("utf-8", "replace"),
                "status": reply.status,
            }
        )
        self.send_json(reply.status, reply.body, reply.headers)

    def recorded_headers(self):
        recorded = {}
        for name, value in self.headers.items():
            if name.lower() == "authorization" and value.startswith("Basic "):
                try:
                    user = base64.b64decode(value[6:]).decode().partition(":")[0]
                except (ValueError, UnicodeDecodeError):
                    user = "?"
                value = "Basic %s:***" % user
            elif name.lower() == "authorization":
                value = value.split(" ", 1)[0] + " ***"
            recorded[name] = value
        return recorded

    def control(self, path, raw):
        state = self.state
        if path == "/_fake/health" and self.command == "GET":
            self.send_json(200, {"ok": True})
        elif path == "/_fake/requests" and self.command == "GET":
            with state.lock:
                snapshot = list(state.requests)
            self.send_json(200, snapshot)
        elif path == "/_fake/requests" and self.command == "DELETE":
            with state.lock:
                state.requests.clear()
            self.send_json(200, {"cleared": True})
        elif path == "/_fake/behaviour" and self.command == "GET":
            with state.lock:
                current = dict(state.behaviour)
            self.send_json(200, current)
        elif path == "/_fake/behaviour" and self.command == "POST":
            try:
                change = json.loads(raw or b"{}")
                if not isinstance(change, dict):
                    raise ValueError("behaviour must be a JSON object")
                statuses = change.get("statuses", [])
                if not isinstance(statuses, list) or not all(
                    isinstance(s, int) and 100 <= s <= 599 for s in statuses
                ):
                    raise ValueError("statuses must be a list of HTTP status codes")
            except ValueError as error:
                self.send_json(400, {"error": str(error)})
                return
            self.send_json(200, state.update_behaviour(change))
        elif path == "/_fake/behaviour" and self.command == "DELETE":
            self.send_json(200, state.update_behaviour({"reset": True}))
        else:
            self.send_json(404, {"error": "unknown control endpoint"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="fake-auth-token")
    parser.add_argument("--record-file", default="", help="append each request as a JSON line")
    args = parser.parse_args()

    Handler.state = State(args.account_sid, args.auth_token, args.record_file)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, which runs in this (the main) thread:
        # call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        Handler.state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
