"""Helpers of the API tests: a booking request's JSON body and a webhook receiver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.clock import at


def body(listing, day, start=(9, 30), end=(11, 30), **extra):
    """The JSON of a booking request for `listing` on `day` (lab time)."""
    return {
        "listing_id": listing.id,
        "starts_at": at(day, *start).isoformat(),
        "ends_at": at(day, *end).isoformat(),
        **extra,
    }


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers `status`."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self, path: str) -> list[str]:
        return [json.loads(r["body"])["type"] for r in self.received if r["path"] == path]
