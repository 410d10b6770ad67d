"""Where the docs' browser assets come from, so the docs work offline.

- Swagger UI: the `swagger-ui-bundle` package from PyPI (a dependency through
  `connexion[swagger-ui]`), read from site-packages.
- Redoc: the `redoc` package of the npm registry ships `bundles/redoc.standalone.js`. No PyPI
  package carries it without pulling in a web framework, so `apitwin assets` fetches the pinned
  tarball once with `npm pack`, checks it against the pinned sha512, and keeps the bundle and its
  licence in a cache (`.cache/docs-assets/` in the project by default). `.ci/run` runs it; the
  twin only reads the cache.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

# Redoc 3 is a React library with peer dependencies; 2.5.x is the last line with a standalone
# bundle. The integrity is the registry's own record of this tarball (`npm view redoc@2.5.4
# dist.integrity`).
REDOC_VERSION = "2.5.4"
REDOC_INTEGRITY = (
    "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/"
    "YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=="
)
REDOC_FILES = {
    "package/bundles/redoc.standalone.js": "redoc.standalone.js",
    "package/LICENSE": "LICENSE",
}

PROJECT_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CACHE = PROJECT_ROOT / ".cache" / "docs-assets"

# The Swagger UI files a page needs; nothing else of the bundle is served.
SWAGGER_UI_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "oauth2-redirect.html",
)


class AssetMissing(RuntimeError):
    """An asset is not installed; the message says how to install it."""


def swagger_ui_dir() -> pathlib.Path:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError as exc:
        raise AssetMissing(
            "Swagger UI is not installed: pip install 'connexion[swagger-ui]'"
        ) from exc
    return pathlib.Path(str(swagger_ui_path))


def swagger_ui_version() -> str:
    return swagger_ui_dir().name.removeprefix("swagger-ui-")


def cache_dir(configured: str | None = None) -> pathlib.Path:
    return pathlib.Path(configured) if configured else DEFAULT_CACHE


def redoc_dir(configured: str | None = None) -> pathlib.Path:
    return cache_dir(configured) / f"redoc-{REDOC_VERSION}"


def redoc_bundle(configured: str | None = None) -> pathlib.Path:
    path = redoc_dir(configured) / "redoc.standalone.js"
    if not path.is_file():
        raise AssetMissing(
            f"Redoc {REDOC_VERSION} is not in {path.parent}: run `apitwin assets` once "
            "(it fetches the bundle from the npm registry with npm)"
        )
    return path


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_redoc(configured: str | None = None, npm: str = "npm") -> pathlib.Path:
    """Installs the pinned Redoc bundle into the cache (nothing to do when it is there)."""
    target = redoc_dir(configured)
    if (target / "redoc.standalone.js").is_file():
        return target / "redoc.standalone.js"
    if shutil.which(npm) is None:
        raise AssetMissing("npm is needed once to fetch Redoc (Node.js from your OS packages)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"redoc@{REDOC_VERSION}", "--json", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssetMissing(f"npm pack redoc@{REDOC_VERSION} failed:\n{done.stderr.strip()}")
        tarball = pathlib.Path(tmp) / json.loads(done.stdout)[0]["filename"]
        data = tarball.read_bytes()
        if _integrity(data) != REDOC_INTEGRITY:
            raise AssetMissing(f"redoc@{REDOC_VERSION} from npm does not match its pinned sha512")
        staging = pathlib.Path(tmp) / "staging"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for member, name in REDOC_FILES.items():
                source = archive.extractfile(member)
                if source is None:
                    raise AssetMissing(f"redoc@{REDOC_VERSION} has no {member}")
                (staging / name).write_bytes(source.read())
        target.parent.mkdir(parents=True, exist_ok=True)
        # Rename into place so a half-written cache is never seen.
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(staging), str(target))
    return target / "redoc.standalone.js"
