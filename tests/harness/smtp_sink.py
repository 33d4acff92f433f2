"""
A tiny SMTP server for tests and the demo: accepts every message and stores
each as one file in MAILDIR/new, named so that sorting the names gives the
order of arrival, even across restarts. Run by tests/harness/smtp.py:

    python3 smtp_sink.py --port PORT MAILDIR

Like aiosmtpd's Message handler, it prepends X-Peer, X-MailFrom and X-RcptTo
headers, so tests can check the envelope as well as the message.
"""

import argparse
import asyncio
import itertools
import os
import signal
import time

from aiosmtpd.smtp import SMTP


class MaildirStore:
    def __init__(self, maildir):
        self.tmp = os.path.join(maildir, "tmp")
        self.new = os.path.join(maildir, "new")
        os.makedirs(self.tmp, exist_ok=True)
        os.makedirs(self.new, exist_ok=True)
        self.seq = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        trace = (f"X-Peer: {session.peer[0]}\r\n"
                 f"X-MailFrom: {envelope.mail_from}\r\n"
                 f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        name = f"{time.time_ns():020d}.{os.getpid()}.{next(self.seq):08d}.eml"
        tmp = os.path.join(self.tmp, name)
        with open(tmp, "wb") as f:
            f.write(trace + envelope.original_content)
        # Readers see a message whole or not at all.
        os.replace(tmp, os.path.join(self.new, name))
        return "250 OK"


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("maildir")
    args = ap.parse_args()

    store = MaildirStore(args.maildir)
    loop = asyncio.new_event_loop()
    # hostname given: the default does a DNS lookup per connection.
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(store, hostname="stafet-smtp-sink", enable_SMTPUTF8=True),
        host=args.host, port=args.port, reuse_address=True))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print(f"smtp_sink: listening on {args.host}:{args.port}, storing in "
          f"{args.maildir}", flush=True)
    loop.run_forever()
    # No wait_closed(): from 3.12 it waits for clients, and a client that
    # keeps its connection open would hold the shutdown. Exit drops them.
    server.close()


if __name__ == "__main__":
    main()
