"""Large files in parts (issue 16): the registry under test offers parts past 3 MiB, in 1 MiB parts."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import unittest
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import model_registry
from support import TOKEN, URL, RegistryTestCase

MIB = 1024 * 1024


def spoil(url: str) -> str:
    """The URL with one hex digit of its signature changed."""
    m = re.search(r"(?:[?&]sig=|X-Amz-Signature=)([0-9a-f])", url)
    assert m is not None, "no signature in the URL"
    return url[: m.start(1)] + ("1" if m.group(1) == "0" else "0") + url[m.end(1):]


class MultipartTests(RegistryTestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="registry-py-mp-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_a_large_file_goes_up_in_parts_in_parallel_with_progress_over_the_whole_push(self) -> None:
        model = self.model_name()
        weights = os.urandom(5 * MIB + 123)  # 6 parts, the last one short
        small = b"labels"
        seen: List[Tuple[int, int]] = []
        lock = threading.Lock()

        def progress(done: int, total: int) -> None:
            with lock:
                seen.append((done, total))

        registry = model_registry.Registry(URL, TOKEN, part_parallel=3)
        with self.assertLogs("model_registry", level="INFO") as logs:
            version = registry.push(model, {"weights.bin": self.write(self.tmp, "w.bin", weights), "labels.txt": self.write(self.tmp, "l.txt", small)},
                                    metrics={"roc_auc": 0.9}, dataset="d1", progress=progress)
        self.assertEqual(version.status, "READY")
        self.assertTrue(any("uploaded weights.bin in 6 parts" in line for line in logs.output), logs.output)
        total = len(weights) + len(small)
        self.assertEqual({t for _, t in seen}, {total})
        self.assertEqual(max(d for d, _ in seen), total)
        out = self.tmp / "out"
        registry.pull(model, version.id, out)
        self.assertEqual((out / "weights.bin").read_bytes(), weights)

    def test_a_part_url_storage_refuses_with_403_as_an_expired_one_is_replaced_by_a_fresh_one(self) -> None:
        model = self.model_name()
        weights = os.urandom(4 * MIB)
        registry = model_registry.Registry(URL, TOKEN)
        upload_parts = registry._upload_parts

        def with_a_dead_url(version_id, path, plan, file, size, meter):  # type: ignore[no-untyped-def]
            # Part 2's URL refused as an expired one is (403): its signature no longer matches.
            broken = dict(plan)
            broken["parts"] = [dict(p, upload=dict(p["upload"], url=spoil(p["upload"]["url"]))) if p["partNumber"] == 2 else p for p in plan["parts"]]
            return upload_parts(version_id, path, broken, file, size, meter)

        registry._upload_parts = with_a_dead_url  # type: ignore[method-assign]
        version = registry.push(model, [self.write(self.tmp, "w.bin", weights)], dataset="d1")
        self.assertEqual(version.status, "READY")

    def test_the_parts_are_hashed_with_the_registrys_part_size_registered_and_sent_with_their_signed_checksum(self) -> None:
        model = self.model_name()
        weights = os.urandom(3 * MIB + 4321)  # 4 parts of 1 MiB, the last one short
        expected = [hashlib.sha256(weights[i:i + MIB]).hexdigest() for i in range(0, len(weights), MIB)]
        registry = model_registry.Registry(URL, TOKEN)
        plan = registry.graphql(model_registry._UPLOAD_PLAN, {"size": len(weights)})["uploadPlan"]
        self.assertEqual(plan, {"inParts": True, "partSizeBytes": MIB, "partCount": 4})
        registered: List[Any] = []
        sent: List[Tuple[Optional[str], int]] = []
        graphql, put = registry.graphql, registry._put

        def recording_graphql(query: str, variables: Optional[Mapping[str, Any]] = None, **kw: Any) -> Dict[str, Any]:
            if "registerModelVersion" in query and variables:
                registered.extend(variables["input"]["artifacts"])
            return graphql(query, variables, **kw)

        def recording_put(what: str, upload: Mapping[str, Any], file: Path, start: int, size: int, meter: Any) -> Tuple[Optional[str], str]:
            headers = {h["name"].lower(): h["value"] for h in upload["headers"]}
            if "of part" in what:  # the part PUTs (on S3 a single PUT carries the whole file's checksum)
                sent.append((headers.get("x-amz-checksum-sha256"), start))
            return put(what, upload, file, start, size, meter)

        registry.graphql = recording_graphql  # type: ignore[method-assign]
        registry._put = recording_put  # type: ignore[method-assign]
        version = registry.push(model, {"weights.bin": self.write(self.tmp, "w.bin", weights), "small.txt": self.write(self.tmp, "s.txt", b"x")}, dataset="d1")
        self.assertEqual(version.status, "READY")
        by_path = {a["path"]: a for a in registered}
        self.assertEqual(by_path["weights.bin"]["partSha256"], expected)
        self.assertNotIn("partSha256", by_path["small.txt"])  # one PUT: as before
        parts = sorted((start, checksum) for checksum, start in sent)
        self.assertEqual(parts, [(n * MIB, base64.b64encode(bytes.fromhex(h)).decode()) for n, h in enumerate(expected)])

    def test_a_push_begun_without_part_hashes_is_finished_by_one_with_them_in_the_same_version(self) -> None:
        model = self.model_name()
        weights = self.write(self.tmp, "w.bin", os.urandom(3 * MIB + 77))
        first = model_registry.Registry(URL, TOKEN)
        graphql = first.graphql
        registered: List[Any] = []

        def no_plan(query: str, variables: Optional[Mapping[str, Any]] = None, **kw: Any) -> Dict[str, Any]:
            if "uploadPlan" in query:  # as from a registry without uploadPlan: no part hashes
                raise model_registry.BadInputError("Cannot query field \"uploadPlan\"", "GRAPHQL_VALIDATION_FAILED")
            answer = graphql(query, variables, **kw)
            if "registerModelVersion" in query:
                registered.append(answer["registerModelVersion"]["version"]["id"])
            return answer

        def crash(*_args: Any, **_kw: Any) -> Any:
            raise KeyboardInterrupt("the push stops after its registration")

        first.graphql = no_plan  # type: ignore[method-assign]
        first._put = crash  # type: ignore[method-assign]
        with self.assertRaises(KeyboardInterrupt):
            first.push(model, {"weights.bin": weights}, dataset="d1")
        self.assertEqual(len(registered), 1)
        version = model_registry.Registry(URL, TOKEN).push(model, {"weights.bin": weights}, dataset="d1")
        self.assertEqual((version.id, version.status), (registered[0], "READY"))


class PartHashingTests(unittest.TestCase):
    """The one read of a file that gives its sha256 and its parts' (no registry needed)."""

    def test_part_hashes_across_read_boundaries(self) -> None:
        data = os.urandom(3 * MIB + 5)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "f.bin"
            path.write_bytes(data)
            for part in (100_000, MIB + MIB // 2 + 3, MIB, 8 * MIB):
                size, digest, parts = model_registry._sha256_file(path, part)
                self.assertEqual((size, digest), (len(data), hashlib.sha256(data).hexdigest()))
                self.assertEqual(parts, [hashlib.sha256(data[i:i + part]).hexdigest() for i in range(0, len(data), part)])
            self.assertIsNone(model_registry._sha256_file(path)[2])
