"""Build step: the pinned Redoc bundle goes into the package, so the docs work offline right after
`pip install`, with no command to run first.

No PyPI package ships Redoc's standalone bundle without a web framework (Django, FastAPI) as a
dependency, and a copy in this repository would be another project's code. So the build fetches
the pinned `redoc` tarball from the npm registry with `npm pack` (npm's own cache makes a rebuild
offline), checks it against the registry's sha512 for that version, and writes the bundle and its
licence into the package: into the wheel, or beside the sources for an editable install.

setuptools loads this file alone (pyproject.toml, [tool.setuptools.cmdclass]): standard library
and setuptools only, no imports from the package.
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

from setuptools.command.build_py import build_py

# Redoc 3 is a React library with peer dependencies; 2.5.x is the last line with a standalone
# bundle. The integrity is the registry's own record of this tarball (`npm view redoc@2.5.4
# dist.integrity`).
REDOC_VERSION = "2.5.4"
REDOC_INTEGRITY = (
    "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/"
    "YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=="
)
# Tarball member -> file in the docs package's redoc/ folder (read by assets.py).
REDOC_FILES = {
    "package/bundles/redoc.standalone.js": "redoc.standalone.js",
    "package/LICENSE": "LICENSE",
}
FOLDER = "redoc"


class BundleError(RuntimeError):
    pass


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def write_redoc(target: pathlib.Path, npm: str = "npm") -> None:
    """Writes the pinned bundle into `target` (nothing to do when that version is there)."""
    stamp = target / "VERSION"
    if stamp.is_file() and stamp.read_text().strip() == REDOC_VERSION:
        return
    if shutil.which(npm) is None:
        raise BundleError(
            "building apitwin needs npm (Node.js) once, to fetch the Redoc bundle it ships"
        )
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"redoc@{REDOC_VERSION}", "--json", "--prefer-offline"]
            + ["--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise BundleError(f"npm pack redoc@{REDOC_VERSION} failed:\n{done.stderr.strip()}")
        tarball = pathlib.Path(tmp) / json.loads(done.stdout)[0]["filename"]
        data = tarball.read_bytes()
        if integrity(data) != REDOC_INTEGRITY:
            raise BundleError(f"redoc@{REDOC_VERSION} from npm does not match its pinned sha512")
        staging = pathlib.Path(tmp) / "staging"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for member, name in REDOC_FILES.items():
                source = archive.extractfile(member)
                if source is None:
                    raise BundleError(f"redoc@{REDOC_VERSION} has no {member}")
                (staging / name).write_bytes(source.read())
        (staging / "VERSION").write_text(REDOC_VERSION + "\n")
        # Moved into place whole, so a half-written folder is never seen.
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(staging), str(target))


class BuildWithRedoc(build_py):
    """setuptools' build_py, plus the Redoc bundle in the `apitwin.docs` package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the package is read from the sources: put it there
            package = pathlib.Path(self.get_package_dir("apitwin.docs"))
        else:
            package = pathlib.Path(self.build_lib) / "apitwin" / "docs"
        write_redoc(package / FOLDER)
