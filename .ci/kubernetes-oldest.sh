#!/usr/bin/env bash
# Run the kubernetes plugin's tests with the oldest kubernetes client release
# the plugin declares (plugins/kubernetes/pyproject.toml: kubernetes>=29).
# The newest release is what the lock file installs for the main test run.
set -euo pipefail
cd "$(dirname "$0")/.."
oldest=$(sed -n 's/.*"kubernetes>=\([0-9.]*\)".*/\1/p' plugins/kubernetes/pyproject.toml)
export UV_PYTHON_DOWNLOADS=never
python3 -m uv run --frozen --all-packages --all-extras --with "kubernetes==${oldest}.*" \
    python -c "import kubernetes; print('kubernetes client', kubernetes.__version__)"
python3 -m uv run --frozen --all-packages --all-extras --with "kubernetes==${oldest}.*" \
    pytest -q tests/kubernetes
