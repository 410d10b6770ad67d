"""Where the docs' browser assets come from, so the docs work offline.

- Swagger UI: the `swagger-ui-bundle` package from PyPI (a dependency through
  `connexion[swagger-ui]`), read from site-packages.
- Redoc: the pinned bundle the build put into this package (build.py says how and why).
"""

from __future__ import annotations

import pathlib
from importlib import resources

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


def redoc_bundle() -> pathlib.Path:
    folder = pathlib.Path(str(resources.files("apitwin.docs") / "redoc"))
    path = folder / "redoc.standalone.js"
    if not path.is_file():
        raise AssetMissing(
            f"Redoc is not in {folder}: this copy of apitwin was installed without its build "
            "step (reinstall it with pip, which runs it; it needs npm once)"
        )
    return path


def redoc_version() -> str:
    return (redoc_bundle().parent / "VERSION").read_text().strip()
