"""Bad input: one line on stderr, exit status 2; a spec breach is also in the drift report."""

from __future__ import annotations

import json
import socket

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver.testing import ServerThread

from .conftest import record

ORG = "11111111-2222-4333-8444-555555555555"


def _run(capsys, args):
    code = record(args)
    err = capsys.readouterr().err.strip()
    return code, err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_url(tmp_path, capsys):
    url = f"http://127.0.0.1:{_free_port()}/hubble"
    code, err = _run(capsys, ["record", "--base-url", url, "--token", "t" * 20, "--org-id", ORG, "--out", str(tmp_path / "x.yaml"), "--quiet"])
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("mockserver record: cannot reach") and "Traceback" not in err
    assert not (tmp_path / "x.yaml").exists()


def test_refused_credentials(small_source, tmp_path, capsys):
    args = small_source.args(tmp_path / "x.yaml")
    args[args.index("--token") + 1] = "not-the-token-0000"
    code, err = _run(capsys, args)
    assert code == 2 and len(err.splitlines()) == 1
    assert "refused the credentials: 401" in err


def test_refused_hubby_signature(small_source, tmp_path, capsys):
    args = small_source.args(tmp_path / "x.yaml", api="hubby")
    args[args.index("--secret") + 1] = "wrong-secret-0123456789"
    code, err = _run(capsys, args)
    assert code == 2 and "the hubby API refused the credentials: 401" in err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--days", "45"], "--days must be between 0 and 30"),
        (["--keep", "shoe_size"], "--keep: unknown field"),
        (["--since", "/nonexistent/old.yaml"], "--since: no file"),
    ],
)
def test_bad_options(small_source, tmp_path, capsys, args, says):
    code, err = _run(capsys, small_source.args(tmp_path / "x.yaml", *args))
    assert code == 2 and says in err and len(err.splitlines()) == 1


def test_a_broken_since_file_stops_before_reading(small_source, tmp_path, capsys):
    old = tmp_path / "old.yaml"
    old.write_text("hubble: {recorded: [unclosed\n", encoding="utf-8")
    small_source.server.clear_requests()
    code, err = _run(capsys, small_source.args(tmp_path / "x.yaml", "--since", str(old)))
    assert code == 2 and len(err.splitlines()) == 1 and "--since: cannot read" in err
    assert small_source.server.requests(api="hubble") == []


def test_missing_credentials(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HUBBLE_API_TOKEN", raising=False)
    code, err = _run(capsys, ["record", "--base-url", "http://127.0.0.1:9/hubble", "--org-id", ORG, "--out", str(tmp_path / "x.yaml")])
    assert code == 2 and "needs --base-url, --token and --org-id" in err


def _broken_app() -> Starlette:
    """A 'Hubble' whose organization answer lacks the required name."""

    async def org(request):
        return JSONResponse({"org_id": ORG, "nickname": "no name"})

    return Starlette(routes=[Route("/hubble/api/org/{org_id}", org)])


def test_spec_breach_is_one_line_and_reported(tmp_path, capsys):
    out = tmp_path / "breach.yaml"
    with ServerThread(_broken_app()) as server:
        code, err = _run(capsys, ["record", "--base-url", f"{server.base_url}/hubble", "--token", "t" * 20, "--org-id", ORG,
                                  "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 2 and len(err.splitlines()) == 1
    assert "broke the hubble spec" in err and "breach.drift.jsonl" in err
    report = tmp_path / "breach.drift.jsonl"
    entries = [json.loads(line) for line in report.read_text().splitlines()]
    assert any(e["kind"] == "violation" and "name" in e["detail"] and e["operation"] == "retrieve-organization-metadata" for e in entries)
    assert not out.exists()
