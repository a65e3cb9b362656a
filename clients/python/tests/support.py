"""Shared set-up of the client tests: the server under test comes from the environment.

REGISTRY_URL and REGISTRY_TOKEN (an admin token) name a running registry; without them every test
is skipped, with that reason. REGISTRY_TEST_STORAGE_DIR, when set, is the directory where that
registry's artifact bytes are stored (its data directory, or the S3 test server's directory): the
tampering test needs it to change a stored file.
"""

from __future__ import annotations

import os
import secrets
import sys
import unittest
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import model_registry  # noqa: E402

URL = os.environ.get("REGISTRY_URL", "")
TOKEN = os.environ.get("REGISTRY_TOKEN", "")
STORAGE_DIR = os.environ.get("REGISTRY_TEST_STORAGE_DIR", "")


class RegistryTestCase(unittest.TestCase):
    """A test against the registry in REGISTRY_URL; each test works on models of its own."""

    registry: model_registry.Registry

    @classmethod
    def setUpClass(cls) -> None:
        if not URL or not TOKEN:
            raise unittest.SkipTest("REGISTRY_URL and REGISTRY_TOKEN are not set: no registry to test against")
        cls.registry = model_registry.Registry(URL, TOKEN)

    def model_name(self, prefix: str = "py") -> str:
        """A fresh model name, so tests never see each other's versions (also on a reused server)."""
        return f"{prefix}-{secrets.token_hex(4)}"

    def write(self, directory: Path, name: str, data: bytes) -> Path:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


def files_under(directory: Path) -> List[str]:
    """Every file below a directory, hidden ones included, as sorted relative paths."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
