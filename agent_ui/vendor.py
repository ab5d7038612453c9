"""Front-end packages from the npm registry, served from our own origin (no CDN at run time).

``agent_ui/package.json`` names them and ``agent_ui/package-lock.json`` pins them; ``npm ci`` (run by
``tests/setup/node.sh`` from ``make install``, ``make demo`` and ``make test``) puts them in
``agent_ui/node_modules``. Only the packages listed under ``dependencies`` are served, and only their
``dist/`` folder, at ``/static/vendor/<name>/``: a page loads ``/static/vendor/echarts/echarts.esm.min.js``,
while ``node_modules`` as a whole (transitive packages, sources, package manifests) stays unreachable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_JSON = HERE / "package.json"
NODE_MODULES = HERE / "node_modules"
URL_PREFIX = "/static/vendor"

# npm package names, optionally scoped: nothing that could climb out of node_modules.
_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$")


def packages(package_json: Path = PACKAGE_JSON, node_modules: Path = NODE_MODULES) -> dict[str, Path]:
    """Map each listed dependency to the ``dist/`` folder it is served from (the folder may not exist yet)."""
    names = json.loads(package_json.read_text(encoding="utf-8")).get("dependencies", {})
    served = {}
    for name in sorted(names):
        if not _NAME.match(name):
            raise ValueError(f"unexpected npm package name in {package_json}: {name!r}")
        served[name] = node_modules / name / "dist"
    return served
