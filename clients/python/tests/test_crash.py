"""A push killed with SIGKILL half-way, then run again: one version, READY."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

from support import TOKEN, URL, RegistryTestCase

# The pushing process: the real client, with its upload bodies made to stop after their first chunk
# (the first one to get there says so: parts of a large file go up on several threads), so that the
# kill lands while the upload is in progress, every time.
CHILD = textwrap.dedent("""
    import sys, threading, time
    import model_registry
    read = model_registry._HashingReader.read
    first = threading.Lock()
    def stalling_read(self, n=-1):
        chunk = read(self, n)
        if first.acquire(blocking=False):
            print("uploading", flush=True)
        threading.Event().wait()  # hangs here until killed
        return chunk
    model_registry._HashingReader.read = stalling_read
    url, token, model, path = sys.argv[1:5]
    model_registry.Registry(url, token).push(model, [path], metrics={"roc_auc": 0.8}, dataset="d1")
""")


@unittest.skipUnless(hasattr(signal, "SIGKILL"), "needs SIGKILL")
class CrashTests(RegistryTestCase):
    def test_a_push_killed_half_way_then_run_again_gives_one_ready_version(self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="registry-py-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        model = self.model_name()
        path = self.write(tmp, "model.bin", os.urandom(4 * 1024 * 1024))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        child = subprocess.Popen([sys.executable, "-c", CHILD, URL, TOKEN, model, str(path)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = child.stdout.readline() if child.stdout else ""
            self.assertEqual(line.strip(), "uploading", f"the pushing process stopped early: {line}")
            child.send_signal(signal.SIGKILL)
            self.assertEqual(child.wait(timeout=30), -signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout:
                child.stdout.close()
        pending = self.versions(model)
        self.assertEqual([v["status"] for v in pending], ["PENDING_UPLOAD"], "killed after registering, before completing")

        version = self.registry.push(model, [path], metrics={"roc_auc": 0.8}, dataset="d1")
        self.assertEqual((version.id, version.status, version.number), (pending[0]["id"], "READY", 1))
        self.assertEqual([v["status"] for v in self.versions(model)], ["READY"])
        pulled = self.registry.pull(model, "latest", tmp / "out")
        self.assertEqual(pulled.files["model.bin"].read_bytes(), path.read_bytes())

    def versions(self, model: str) -> list:
        data = self.registry.graphql("query($m: String!) { modelVersions(modelName: $m) { edges { node { id status } } } }", {"m": model})
        return [e["node"] for e in data["modelVersions"]["edges"]]
