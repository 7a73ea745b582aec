#!/usr/bin/env bash
# Regenerates requirements_lock.txt (pinned, with hashes) from requirements.in.
# Run with the Python the build is locked for (3.11): ./third_party/python/update_lock.sh
set -euo pipefail
cd "$(dirname "$0")"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet pip-tools
"$tools/bin/pip-compile" --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
  --allow-unsafe --strip-extras -o requirements_lock.txt requirements.in
# tf-keras asks for `tensorflow`; tensorflow-cpu provides the same module, and installing both
# would overwrite one with the other. The venv installs with --no-deps, so drop the duplicate.
awk '/^tensorflow==/ {skip=1; next} skip && /^    / {next} {skip=0; print}' requirements_lock.txt > requirements_lock.tmp
mv requirements_lock.tmp requirements_lock.txt
echo "requirements_lock.txt updated; commit it (the venv is rebuilt on the next bazel command)."
