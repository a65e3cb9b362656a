"""Errors carry the server's extensions.code, as exception classes, and never the token."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from support import TOKEN, URL, RegistryTestCase, files_under, model_registry


class ErrorTests(RegistryTestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="registry-py-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_a_bad_token_is_unauthenticated_everywhere(self) -> None:
        secret = "not-a-token-" + "x" * 40
        stranger = model_registry.Registry(URL, secret)
        calls = [
            lambda: stranger.production_model("churn"),
            lambda: stranger.pull("churn", "latest", self.tmp / "out"),
            lambda: stranger.push("churn", [self.write(self.tmp, "m.bin", b"x")], metrics={"roc_auc": 1.0}, dataset="d1"),
        ]
        for call in calls:
            with self.assertRaises(model_registry.UnauthenticatedError) as caught:
                call()
            self.assertIsInstance(caught.exception, model_registry.AuthError)
            self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
            self.assertEqual(caught.exception.status, 401)
            self.assertNotIn(secret, str(caught.exception))
        self.assertFalse((self.tmp / "out").exists() and files_under(self.tmp / "out"))

    def test_a_token_without_the_role_is_forbidden(self) -> None:
        created = self.registry.graphql('mutation { createApiToken(name: "py-viewer", role: VIEWER) { secret } }')
        viewer = model_registry.Registry(URL, created["createApiToken"]["secret"])
        with self.assertRaises(model_registry.ForbiddenError) as caught:
            viewer.push(self.model_name(), [self.write(self.tmp, "m.bin", b"x")], metrics={"roc_auc": 1.0}, dataset="d1")
        self.assertEqual(caught.exception.code, "FORBIDDEN")
        self.assertIn("may not register model versions", str(caught.exception))  # the registration's refusal, not uploadPlan's

    def test_an_unknown_model_or_version_is_not_found(self) -> None:
        unknown = self.model_name("nobody")
        with self.assertRaises(model_registry.NotFoundError) as caught:
            self.registry.pull(unknown, "latest", self.tmp / "out")
        self.assertEqual((caught.exception.code, caught.exception.status), ("NOT_FOUND", 404))
        self.assertFalse((self.tmp / "out").exists() and files_under(self.tmp / "out"))
        with self.assertRaises(model_registry.NotFoundError):
            self.registry.rollback(unknown)
        with self.assertRaises(model_registry.NotFoundError):
            self.registry.promote("v20260101000000_0badc0de")
        with self.assertRaises(model_registry.NotFoundError):
            self.registry.production_model(unknown)

    def test_bad_input_is_refused_before_anything_is_written(self) -> None:
        path = self.write(self.tmp, "m.bin", b"x")
        with self.assertRaises(model_registry.BadInputError) as caught:
            self.registry.push("Not A Valid Name", [path], metrics={"roc_auc": 1.0}, dataset="d1")
        self.assertEqual(caught.exception.code, "BAD_USER_INPUT")
        with self.assertRaises(model_registry.BadInputError):
            self.registry.push(self.model_name(), [path], metrics={"roc_auc": float("nan")}, dataset="d1")
        with self.assertRaises(model_registry.BadInputError):
            self.registry.push(self.model_name(), [self.tmp / "missing.bin"], dataset="d1")
        for params in ({"lr": float("inf")}, {"scaler": object()}):
            with self.assertRaises(model_registry.BadInputError):
                self.registry.push(self.model_name(), [path], params=params, dataset="d1")

    def test_an_unreachable_registry_is_a_transfer_error_after_retries(self) -> None:
        closed = model_registry.Registry("http://127.0.0.1:9", TOKEN)
        with self.assertRaises(model_registry.TransferError) as caught:
            closed.graphql("{ registryStats { models } }", retry=False)
        self.assertEqual(caught.exception.code, "TRANSFER_FAILED")
        self.assertNotIn(TOKEN, str(caught.exception))
