#!/usr/bin/env python3
"""Fake provider APIs for integration and e2e tests: a real HTTP server, Python stdlib only.

Speaks, as the real APIs do (paths, authentication, bodies, status codes, error JSON):
  twilio  POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (SMS and whatsapp: addresses)
  vonage  POST /sms/json                     (form; HTTP 200 with messages[].status, "0" = ok)
  resend  POST /emails                       (Bearer; JSON; {"id"}; Idempotency-Key honoured)
  meta    POST /{version}/{phone_number_id}/messages  (Bearer; WhatsApp Cloud API templates)
records every request, and lets a test inject latency and failures through control endpoints,
for all providers or per provider.

Usage:
  fake_providers.py --port 0 [--host 127.0.0.1] [--account-sid AC...] [--auth-token TOKEN]
                    [--vonage-key K] [--vonage-secret S] [--resend-key re_...]
                    [--meta-token T] [--meta-phone-number-id ID] [--record-file requests.jsonl]

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
                            value; `"reset": true` restores the defaults first. With
                            `"provider": "vonage"` (twilio, vonage, resend, meta) the change
                            applies to that provider's route only, which then no longer follows
                            the global behaviour. Vonage also takes `"vonage_statuses": ["1"]`:
                            HTTP 200 replies whose message status is the popped code.
  DELETE /_fake/behaviour   -> restores the defaults (global and per provider)

A recorded request: {"time": "2026-11-21T21:30:00.123Z", "provider": "twilio", "method": "POST",
"path": "...", "headers": {...}, "form": {"To": "...", ...}, "json": null, "status": 201}
(`json` holds a parsed JSON request body, `form` a parsed form body). The Authorization header
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
import uuid
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


def sms_segments_encoding(body):
    """(segments, "gsm7"|"ucs2") as a carrier counts them: 160/153 septets or 70/67 units."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        septets = sum(2 if c in GSM7_EXTENDED else 1 for c in body)
        return (1 if septets <= 160 else -(-septets // 153)), "gsm7"
    units = len(body.encode("utf-16-le")) // 2
    return (1 if units <= 70 else -(-units // 67)), "ucs2"


def sms_segments(body):
    return sms_segments_encoding(body)[0]


class State:
    """Everything shared between request threads: config, behaviour, recorded requests."""

    def __init__(self, args, record_file):
        self.account_sid = args.account_sid
        self.auth_token = args.auth_token
        self.vonage_key = args.vonage_key
        self.vonage_secret = args.vonage_secret
        self.resend_key = args.resend_key
        self.meta_token = args.meta_token
        self.meta_phone_number_id = args.meta_phone_number_id
        self.lock = threading.Lock()
        self.requests = []
        self.idempotency = {}  # resend: Idempotency-Key -> (body, reply)
        self.record_file = open(record_file, "a", encoding="utf-8") if record_file else None
        self.behaviour = self.default_behaviour()
        self.provider_behaviour = {}  # provider name -> behaviour overriding the global one

    @staticmethod
    def default_behaviour():
        return {"latency_ms": 0, "statuses": [], "retry_after": None, "vonage_statuses": []}

    def update_behaviour(self, change):
        with self.lock:
            provider = change.get("provider")
            if change.get("reset"):
                if provider:
                    self.provider_behaviour.pop(provider, None)
                else:
                    self.behaviour = self.default_behaviour()
                    self.provider_behaviour = {}
            if provider:
                target = self.provider_behaviour.setdefault(provider, self.default_behaviour())
            else:
                target = self.behaviour
            for key in ("latency_ms", "statuses", "retry_after", "vonage_statuses"):
                if key in change:
                    target[key] = list(change[key]) if isinstance(change[key], list) else change[key]
            current = dict(self.behaviour)
            current["providers"] = {k: dict(v) for k, v in self.provider_behaviour.items()}
            return current

    def next_injected(self, provider):
        """(latency seconds, injected status or None, retry_after, vonage status or None)."""
        with self.lock:
            behaviour = self.provider_behaviour.get(provider, self.behaviour)
            statuses = behaviour["statuses"]
            status = statuses.pop(0) if statuses else None
            vonage = behaviour["vonage_statuses"]
            vonage_status = vonage.pop(0) if vonage and provider == "vonage" else None
            return (behaviour["latency_ms"] / 1000.0, status, behaviour["retry_after"],
                    vonage_status)

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

    def handle(self, match, headers, form, data):
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


def bearer_token(headers):
    auth = headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


class VonageSms:
    """POST /sms/json of the Vonage (Nexmo) SMS API: HTTP 200 with a status per message part."""

    provider = "vonage"
    ERROR_TEXT = {
        "1": "Throughput Rate Exceeded - please wait [ 30 ] and retry",
        "2": "Missing to param",
        "3": "Invalid to param",
        "4": "Bad Credentials",
        "5": "Internal Error",
        "6": "Invalid Message",
        "7": "Number barred.",
        "8": "Partner account barred.",
        "9": "Partner quota exceeded.",
        "10": "Too many existing binds",
        "15": "Illegal Sender Address - rejected",
        "29": "Non White-listed Destination - rejected",
    }

    def __init__(self, state):
        self.state = state

    @classmethod
    def refused(cls, status):
        status = str(status)
        return Reply(
            200,
            {
                "message-count": "1",
                "messages": [{"status": status, "error-text": cls.ERROR_TEXT.get(status, "Error")}],
            },
        )

    def injected(self, status, retry_after):
        headers = {"Retry-After": str(retry_after)} if status == 429 and retry_after else {}
        return Reply(status, {"error_title": HTTPStatus(status).phrase}, headers)

    def handle(self, match, headers, form, data):
        for name in ("api_key", "api_secret", "from", "to", "text"):
            if not form.get(name):
                if name in ("api_key", "api_secret"):
                    return self.refused(4) if form.get("api_key") else self.refused(2)
                return Reply(200, {"message-count": "1", "messages": [
                    {"status": "2", "error-text": "Missing %s param" % name}]})
        if form["api_key"] != self.state.vonage_key or form["api_secret"] != self.state.vonage_secret:
            return self.refused(4)
        to = form["to"]
        if not re.match(r"^[1-9][0-9]{6,14}$", to):
            return self.refused(3)
        text = form["text"]
        unicode_type = form.get("type") == "unicode"
        if not unicode_type and sms_segments_encoding(text)[1] == "ucs2":
            # Vonage would garble it; a test that forgets type=unicode must see the difference.
            return self.refused(6)
        segments = sms_segments(text)
        parts = []
        for _ in range(segments):
            part = {
                "to": to,
                "message-id": secrets.token_hex(8).upper(),
                "status": "0",
                "remaining-balance": "10.00000000",
                "message-price": "0.03330000",
                "network": "23410",
            }
            if form.get("client-ref"):
                part["client-ref"] = form["client-ref"]
            parts.append(part)
        return Reply(200, {"message-count": str(segments), "messages": parts})


class ResendEmails:
    """POST /emails of the Resend API (resend.com/docs/api-reference/emails/send-email)."""

    provider = "resend"
    NAMES = {400: "validation_error", 401: "missing_api_key", 403: "invalid_api_key",
             404: "not_found", 422: "validation_error", 429: "rate_limit_exceeded",
             500: "application_error", 503: "application_error"}

    def __init__(self, state):
        self.state = state

    @staticmethod
    def error(status, name, message, headers=None):
        return Reply(status, {"statusCode": status, "name": name, "message": message}, headers)

    def injected(self, status, retry_after):
        headers = {"retry-after": str(retry_after)} if status == 429 and retry_after else {}
        return self.error(status, self.NAMES.get(status, "application_error"),
                          HTTPStatus(status).phrase, headers)

    def handle(self, match, headers, form, data):
        token = bearer_token(headers)
        if token is None:
            return self.error(401, "missing_api_key", "Missing API key in the authorization header.")
        if token != self.state.resend_key:
            return self.error(403, "invalid_api_key", "API key is invalid")
        if not isinstance(data, dict):
            return self.error(422, "validation_error", "Invalid JSON body")
        to = data.get("to")
        to_list = [to] if isinstance(to, str) else to
        for name in ("from", "to", "subject"):
            if not data.get(name):
                return self.error(422, "missing_required_field",
                                  "Missing `%s` field." % name)
        if not isinstance(to_list, list) or not all(
            isinstance(a, str) and re.match(r"^[^@\s<>]+@[^@\s<>]+$", a) for a in to_list
        ) or len(to_list) > 50:
            return self.error(422, "validation_error", "Invalid `to` field.")
        if not re.search(r"[^@\s<>]+@[^@\s<>]+", data["from"]):
            return self.error(422, "validation_error", "Invalid `from` field.")
        if not data.get("html") and not data.get("text"):
            return self.error(422, "validation_error", "Missing `html` or `text` field.")
        key = headers.get("Idempotency-Key")
        with self.state.lock:
            if key and key in self.state.idempotency:
                body, reply = self.state.idempotency[key]
                if body != data:
                    return self.error(409, "invalid_idempotent_request",
                                      "Same idempotency key used with a different request payload.")
                return reply
        reply = Reply(200, {"id": str(uuid.uuid4())})
        if key:
            with self.state.lock:
                self.state.idempotency[key] = (data, reply)
        return reply


class MetaMessages:
    """POST /{version}/{phone_number_id}/messages of the WhatsApp Cloud API (templates only)."""

    provider = "meta"
    CODES = {400: (100, "Invalid parameter"), 401: (190, "Invalid OAuth access token."),
             429: (130429, "Rate limit hit"), 500: (131000, "Something went wrong"),
             503: (131016, "Service unavailable")}

    def __init__(self, state):
        self.state = state

    @staticmethod
    def error(status, code, message, headers=None):
        return Reply(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                        "fbtrace_id": "A" + secrets.token_hex(11)}}, headers)

    def injected(self, status, retry_after):
        code, message = self.CODES.get(status, (131000, HTTPStatus(status).phrase))
        headers = {"Retry-After": str(retry_after)} if status == 429 and retry_after else {}
        return self.error(status, code, message, headers)

    def handle(self, match, headers, form, data):
        token = bearer_token(headers)
        if token != self.state.meta_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if match.group("phone_number_id") != self.state.meta_phone_number_id:
            return self.error(400, 100, "Unsupported post request. Object with ID '%s' does not exist"
                              % match.group("phone_number_id"))
        if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
            return self.error(400, 100, "The parameter messaging_product is required.")
        to = str(data.get("to", ""))
        if not re.match(r"^\+?[1-9][0-9]{6,14}$", to):
            return self.error(400, 131026, "Message Undeliverable.")
        if data.get("type") != "template" or not isinstance(data.get("template"), dict):
            return self.error(400, 131051, "Unsupported message type")
        template = data["template"]
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            return self.error(400, 132001, "Template name does not exist in the translation")
        components = template.get("components") or []
        body = [c for c in components if c.get("type") == "body"]
        button = [c for c in components if c.get("type") == "button"]
        try:
            code = body[0]["parameters"][0]["text"]
            ok = (button[0]["sub_type"] == "url" and str(button[0]["index"]) == "0"
                  and button[0]["parameters"][0]["text"] == code and len(code) <= 15)
        except (IndexError, KeyError, TypeError):
            ok = False
        if not ok:
            return self.error(400, 132000, "Number of parameters does not match the expected number"
                              " of params")
        wa_id = to.lstrip("+")
        return Reply(200, {"messaging_product": "whatsapp",
                           "contacts": [{"input": to, "wa_id": wa_id}],
                           "messages": [{"id": "wamid." + secrets.token_hex(24).upper(),
                                         "message_status": "accepted"}]})


# (method, path pattern, handler class).
ROUTES = [
    (
        "POST",
        re.compile(r"^/2010-04-01/Accounts/(?P<account_sid>[^/]+)/Messages\.json$"),
        TwilioMessages,
    ),
    ("POST", re.compile(r"^/sms/json$"), VonageSms),
    ("POST", re.compile(r"^/emails$"), ResendEmails),
    ("POST", re.compile(r"^/v[0-9]+\.[0-9]+/(?P<phone_number_id>[^/]+)/messages$"), MetaMessages),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects from a real API
    # Headers and body are two writes: without TCP_NODELAY, Nagle plus the client's delayed ACK
    # adds ~40 ms to every response on a kept-alive connection.
    disable_nagle_algorithm = True
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
        latency, injected, retry_after, vonage_status = self.state.next_injected(
            handler_class.provider
        )
        if latency > 0:
            time.sleep(latency)
        handler = handler_class(self.state)
        form = {}
        data = None
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            form = {name: values[0] for name, values in parsed.items()}
        elif content_type.startswith("application/json"):
            try:
                data = json.loads(raw or b"null")
            except ValueError:
                data = None
        if injected is not None:
            reply = handler.injected(int(injected), retry_after)
        elif vonage_status is not None:
            reply = VonageSms.refused(vonage_status)
        else:
            reply = handler.handle(match, self.headers, form, data)
        self.state.record(
            {
                "time": received,
                "provider": handler.provider,
                "method": self.command,
                "path": path,
                "headers": self.recorded_headers(),
                "form": {k: ("***" if k == "api_secret" else v) for k, v in form.items()},
                "json": data,
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
                current["providers"] = {k: dict(v) for k, v in state.provider_behaviour.items()}
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
                provider = change.get("provider")
                if provider is not None and provider not in {r[2].provider for r in ROUTES}:
                    raise ValueError("unknown provider %r" % provider)
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
    parser.add_argument("--vonage-key", default="fake-vonage-key")
    parser.add_argument("--vonage-secret", default="fake-vonage-secret")
    parser.add_argument("--resend-key", default="re_fake_key")
    parser.add_argument("--meta-token", default="fake-meta-token")
    parser.add_argument("--meta-phone-number-id", default="100000000000001")
    parser.add_argument("--record-file", default="", help="append each request as a JSON line")
    args = parser.parse_args()

    Handler.state = State(args, args.record_file)
    ThreadingHTTPServer.request_queue_size = 1024  # the default backlog of 5 drops bursts
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
