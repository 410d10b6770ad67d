"""The CLI and the README's command reference agree: every option of every command (and of the
pytest plugin) has help that shows its default and a row in the README with the same default."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import pytest
from support import ROOT

from apitwin import pytest_plugin
from apitwin.cli import banner, build_parser
from apitwin.options import TwinOptions

README = (ROOT / "README.md").read_text()
REFERENCE = README[README.index("## Command reference") :]
REFERENCE = REFERENCE[: REFERENCE.index("\n## ", 1)]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    (commands,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest != "help"]


class _PytestOptions:
    """Stands in for pytest's parser: records what the plugin declares."""

    def __init__(self) -> None:
        self.actions = argparse.ArgumentParser(add_help=False)

    def getgroup(self, *args, **kwargs):
        return self

    def addoption(self, *flags, **kwargs):
        self.actions.add_argument(*flags, **kwargs)


def _plugin_parser() -> argparse.ArgumentParser:
    recorder = _PytestOptions()
    pytest_plugin.pytest_addoption(recorder)
    return recorder.actions


def _section(title: str) -> str:
    start = REFERENCE.index(f"### {title}")
    end = REFERENCE.find("\n### ", start + 1)
    return REFERENCE[start : end if end > 0 else None]


SECTIONS = {
    "serve": "`apitwin serve`",
    "conform": "`apitwin conform`",
    "diff": "`apitwin diff`",
    "proxy": "`apitwin proxy`",
    "docs": "`apitwin docs`",
}


def _rows(section: str) -> dict[str, str]:
    """Option flag -> its row's default cell, for every flag a row's first cell names."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and cells[0].startswith("`--"):
            for flag in re.findall(r"`(--[a-z-]+)", cells[0]):
                rows[flag] = cells[1]
    return rows


def _documented(name: str) -> dict[str, str]:
    title = SECTIONS.get(name, "pytest options")
    return _rows(_section(title))


def _parser(name: str) -> argparse.ArgumentParser:
    return _plugin_parser() if name == "pytest" else _subparsers()[name]


@pytest.mark.parametrize("name", [*SECTIONS, "pytest"])
def test_every_option_has_a_row_with_its_default(name):
    rows = _documented(name)
    options = _options(_parser(name))
    flags = {flag for action in options for flag in action.option_strings}
    assert flags - set(rows) == set(), "options missing from the README"
    assert set(rows) - flags == set(), "README rows naming no option"
    for action in options:
        cell = rows[action.option_strings[0]]
        default = action.default
        if isinstance(default, bool) or default is None:
            continue
        if isinstance(default, (int, float, str)):
            shown = {str(default), f"{default:g}" if not isinstance(default, str) else default}
            assert any(f"`{text}`" in cell for text in shown), (action.option_strings, cell)


@pytest.mark.parametrize("name", [*SECTIONS, "pytest"])
def test_every_option_has_help_that_shows_its_default(name):
    parser = _parser(name)
    for action in _options(parser):
        assert action.help, action.option_strings
    if name == "pytest":  # pytest renders these; each says its default in words
        for action in _options(parser):
            assert "default" in action.help, action.option_strings
        return
    text = " ".join(parser.format_help().split())
    for action in _options(parser):
        flag = action.option_strings[0]
        shown = text[text.index(f" {flag} ") :]
        following = [a.option_strings[0] for a in _options(parser)]
        later = following[following.index(flag) + 1 :]
        if later:
            shown = shown[: shown.index(f" {later[0]} ")]
        assert "default" in shown or "required" in shown, shown


def test_the_store_help_lists_its_forms():
    help_text = _subparsers()["serve"].format_help()
    for form in ("memory", "file:PATH", "redis://HOST:PORT/DB"):
        assert form in help_text


def test_the_readme_shows_the_token_request_as_ylem_takes_it():
    assert (
        "POST 'http://127.0.0.1:8000/ylem/v1/oauth/token?grant_type=client_credentials"
        "&client_id=twin-client&client_secret=twin-secret'" in README
    )
    assert "## Conformance" in README and "(conformance/README.md)" in README


def test_the_banner_names_only_what_is_served():
    meiro = banner(TwinOptions(api="meiro"))
    assert "X-Access-Token: twin-token" in meiro
    assert "twin-client" not in meiro and "Ylem" not in meiro and "Director" not in meiro
    ylem = banner(TwinOptions(api="ylem", director_basic_auth="ops:pw"))
    assert "twin-client:twin-secret" in ylem and "twin-token" not in ylem
    assert "Director" not in ylem
    everything = banner(TwinOptions(director_basic_auth="ops:pw"))
    for text in ("twin-client:twin-secret", "twin-token", "Director basic auth user: ops"):
        assert text in everything
    assert "ops:pw" not in everything  # the password is never printed


@pytest.mark.parametrize("command", [["-c", "import apitwin.app"], ["-m", "apitwin", "--version"]])
def test_the_app_and_every_command_start_without_a_warning(command):
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr


def test_bench_help_prints_at_once():
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no wrk or prism needed for --help
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(ROOT / "bench" / "run"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m bench")
    assert time.monotonic() - started < 10
