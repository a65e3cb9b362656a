"""A real HTTP proxy in front of the registry that loses answers on purpose.

It forwards each request to the registry; for the first ``lose`` GraphQL requests whose body
contains ``match`` it throws the registry's answer away and answers 502 instead, as a load
balancer does when the backend's answer arrives too late. The registry did the work; the client
did not hear about it and must retry safely.
"""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.request
from typing import List


class FlakyProxy:
    def __init__(self, target: str, match: str, lose: int) -> None:
        self.target = target.rstrip("/")
        self.match = match.encode()
        self.lose = lose
        self.lost: List[bytes] = []
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._forward("POST", body)

            def do_GET(self) -> None:
                self._forward("GET", None)

            def _forward(self, method: str, body: "bytes | None") -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept", "if-none-match")}
                request = urllib.request.Request(proxy.target + self.path, data=body, method=method, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as res:
                        status, payload, content_type = res.status, res.read(), res.headers.get("Content-Type", "")
                except urllib.error.HTTPError as err:
                    status, payload, content_type = err.code, err.read(), err.headers.get("Content-Type", "")
                with proxy._lock:
                    proxy.forwarded += 1
                    lose = body is not None and proxy.match in body and len(proxy.lost) < proxy.lose
                    if lose:
                        proxy.lost.append(payload)
                if lose:
                    status, payload, content_type = 502, b"bad gateway", "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FlakyProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
