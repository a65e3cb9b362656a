"""Runs the client's unittest suite and writes one result per test as JSON (for the vitest wrapper).

    python3 json_runner.py --list          # the test ids, as a JSON array, without running anything
    python3 json_runner.py --out FILE      # runs every test; FILE gets {"tests": {id: {...}}, "other": [...]}

Each test's outcome is one of passed, failed, error, skipped, expected_failure,
unexpected_success, with the traceback or skip reason in "details". Errors that belong to no
single test (a failing setUpClass, a module that does not import) are listed in "other".
"""

from __future__ import annotations

import argparse
import json
import sys
import unittest
from pathlib import Path
from typing import Any, Dict, Iterator, List

HERE = Path(__file__).resolve().parent


def load() -> unittest.TestSuite:
    return unittest.defaultTestLoader.discover(str(HERE), top_level_dir=str(HERE))


def flatten(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


class JsonResult(unittest.TextTestResult):
    """Records every outcome by test id, while printing as the usual text runner does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: Dict[str, Dict[str, str]] = {}
        self.other: List[Dict[str, str]] = []

    def _record(self, test: Any, outcome: str, details: str = "") -> None:
        if isinstance(test, unittest.TestCase):
            self.outcomes[test.id()] = {"outcome": outcome, "details": details}
        else:  # an _ErrorHolder: setUpClass, setUpModule and the like
            self.other.append({"id": str(test), "outcome": outcome, "details": details})

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._record(test, "failed", self.failures[-1][1])

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._record(test, "error", self.errors[-1][1])

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "expected_failure", self.expectedFailures[-1][1])

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected_success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:  # a failing subtest fails its test (unittest then never calls addSuccess for it)
            earlier = self.outcomes.get(test.id(), {}).get("details", "")
            self._record(test, "failed", earlier + self._exc_info_to_string(err, test))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    suite = load()
    if args.list:
        print(json.dumps([t.id() for t in flatten(suite)]))
        return 0
    if not args.out:
        parser.error("--list or --out FILE")
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=JsonResult)
    result = runner.run(suite)
    assert isinstance(result, JsonResult)
    Path(args.out).write_text(json.dumps({"tests": result.outcomes, "other": result.other}, indent=2))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
