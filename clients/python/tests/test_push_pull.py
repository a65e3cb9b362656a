"""push and pull against a real registry: round trip, idempotency, verification of what is pulled."""

from __future__ import annotations

import logging
import os
import tempfile
import unittest
from pathlib import Path

from flaky_proxy import FlakyProxy
from support import STORAGE_DIR, TOKEN, RegistryTestCase, files_under, model_registry


class PushPullTests(RegistryTestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="registry-py-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp, ignore_errors=True))

    def test_push_then_pull_gives_the_same_bytes(self) -> None:
        model = self.model_name()
        weights = os.urandom(3 * 1024 * 1024 + 17)  # several read chunks, not a multiple of one
        src = self.tmp / "src"
        files = {"model.bin": self.write(src, "w.bin", weights), "conf/config.json": self.write(src, "c.json", b'{"threshold": 0.4}')}
        version = self.registry.push(model, files, metrics={"roc_auc": 0.91, "accuracy": 0.88}, params={"max_depth": 12, "lr": 0.1},
                                     dataset="customers-2026-11", features=["tenure", "plan"], tags=["weekly"], model_type="xgboost")
        self.assertEqual(version.status, "READY")
        self.assertEqual((version.model, version.number, version.model_type), (model, 1, "xgboost"))
        self.assertEqual(version.metrics, {"roc_auc": 0.91, "accuracy": 0.88})
        self.assertEqual(version.hyperparameters, {"max_depth": 12, "lr": 0.1})
        self.assertEqual((version.dataset_version, version.feature_names, version.tags), ("customers-2026-11", ["tenure", "plan"], ["weekly"]))
        self.assertEqual(sorted(a.path for a in version.artifacts), ["conf/config.json", "model.bin"])

        for ref in (version.id, "1", "latest"):
            out = self.tmp / f"out-{ref}"
            pulled = self.registry.pull(model, ref, out)
            self.assertEqual((pulled.version_id, pulled.number, pulled.status, pulled.environment), (version.id, 1, "READY", None))
            self.assertEqual((out / "model.bin").read_bytes(), weights)
            self.assertEqual((out / "conf" / "config.json").read_bytes(), b'{"threshold": 0.4}')
            self.assertEqual(files_under(out), ["conf/config.json", "model.bin"], "no temporary file is left")
            self.assertEqual(pulled.files["model.bin"], (out / "model.bin").resolve())

    def test_a_directory_pushes_every_file_under_it_by_relative_path(self) -> None:
        model = self.model_name()
        src = self.tmp / "export"
        self.write(src, "saved_model.pb", b"graph")
        self.write(src, "variables/variables.index", b"index")
        version = self.registry.push(model, [src], metrics={"roc_auc": 0.5}, dataset="d1")
        self.assertEqual(sorted(a.path for a in version.artifacts), ["saved_model.pb", "variables/variables.index"])
        self.registry.pull(model, "latest", self.tmp / "out")
        self.assertEqual(files_under(self.tmp / "out"), ["saved_model.pb", "variables/variables.index"])

    def test_pushing_the_same_inputs_twice_gives_one_version(self) -> None:
        model = self.model_name()
        path = self.write(self.tmp, "model.pkl", b"the same weights")
        args = dict(metrics={"roc_auc": 0.8}, params={"C": 1.0}, dataset="d1", features=["a"], tags=["t"])
        first = self.registry.push(model, [path], **args)
        second = self.registry.push(model, [path], **args)
        self.assertEqual(second.id, first.id)
        self.assertEqual(second.status, "READY")
        self.assertEqual(self._version_count(model), 1)
        # Other inputs (here one metric) derive another key: a new version.
        third = self.registry.push(model, [path], **{**args, "metrics": {"roc_auc": 0.81}})
        self.assertNotEqual(third.id, first.id)
        self.assertEqual((third.number, self._version_count(model)), (2, 2))

    def test_a_registration_whose_answer_is_lost_is_retried_into_the_same_version(self) -> None:
        model = self.model_name()
        path = self.write(self.tmp, "model.pkl", b"weights behind a flaky load balancer")
        with FlakyProxy(self.registry.url, match="registerModelVersion", lose=2) as proxy:
            version = model_registry.Registry(proxy.url, TOKEN).push(model, [path], metrics={"roc_auc": 0.7}, dataset="d1")
        self.assertEqual(len(proxy.lost), 2, "the registry answered twice; both answers were lost")
        self.assertEqual((version.status, version.number, self._version_count(model)), ("READY", 1, 1))

    def test_an_explicit_idempotency_key_reused_with_other_input_is_a_conflict(self) -> None:
        model = self.model_name()
        path = self.write(self.tmp, "model.pkl", b"weights")
        first = self.registry.push(model, [path], metrics={"roc_auc": 0.8}, dataset="d1", idempotency_key="nightly-2026-12-03")
        again = self.registry.push(model, [path], metrics={"roc_auc": 0.8}, dataset="d1", idempotency_key="nightly-2026-12-03")
        self.assertEqual(again.id, first.id)
        with self.assertRaises(model_registry.ConflictError) as caught:
            self.registry.push(model, [path], metrics={"roc_auc": 0.9}, dataset="d1", idempotency_key="nightly-2026-12-03")
        self.assertEqual(caught.exception.code, "CONFLICT")
        self.assertIn("nightly-2026-12-03", str(caught.exception))
        self.assertEqual(self._version_count(model), 1)

    @unittest.skipUnless(STORAGE_DIR, "REGISTRY_TEST_STORAGE_DIR is not set: the test cannot reach the stored files to tamper with one")
    def test_pull_of_a_tampered_stored_file_raises_and_leaves_nothing(self) -> None:
        model = self.model_name()
        good, bad = b"an innocent companion file", b"weights that someone will overwrite in storage"
        version = self.registry.push(model, {"a-good.txt": self.write(self.tmp, "good", good), "model.bin": self.write(self.tmp, "bad", bad)},
                                     metrics={"roc_auc": 0.9}, dataset="d1")
        stored = [p for p in Path(STORAGE_DIR).rglob("*") if p.is_file() and version.id in p.as_posix() and p.read_bytes() == bad]
        self.assertTrue(stored, f"the stored bytes of {version.id} were not found under REGISTRY_TEST_STORAGE_DIR")
        for p in stored:
            p.write_bytes(bad.upper())  # same length, other bytes
        out = self.tmp / "out"
        out.mkdir()
        self.write(out, "model.bin", b"the copy a worker already had")
        with self.assertLogs("model_registry", level="DEBUG") as logs, self.assertRaises(model_registry.IntegrityError) as caught:
            logging.getLogger("model_registry").debug("pull starts")
            self.registry.pull(model, version.id, out)
        message = str(caught.exception)
        self.assertEqual(caught.exception.code, "INTEGRITY_MISMATCH")
        self.assertIn('"model.bin" does not match the registry', message)
        self.assertIn(version.artifacts[[a.path for a in version.artifacts].index("model.bin")].sha256, message)
        self.assertNotIn("http", message)
        self.assertEqual(files_under(out), ["model.bin"], "nothing new, not even the verified companion file or a temporary file")
        self.assertEqual((out / "model.bin").read_bytes(), b"the copy a worker already had")
        self.assertFalse(any("http" in line or TOKEN in line for line in logs.output))

    def test_no_token_or_presigned_url_reaches_the_log(self) -> None:
        model = self.model_name()
        path = self.write(self.tmp, "model.pkl", b"logged weights")
        with self.assertLogs("model_registry", level="DEBUG") as logs:
            self.registry.push(model, [path], metrics={"roc_auc": 0.6}, dataset="d1")
            self.registry.pull(model, "latest", self.tmp / "out")
        self.assertTrue(any("uploaded model.pkl" in line for line in logs.output))
        self.assertTrue(any("pulled" in line for line in logs.output))
        for line in logs.output:
            self.assertNotIn(TOKEN, line)
            self.assertNotIn("http", line)

    def _version_count(self, model: str) -> int:
        return self.registry.graphql("query($n: String!) { model(name: $n) { versionCount } }", {"n": model})["model"]["versionCount"]
