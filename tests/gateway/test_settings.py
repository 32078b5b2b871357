"""``gateway.json``: where a gateway listens, and one syntax for the allowed federations.

``sild gateway init`` runs for real (keys, CSRs, the settings file) against an anchor
written here, so these tests need no X-Road vectors.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from federation.anchor import write_anchor
from federation.model import AnchorSource, ConfigurationAnchor
from gateway.cli import cli
from gateway.cli._gateway import default_peer_host
from gateway.cli._main import _register
from gateway.settings import NodeSettings, SetupError, parse_federations

PIN = "settings-pin"


@pytest.fixture
def anchor(tmp_path: Path) -> Path:
    path = tmp_path / "anchor.xml"
    path.write_bytes(write_anchor(ConfigurationAnchor(
        "EE", (AnchorSource("https://cs.example/internalconf", (b"\x30\x01\x00",)),),
        generated_at=dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc))))
    return path


def _init(tmp_path: Path, anchor: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, NodeSettings | None]:
    monkeypatch.setenv("SILD_TOKEN_PIN", PIN)
    _register()
    gdir = tmp_path / "gw"
    result = CliRunner().invoke(cli, ["gateway", "init", str(gdir), "--anchor", str(anchor), "--server",
                                      "EE/GOV/70000001/gw1", "--key-type", "ec-p256", *args])
    settings = NodeSettings.load(gdir) if (gdir / "gateway.json").exists() else None
    return result.exit_code, result.output, settings


@pytest.mark.parametrize(("address", "host"), [
    ("gw1.tax.ee:5500", "0.0.0.0"), ("gw1.tax.ee", "0.0.0.0"), ("192.0.2.10:5500", "0.0.0.0"),
    ("[2001:db8::1]:5500", "0.0.0.0"), ("", "127.0.0.1"), ("127.0.0.1:5500", "127.0.0.1"),
    ("localhost:5500", "127.0.0.1"), ("[::1]:5500", "127.0.0.1"),
])
def test_the_mutual_tls_port_listens_everywhere_when_the_address_is_not_loopback(address: str, host: str) -> None:
    assert default_peer_host(address) == host


def test_init_with_a_public_address_is_reachable_from_other_machines(tmp_path, anchor, monkeypatch) -> None:
    code, out, settings = _init(tmp_path, anchor, monkeypatch, "--address", "gw1.tax.ee:5500")
    assert code == 0, out
    assert settings is not None
    assert (settings.peer_host, settings.is_host) == ("0.0.0.0", "127.0.0.1")
    assert "listening when served: IS 127.0.0.1:8080, mutual TLS 0.0.0.0:5500; allowed federations: none" in out


def test_init_takes_listen_addresses_and_the_allowed_federations(tmp_path, anchor, monkeypatch) -> None:
    code, out, settings = _init(tmp_path, anchor, monkeypatch, "--address", "gw1.tax.ee:5500", "--is-listen",
                                "10.0.0.5", "--peer-listen", "192.0.2.10", "--allowed-federations", "fi,LV")
    assert code == 0, out
    assert settings is not None
    assert (settings.is_host, settings.peer_host) == ("10.0.0.5", "192.0.2.10")
    assert settings.allowed_federations == ("FI", "LV")
    assert json.loads((tmp_path / "gw" / "gateway.json").read_text())["allowed_federations"] == "FI,LV"


def test_the_old_option_still_works_and_says_it_is_deprecated(tmp_path, anchor, monkeypatch) -> None:
    code, out, settings = _init(tmp_path, anchor, monkeypatch, "--allow-federation", "FI")
    assert code == 0, out
    assert "--allow-federation is deprecated; use --allowed-federations FI" in out
    assert settings is not None and settings.allowed_federations == ("FI",)


def test_a_bad_federation_value_is_one_line(tmp_path, anchor, monkeypatch) -> None:
    code, out, settings = _init(tmp_path, anchor, monkeypatch, "--allowed-federations", "all,FI")
    assert code == 1 and settings is None
    assert out.strip().splitlines() == [
        "sild: error: allowed-federations: 'all' cannot be combined with instance names "
        "(use none, all, or instance codes such as EE,FI) [gateway.setup.error]"]


@pytest.mark.parametrize(("value", "kept", "text"), [
    (None, (), "none"), ("none", (), "none"), ("", (), "none"), ("all", ("all",), "all"), ("ALL", ("all",), "all"),
    ("fi,ee", ("EE", "FI"), "EE,FI"), (["FI"], ("FI",), "FI"), ((), (), "none"),
])
def test_one_syntax_in_the_file_and_a_list_still_reads(tmp_path, value, kept, text) -> None:
    assert parse_federations(value) == kept
    settings = NodeSettings(server="EE/GOV/1/gw", instance="EE", allowed_federations=value)
    assert settings.allowed_federations == kept
    settings.save(tmp_path)
    assert json.loads((tmp_path / "gateway.json").read_text())["allowed_federations"] == text
    assert NodeSettings.load(tmp_path) == settings


def test_an_older_file_with_a_list_loads(tmp_path) -> None:
    data = json.loads(NodeSettings(server="EE/GOV/1/gw", instance="EE").to_json())
    data["allowed_federations"] = ["fi"]
    (tmp_path / "gateway.json").write_text(json.dumps(data))
    settings = NodeSettings.load(tmp_path)
    assert settings.allowed_federations == ("FI",) and settings.federation_allowed("FI")
    assert not settings.federation_allowed("LV")


def test_none_with_names_is_refused() -> None:
    with pytest.raises(SetupError, match="'none' cannot be combined"):
        NodeSettings(server="EE/GOV/1/gw", instance="EE", allowed_federations="none,FI")
