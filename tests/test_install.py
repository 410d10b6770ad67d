"""The package as a user gets it: a wheel built from this repository, installed into a fresh venv,
run from a directory that is not the checkout.

The fresh venv reuses this venv's third-party packages through a path entry (a `.pth` line is
added to sys.path, but the .pth files in that folder, this checkout's editable hook among them,
are not run), so the test installs only apitwin itself and needs no download.
"""

from __future__ import annotations

import os
import pathlib
import site
import subprocess
import sys
import venv
import zipfile

import httpx
import pytest
from support import CREDENTIALS

from apitwin.serve.process import free_port

REPO = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds a wheel and starts processes of its own


def _run(*command, cwd, timeout=300, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("wheel")
    done = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO, cwd=out)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (built,) = out.glob("apitwin-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> pathlib.Path:
    """A fresh venv holding the wheel; returns its bin folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home)  # no pip of its own: this venv's pip installs into it (--python)
    python = home / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=home)
    (pathlib.Path(purelib.stdout.strip()) / "_deps.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    pip = (sys.executable, "-m", "pip", "--python", python)
    done = _run(*pip, "install", "-q", "--no-deps", wheel, cwd=home)
    assert done.returncode == 0, done.stderr[-3000:]
    return home / "bin"


def test_the_wheel_installs_one_package_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"apitwin"}
    for data in (
        "apitwin/specs/ylem.yaml",
        "apitwin/specs/director.yaml",
        "apitwin/specs/meiro.yaml",
        "apitwin/specs/admin.yaml",
        "apitwin/specs/DECISIONS.md",
        "apitwin/fixtures/director_workflows.yaml",
        "apitwin/conformance/known_deviations.yaml",
        "apitwin/docs/redoc/redoc.standalone.js",
        "apitwin/docs/redoc/LICENSE",
        "apitwin/docs/console/console.html",
        "apitwin/docs/console/console.css",
        "apitwin/docs/console/console.js",
    ):
        assert data in names, data
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    )
    requires = [
        line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist:")
    ]
    runtime = [line for line in requires if "extra ==" not in line]
    # Test tools are the dev extra's; the installed tool pins none of them.
    assert not [line for line in runtime if "pytest" in line or "ruff" in line], runtime


def test_installed_tool_serves_conforms_and_writes_docs_from_anywhere(installed, tmp_path):
    site_packages = installed.parent / "lib"
    before = sorted(str(p) for p in site_packages.rglob("*") if "__pycache__" not in p.parts)
    cache = tmp_path / "user-cache"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "APITWIN_CACHE_DIR": str(cache)}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    version = _run(installed / "apitwin", "--version", cwd=tmp_path, env=env)
    assert version.returncode == 0 and version.stdout.startswith("apitwin "), version.stderr

    port = free_port()
    server = subprocess.Popen(
        [installed / "apitwin", "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base, server)
        assert httpx.get(f"{base}/director/api/ping").status_code == 200
        meiro = httpx.get(f"{base}/meiro/workspaces", headers={"X-Access-Token": "twin-token"})
        assert meiro.status_code == 200 and meiro.json()
        token = httpx.post(
            f"{base}/ylem/v1/oauth/token",
            params=CREDENTIALS,
        )
        assert token.status_code == 200, token.text
        for name in ("ylem", "director", "meiro", "_twin"):
            assert httpx.get(f"{base}/{name}/redoc").status_code == 200, name
            assert httpx.get(f"{base}/{name}/docs").status_code == 200, name
        redoc = httpx.get(f"{base}/_twin/assets/redoc/redoc.standalone.js")
        assert redoc.status_code == 200 and len(redoc.content) > 100_000
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)

    # The examples phase reaches every operation with the shipped specs, known deviations and a
    # twin it starts; the other phases are the same code as in the checkout (test_conformance_*).
    conform = _run(
        installed / "apitwin", "conform", "--api", "meiro", "--max-examples", "3", "--seed", "1",
        "--phases", "examples", cwd=tmp_path, env=env, timeout=600,
    )  # fmt: skip
    assert conform.returncode == 0, conform.stdout[-3000:] + conform.stderr[-2000:]
    docs = _run(installed / "apitwin", "docs", "--out", tmp_path / "site", cwd=tmp_path, env=env)
    assert docs.returncode == 0, docs.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "assets" / "redoc" / "redoc.standalone.js").is_file()

    after = sorted(str(p) for p in site_packages.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # nothing written into site-packages at run time
    assert not (tmp_path / ".hypothesis").exists()  # caches go to the cache directory
    assert (cache / "hypothesis").is_dir()


def _wait_for(base: str, server: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stdout.read().decode()[-3000:])
        try:
            if httpx.get(base + "/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the installed twin did not answer within 60 s")
