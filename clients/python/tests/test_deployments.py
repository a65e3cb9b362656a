"""promote, rollback, production_model and compare against a real registry."""

from __future__ import annotations

import concurrent.futures
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List

from flaky_proxy import FlakyProxy
from support import TOKEN, RegistryTestCase, model_registry


class DeploymentTests(RegistryTestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="registry-py-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def push_versions(self, model: str, aucs: List[float]) -> List[model_registry.Version]:
        out = []
        for i, auc in enumerate(aucs):
            path = self.write(self.tmp, f"v{i}.bin", f"weights {i} of {model}".encode())
            out.append(self.registry.push(model, {"model.bin": path}, metrics={"roc_auc": auc, "accuracy": 0.5 + i / 100}, dataset="d1"))
        return out

    def history(self, model: str) -> List[Dict[str, object]]:
        data = self.registry.graphql("query($m: String!) { deploymentHistory(modelName: $m) { edges { node { id action status } } } }", {"m": model})
        return [e["node"] for e in data["deploymentHistory"]["edges"]]

    def test_production_model_is_none_until_promoted_then_the_deployed_version(self) -> None:
        model = self.model_name()
        (v1,) = self.push_versions(model, [0.9])
        self.assertIsNone(self.registry.production_model(model))
        deployment = self.registry.promote(v1, reason="first release")
        self.assertEqual((deployment.action, deployment.status, deployment.active, deployment.version_id), ("PROMOTE", "SUCCEEDED", True, v1.id))
        self.assertEqual((deployment.environment, deployment.reason, deployment.previous_version_id), ("production", "first release", None))
        production = self.registry.production_model(model)
        assert production is not None
        self.assertEqual((production.id, production.environments), (v1.id, ["production"]))
        self.assertIsNone(self.registry.production_model(model, "staging"))
        self.registry.promote(v1.id, "staging")
        staging = self.registry.production_model(model, "staging")
        self.assertEqual(staging.id if staging else None, v1.id)
        pulled = self.registry.pull(model, "production", self.tmp / "worker")
        self.assertEqual((pulled.version_id, pulled.environment), (v1.id, "production"))

    def test_promote_with_an_idempotency_key_gives_one_deployment_however_often_it_is_retried(self) -> None:
        model = self.model_name()
        v1, v2 = self.push_versions(model, [0.9, 0.91])
        self.registry.promote(v1)
        first = self.registry.promote(v2, reason="weekly", idempotency_key="deploy-4711")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            again = list(pool.map(lambda _: self.registry.promote(v2.id, reason="weekly", idempotency_key="deploy-4711"), range(4)))
        self.assertEqual({d.id for d in again}, {first.id})
        self.assertEqual(first.previous_version_id, v1.id)
        self.assertEqual(len(self.history(model)), 2, "one deployment of v1, one of v2")
        # The answer lost twice on the way back: the client retries with the same key.
        self.registry.rollback(model)
        with FlakyProxy(self.registry.url, match="promoteModelVersion", lose=2) as proxy:
            retried = model_registry.Registry(proxy.url, TOKEN).promote(v2, reason="again", idempotency_key="deploy-4712")
        self.assertEqual(len(proxy.lost), 2)
        self.assertEqual((retried.version_id, retried.previous_version_id), (v2.id, v1.id))
        self.assertEqual(len(self.history(model)), 4, "v1, v2, the rollback, and one promotion for three requests")
        with self.assertRaises(model_registry.ConflictError) as caught:
            self.registry.promote(v1, reason="other input", idempotency_key="deploy-4711")
        self.assertIn("deploy-4711", caught.exception.message)

    def test_promote_without_a_key_is_not_retried_when_its_answer_is_lost(self) -> None:
        model = self.model_name()
        (v1,) = self.push_versions(model, [0.9])
        with FlakyProxy(self.registry.url, match="promoteModelVersion", lose=1) as proxy:
            with self.assertRaises(model_registry.TransferError) as caught:
                model_registry.Registry(proxy.url, TOKEN).promote(v1)
        self.assertEqual(caught.exception.code, "TRANSFER_FAILED")
        self.assertEqual(len(proxy.lost), 1, "sent once: without a key a retry could deploy twice")

    def test_require_improvement_refuses_a_worse_candidate(self) -> None:
        model = self.model_name()
        v1, v2 = self.push_versions(model, [0.9, 0.85])
        self.registry.promote(v1)
        with self.assertRaises(model_registry.FailedPreconditionError) as caught:
            self.registry.promote(v2, require_improvement="roc_auc")
        self.assertEqual(caught.exception.code, "FAILED_PRECONDITION")
        self.assertEqual(self.registry.production_model(model).id, v1.id)  # type: ignore[union-attr]
        allowed = self.registry.promote(v2, require_improvement=("roc_auc", 0.9))
        self.assertEqual(allowed.version_id, v2.id)

    def test_rollback_puts_back_the_previous_version(self) -> None:
        model = self.model_name()
        v1, v2 = self.push_versions(model, [0.9, 0.92])
        self.registry.promote(v1)
        with self.assertRaises(model_registry.FailedPreconditionError):
            self.registry.rollback(model)  # nothing before v1
        self.registry.promote(v2)
        back = self.registry.rollback(model, reason="latency regression", idempotency_key="rb-1")
        self.assertEqual((back.action, back.version_id, back.previous_version_id, back.reason), ("ROLLBACK", v1.id, v2.id, "latency regression"))
        self.assertEqual(self.registry.rollback(model, reason="latency regression", idempotency_key="rb-1").id, back.id)
        self.assertEqual(self.registry.production_model(model).id, v1.id)  # type: ignore[union-attr]
        forward = self.registry.rollback(model, to_version_id=v2.id)
        self.assertEqual(forward.version_id, v2.id)

    def test_compare_ranks_versions_by_a_metric_with_the_delta_to_production(self) -> None:
        model = self.model_name()
        v1, v2, v3 = self.push_versions(model, [0.80, 0.90, 0.85])
        self.registry.promote(v3)
        rows = self.registry.compare(model, "roc_auc")
        self.assertEqual([(r.rank, r.version.id) for r in rows], [(1, v2.id), (2, v3.id), (3, v1.id)])
        self.assertEqual([r.value for r in rows], [0.90, 0.85, 0.80])
        self.assertEqual([round(r.delta_vs_production or 0, 6) for r in rows], [0.05, 0.0, -0.05])
        ascending = self.registry.compare(model, "accuracy", direction="asc", version_ids=[v2.id, v3.id])
        self.assertEqual([r.version.id for r in ascending], [v2.id, v3.id])
