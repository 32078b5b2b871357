"""Every guarded admin route names its roles; the key check runs before the view."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, jsonify

from gateway.admin._auth import Routes
from gateway.admin._errors import install_error_handlers
from gateway.db import open_engine
from gateway.serverconf import ServerConf, create_api_key


@pytest.fixture()
def conf(tmp_path: Path) -> ServerConf:
    return ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)


def test_a_guarded_route_must_name_a_role(conf: ServerConf) -> None:
    with pytest.raises(ValueError, match="names at least one role"):
        Routes("things", __name__, conf).route("GET", "/things")


def test_the_view_runs_only_for_a_key_with_one_of_its_roles(conf: ServerConf) -> None:
    api = Routes("things", __name__, conf)
    calls: list[str] = []

    @api.route("PATCH", "/things/<name>", "auditor")
    def touch(name: str) -> object:
        calls.append(name)
        return jsonify(name=name)

    app = Flask(__name__)
    install_error_handlers(app)
    app.register_blueprint(api.blueprint)
    client = app.test_client()
    _, auditor = create_api_key(conf, ["auditor"], "audit")
    _, viewer = create_api_key(conf, ["viewer"], "view")
    _, admin = create_api_key(conf, ["admin"], "root")
    assert client.patch("/things/a").status_code == 401
    assert client.patch("/things/b", headers={"X-API-Key": viewer}).status_code == 403
    assert client.get("/things/c", headers={"X-API-Key": auditor}).status_code == 405
    assert client.patch("/things/d", headers={"X-API-Key": auditor}).get_json() == {"name": "d"}
    assert client.patch("/things/e", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    assert calls == ["d", "e"]
    assert app.url_map.bind("").match("/things/x", method="PATCH") == ("things.touch", {"name": "x"})
