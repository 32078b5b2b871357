"""The management-request endpoints refuse what they must before anything is signed or sent (issue 17).

Roles, identifiers and addresses are checked by the Flask app over a real SQLite
configuration; an authority's refusal reaches the caller with its status and code (a
real HTTP server on 127.0.0.1 answers 409). The full flow against a running authority
is in ``tests/gateway/cli/test_management_requests.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.central import RegistrationError, submit_registration_request
from gateway.admin import create_app
from gateway.admin._app import AdminConfig
from gateway.db import open_engine
from gateway.serverconf import ServerConf, create_api_key

SPEC = Path(__file__).resolve().parents[3] / "gateway" / "admin" / "admin_api.yaml"


class Api:
    def __init__(self, tmp_path: Path, directory: Path | None) -> None:
        conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
        self.tokens = {role: create_api_key(conf, [role], role)[1] for role in ("admin", "service-admin", "viewer")}
        self.client = create_app(AdminConfig(conf, directory=directory)).test_client()

    def post(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.client.post(path, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return Api(tmp_path, None)


@pytest.mark.parametrize("path,body", [
    ("/api/v1/clients/EE:GOV:70000001:tax/registration", None),
    ("/api/v1/clients/EE:GOV:70000001:tax/deletion", None),
    ("/api/v1/owner-change", {"member": "EE:COM:20000002"}),
    ("/api/v1/address-change", {"address": "gw.example.ee:5500"}),
    ("/api/v1/clients/sync", None),
    ("/api/v1/registration", None),
])
@pytest.mark.parametrize("role", ["service-admin", "viewer"])
def test_only_the_admin_role_sends_management_requests(api: Api, path: str, body: Any, role: str) -> None:
    answer = api.post(path, role, json=body)
    assert answer.status_code == 403, answer.get_json()


@pytest.mark.parametrize("path,body,code", [
    ("/api/v1/clients/EE:GOV/registration", None, "gateway.admin.bad_identifier"),
    ("/api/v1/clients/EE:GOV:7:tax:x/deletion", None, "gateway.admin.bad_identifier"),
    ("/api/v1/owner-change", {"member": "EE:GOV:70000001:tax"}, "gateway.admin.bad_field"),
    ("/api/v1/owner-change", {}, "gateway.admin.missing_field"),
    ("/api/v1/address-change", {"address": "gw.example.ee/path"}, "gateway.serverconf.invalid_input"),
    ("/api/v1/address-change", {"address": "a b"}, "gateway.serverconf.invalid_input"),
    ("/api/v1/address-change", {"address": "x" * 256}, "gateway.serverconf.invalid_input"),
    ("/api/v1/registration", {"address": "a b"}, "gateway.serverconf.invalid_input"),
    ("/api/v1/registration", {"authority": 7}, "gateway.admin.bad_field"),
])
def test_bad_input_is_refused_before_anything_is_signed(api: Api, path: str, body: Any, code: str) -> None:
    answer = api.post(path, json=body)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["code"] == code


def test_without_a_gateway_directory_there_is_nothing_to_sign_with(api: Api) -> None:
    answer = api.post("/api/v1/address-change", json={"address": "gw.example.ee:5500"})
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "gateway.admin.no_directory"


@pytest.fixture
def refusing_authority() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps({"code": "federation.registration.duplicate_request",
                               "message": "an equal request is pending"}).encode()
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_authoritys_refusal_keeps_its_status_and_code(refusing_authority: str) -> None:
    with pytest.raises(RegistrationError) as caught:
        submit_registration_request(refusing_authority, b"{}")
    assert caught.value.relayed_status == 409
    assert caught.value.code == "federation.registration.duplicate_request"
    assert "an equal request is pending" in caught.value.message


def test_the_openapi_description_has_every_management_request() -> None:
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    for path in ("/api/v1/clients/{client_id}/registration", "/api/v1/clients/{client_id}/deletion",
                 "/api/v1/owner-change", "/api/v1/address-change", "/api/v1/clients/sync"):
        assert "post" in paths[path], path
