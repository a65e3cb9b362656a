"""Large files in parts (issue 16): the registry under test offers parts past 3 MiB, in 1 MiB parts."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import List, Tuple

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
