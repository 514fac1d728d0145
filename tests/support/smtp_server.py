#!/usr/bin/env python3
"""A real SMTP server for the email provider tests (Debian's python3-aiosmtpd), stdlib otherwise.

Records every accepted message as one JSON line: {"time", "mail_from", "rcpt_tos", "data" (the
RFC 5322 message as received), "tls" (whether the session had done STARTTLS), "auth" (the user
name, or null)}. Run with the Debian interpreter (/usr/bin/python3), where aiosmtpd is installed.

Usage:
  smtp_server.py --record-file messages.jsonl [--port 0] [--host 127.0.0.1]
                 [--tls-cert cert.pem --tls-key key.pem]   offer STARTTLS and require it
                 [--auth USER:PASSWORD]                      require AUTH (only over TLS)
                 [--reject-rcpt SUBSTRING]                   550 for matching recipients
                 [--defer-rcpt SUBSTRING]                    451 for matching recipients

The first line on stdout is `LISTENING <port>` once the socket accepts connections. SIGTERM or
SIGINT stops it.
"""

import argparse
import asyncio
import json
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, record_file, reject, defer):
        self.record_file = open(record_file, "a", encoding="utf-8")
        self.reject = reject
        self.defer = defer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.defer and self.defer in address:
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "auth": auth_user(session),
        }
        self.record_file.write(json.dumps(entry) + "\n")
        self.record_file.flush()
        return "250 2.0.0 Ok: queued"


def auth_user(session):
    data = session.auth_data if session.authenticated else None
    return data.login.decode() if isinstance(data, LoginPassword) else None


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


async def serve(args):
    recorder = Recorder(args.record_file, args.reject_rcpt, args.defer_rcpt)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    kwargs = {"hostname": "smtp.test", "tls_context": tls_context,
              "require_starttls": tls_context is not None}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(auth_required=True, authenticator=authenticator_for(user, password),
                      auth_require_tls=tls_context is not None)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(recorder, **kwargs), args.host, args.port)
    print("LISTENING %d" % server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record-file", required=True)
    parser.add_argument("--tls-cert", default="")
    parser.add_argument("--tls-key", default="")
    parser.add_argument("--auth", default="")
    parser.add_argument("--reject-rcpt", default="")
    parser.add_argument("--defer-rcpt", default="")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
