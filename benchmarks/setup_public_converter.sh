#!/usr/bin/env bash
# Installs the public tensorflowjs 4.22.0 converter in its own virtualenv, for benchmarks only.
# Its pinned dependencies do not resolve on today's PyPI, so it goes in with --no-deps beside
# what it imports, and an empty tensorflow_decision_forests package stands in for TF-DF.
#   benchmarks/setup_public_converter.sh [VENV_DIR]   (default /tmp/tfjs-public)
set -euo pipefail
venv=${1:-/tmp/tfjs-public}
python3 -m venv "$venv"
"$venv/bin/pip" install -q tensorflow-cpu==2.21.0 tf-keras==2.21.0 jax jaxlib flax tensorflow-hub
"$venv/bin/pip" install -q --no-deps tensorflowjs==4.22.0
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$site/tensorflow_decision_forests"
echo '"""Empty stand-in: tensorflowjs 4.22 imports TF-DF, which does not install beside TF 2.21."""' > "$site/tensorflow_decision_forests/__init__.py"
echo "public converter: $venv/bin/tensorflowjs_converter"
