#!/usr/bin/env python3
"""The project's two entry points on a machine with nothing but Python 3.11+:

    python3 dev.py serve [mockserver serve options]   # install into .venv, start the sandbox
    python3 dev.py test  [pytest options]             # install the test extra into .venv, run the suite

Both make (or reuse) a virtual environment in `.venv` next to this file, so they work where
`pip install` is refused (Debian's and Homebrew's "externally managed" Pythons) and never touch
the system's packages. Debian and Ubuntu ship `venv` without pip unless `python3-venv` is
installed: then the environment is made without pip and pip is bootstrapped from its wheel on
the package index (the same way `ensurepip` does it from its bundled copy).

An install is skipped when `pyproject.toml` has not changed since the last one with the same
extras, so a second `serve` starts at once. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("MOCKSERVER_VENV", ROOT / ".venv"))
STAMP = VENV / ".mockserver-install.json"
EXTRAS = {"serve": [], "test": ["test"]}
MIN_PYTHON = (3, 11)


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def has_ensurepip() -> bool:
    if os.environ.get("MOCKSERVER_DEV_NO_ENSUREPIP") == "1":  # lets the tests take the fallback path
        return False
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return False
    return True


def pip_wheel() -> Path:
    """A pip wheel to bootstrap from: $MOCKSERVER_DEV_PIP_WHEEL, or the newest from the index."""
    given = os.environ.get("MOCKSERVER_DEV_PIP_WHEEL")
    if given:
        return Path(given)
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    json_api = index.removesuffix("/simple") + "/pypi/pip/json"
    say(f"this Python has no ensurepip (Debian: python3-venv); fetching pip from {json_api}")
    with urllib.request.urlopen(json_api, timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["filename"].endswith("-py3-none-any.whl"))
    target = Path(tempfile.mkdtemp(prefix="mockserver-pip-")) / wheel["filename"]
    with urllib.request.urlopen(wheel["url"], timeout=120) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        raise SystemExit("dev.py: the downloaded pip wheel does not match the index's sha256")
    target.write_bytes(data)
    return target


def make_venv() -> None:
    if venv_python().exists():
        return
    say(f"creating {VENV}")
    if has_ensurepip():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, stdout=sys.stderr)
        return
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True)
    wheel = pip_wheel()
    # pip runs from its own wheel (a zip on sys.path) to install itself, as ensurepip does
    bootstrap = "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); runpy.run_module('pip', run_name='__main__')"
    subprocess.run(
        [str(venv_python()), "-c", bootstrap, str(wheel), "install", "--no-index", "-q", str(wheel)],
        check=True, stdout=sys.stderr,
    )  # fmt: skip


def install(extras: list[str]) -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        stamp = {}
    installed = set(stamp.get("extras", [])) if stamp.get("pyproject") == digest else set()
    if stamp.get("pyproject") == digest and set(extras) <= installed:
        return
    target = f".[{','.join(extras)}]" if extras else "."
    say(f"installing mockserver{target[1:]} into {VENV} (editable)")
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
        cwd=ROOT, check=True, stdout=sys.stderr,
    )  # fmt: skip
    STAMP.write_text(json.dumps({"pyproject": digest, "extras": sorted(installed | set(extras))}))


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        say(f"Python {'.'.join(map(str, MIN_PYTHON))}+ is needed, this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in EXTRAS:
        print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        make_venv()
        install(EXTRAS[command])
    except subprocess.CalledProcessError as exc:
        say(f"setting up {VENV} failed (exit {exc.returncode}); see the output above")
        return 2
    python = str(venv_python())
    args = [python, "-m", "mockserver", "serve", *rest] if command == "serve" else [python, "-m", "pytest", *rest]
    if command == "test":
        os.chdir(ROOT)  # the suite's configuration is in pyproject.toml here
    if os.name == "nt":
        return subprocess.call(args)
    os.execv(python, args)  # the server or pytest takes this process over: signals reach it directly


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
