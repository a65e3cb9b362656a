#!/usr/bin/env bash
# Runs the README's walk-through verbatim (on a free port, or PORT) (every ```sh block after "## Walk-through") in a fresh
# copy of the committed tree, and fails on the first command that fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; cd /; rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
cp "$root/README.md" "$work/README.md"
ln -s "$root/node_modules" "$work/node_modules"
awk '/^## Walk-through/{on=1} /^## Concepts/{on=0} on && /^```sh$/{b=1; next} on && /^```$/{b=0; print ""; next} b' "$work/README.md" > "$work/walkthrough.sh"
cd "$work"
# A free port unless PORT is given, so that the walk-through runs beside a registry on 4000.
export PORT=${PORT:-$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")}
# The walk-through starts the registry as a background job of its own shell: stop it on any exit.
bash -euo pipefail -c 'trap "kill \$(jobs -p) 2>/dev/null || true" EXIT; source ./walkthrough.sh'
echo "walk-through finished"
