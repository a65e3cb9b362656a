"""Retries of downloads and uploads, against a local HTTP server that fails on purpose.

These need no registry: a small real HTTP server here plays the registry's manifest route and
the storage behind the presigned URLs, and answers 503 or cuts the connection half-way for the
first requests, as an overloaded S3 endpoint or a dropped connection would.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import tempfile
import threading
import unittest
from pathlib import Path
from typing import Dict, List

from support import files_under, model_registry

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class FaultyStorage:
    """Serves a manifest for one file and that file; ``faults`` says what each successive file request gets."""

    def __init__(self, faults: List[str]) -> None:
        self.faults = list(faults)
        self.requests: List[str] = []
        self.uploaded: Dict[str, bytes] = {}
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _fault(self) -> str:
                storage.requests.append(f"{self.command} {self.path.split('?')[0]}")
                return storage.faults.pop(0) if storage.faults else "ok"

            def do_GET(self) -> None:
                if self.path.endswith("/manifest"):
                    base = f"http://127.0.0.1:{self.server.server_address[1]}"
                    body = json.dumps({"model": "m", "versionId": "v20260101000000_00000001", "number": 1, "status": "READY", "environment": None,
                                       "artifacts": [{"path": "model.bin", "sizeBytes": len(PAYLOAD), "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
                                                      "contentType": "application/octet-stream", "url": f"{base}/files/model.bin?X-Amz-Signature=secret", "expiresAt": ""}]}).encode()
                    return self._send(200, body)
                fault = self._fault()
                if fault == "503":
                    return self._send(503, b"<Error><Code>SlowDown</Code></Error>")
                if fault == "cut":  # promises the whole file, sends half, hangs up
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "403":
                    return self._send(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
                self._send(200, PAYLOAD)

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self._fault() == "503":
                    return self._send(503, b"<Error><Code>ServiceUnavailable</Code></Error>")
                storage.uploaded[self.path.split("?")[0]] = body
                self._send(200, b"")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class TransferRetryTests(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="registry-py-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def storage(self, faults: List[str]) -> FaultyStorage:
        s = FaultyStorage(faults)
        self.addCleanup(s.close)
        return s

    def test_a_download_is_retried_after_5xx_and_a_cut_connection(self) -> None:
        storage = self.storage(["503", "cut", "503"])
        pulled = model_registry.Registry(storage.url, "token", backoff=0.01).pull("m", "1", self.tmp / "out")
        self.assertEqual((self.tmp / "out" / "model.bin").read_bytes(), PAYLOAD)
        self.assertEqual(pulled.files, {"model.bin": (self.tmp / "out" / "model.bin").resolve()})
        self.assertEqual(storage.requests, ["GET /files/model.bin"] * 4)
        self.assertEqual(files_under(self.tmp / "out"), ["model.bin"])

    def test_a_refused_download_is_not_retried_and_leaves_nothing_and_no_url_in_the_message(self) -> None:
        storage = self.storage(["403"])
        with self.assertRaises(model_registry.TransferError) as caught:
            model_registry.Registry(storage.url, "token", backoff=0.01).pull("m", "1", self.tmp / "out")
        self.assertEqual(len(storage.requests), 1)
        self.assertIn("AccessDenied", str(caught.exception))
        self.assertNotIn("secret", str(caught.exception))
        self.assertNotIn("http", str(caught.exception))
        self.assertEqual(files_under(self.tmp / "out"), [])

    def test_a_download_that_keeps_failing_gives_up_with_a_transfer_error(self) -> None:
        storage = self.storage(["503"] * 10)
        with self.assertRaises(model_registry.TransferError) as caught:
            model_registry.Registry(storage.url, "token", backoff=0.01).pull("m", "1", self.tmp / "out")
        self.assertEqual(len(storage.requests), model_registry.RETRY_ATTEMPTS, "the default number of attempts")
        self.assertIn("failed after", str(caught.exception))
        self.assertEqual(files_under(self.tmp / "out"), [])

    def test_an_upload_is_retried_after_5xx(self) -> None:
        storage = self.storage(["503", "503"])
        path = self.tmp / "model.bin"
        path.write_bytes(PAYLOAD)
        registry = model_registry.Registry(storage.url, "token", backoff=0.01)
        upload = {"url": f"{storage.url}/upload/model.bin?sig=secret", "method": "PUT", "headers": [{"name": "Content-Type", "value": "application/octet-stream"}]}
        registry._upload("model.bin", upload, path, len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())
        self.assertEqual(storage.requests, ["PUT /upload/model.bin"] * 3)
        self.assertEqual(storage.uploaded["/upload/model.bin"], PAYLOAD)
