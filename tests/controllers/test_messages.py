"""Each error that concerns a setting, raised by the real lower layer, worded twice: the
window names where to fix it (Settings, the services dialog) as it always has; the
command line names an environment variable or a flag and no GUI place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dictation_app.cli.messages import cli_message
from dictation_app.cli.stream import Pace, stream_file
from dictation_app.controllers.messages import Where, window_message
from dictation_app.core.errors import (
    LIVE_TOKEN,
    AuthenticationFailed,
    ConfigurationError,
    DictationError,
    Fix,
    Remedy,
)
from dictation_app.core.secrets import SecretStore
from dictation_app.core.settings import Settings
from dictation_app.protocols import botlhale
from dictation_app.services.live_providers import live_provider
from dictation_app.transport.bahasakita_account_client import (
    BahasakitaAccountClient,
    check_bahasakita_token,
)
from dictation_app.transport.stream_connection import StreamConnection
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita

GUI_PLACES = ("Preferences", "File →", "File ->", "services dialog", "menu", "Press", "button")


def printed_names_no_gui_place(error: BaseException) -> str:
    printed = cli_message(error)
    assert not [place for place in GUI_PLACES if place in printed], printed
    return printed


def test_a_damaged_bahasakita_token() -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_bahasakita_token("secret-part-one\nsecret-part-two")
    error = caught.value
    assert window_message(error, Where.ACCOUNT).endswith(
        "(a curly quote, say); paste it again in Preferences.")
    assert window_message(error, Where.JOBS).endswith("; paste it again in Preferences.")
    assert printed_names_no_gui_place(error).endswith(
        "(a curly quote, say); set DICTATION_BAHASAKITA_TOKEN again.")
    assert "secret-part" not in window_message(error) + cli_message(error)


def test_monitoring_without_a_token() -> None:
    async def scenario() -> None:
        async with BahasakitaAccountClient(token=None) as client:
            await client.monitoring()

    with pytest.raises(ConfigurationError) as caught:
        asyncio.run(scenario())
    assert window_message(caught.value, Where.ACCOUNT) == (
        "Bahasakita monitoring needs a token: sign in with your Bahasakita email and "
        "password, paste a token in Preferences, or set DICTATION_BAHASAKITA_TOKEN.")
    assert printed_names_no_gui_place(caught.value) == (
        "Bahasakita monitoring needs a token: set DICTATION_BAHASAKITA_TOKEN, or enter it "
        "in the app.")


def test_a_live_take_without_a_token(memory_keyring: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        live_provider("bahasakita").resolve(Settings(), SecretStore())
    assert window_message(caught.value, Where.LIVE) == (
        "Bahasakita needs a token: open Preferences and paste your token, "
        "or switch to Local (offline).")
    assert printed_names_no_gui_place(caught.value) == (
        "Bahasakita needs a token: pass --token or set DICTATION_BAHASAKITA_TOKEN.")


def test_a_live_token_refused_at_the_handshake(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    soundfile.write(str(path), np.zeros((8000, 1), np.float32), 16000, subtype="PCM_16")

    async def scenario(url: str) -> None:
        await stream_file(path, lambda on_transcript: StreamConnection(
            url, token="a-wrong-token", on_transcript=on_transcript, service="Bahasakita"),
            pace=Pace.FAST)

    with FakeBahasakita(Behaviour(token="the-right-one")) as server, \
            pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(scenario(server.url))
    assert window_message(caught.value, Where.LIVE) == (
        "Bahasakita refused the token (HTTP 401). Check the token in Preferences; it may have "
        "expired.")
    assert printed_names_no_gui_place(caught.value) == (
        "Bahasakita refused the token (HTTP 401). Check --token or DICTATION_BAHASAKITA_TOKEN;"
        " the token may have expired.")


@pytest.mark.parametrize("make", [
    lambda: botlhale.upload_request(botlhale.ApiVersion.V1, org_id=None),
    lambda: botlhale.status_request(botlhale.ApiVersion.V2, org_id=" ", filename="a.wav"),
])
def test_a_botlhale_request_without_the_organisation_id(make: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make()  # type: ignore[operator]
    assert window_message(caught.value).endswith(
        "needs the organisation ID. Enter it in File → File transcription services, "
        "under Botlhale, or set DICTATION_BOTLHALE_ORG_ID.")
    assert printed_names_no_gui_place(caught.value).endswith(
        "needs the organisation ID. Set DICTATION_BOTLHALE_ORG_ID, or enter it in the app.")


def test_an_error_without_a_fix_is_said_as_it_is() -> None:
    error = DictationError("Bahasakita: the server went away.")
    assert window_message(error) == cli_message(error) == "Bahasakita: the server went away."


def test_a_fix_naming_an_unknown_vendor_adds_nothing() -> None:
    error = AuthenticationFailed("X refused the key.", fix=Fix("x", ("x_key",), Remedy.RENEW))
    assert window_message(error) == cli_message(error) == "X refused the key."


def test_configuration_errors_keep_their_service_and_fields() -> None:
    error = ConfigurationError("needs it", service="botlhale", fields=("botlhale_org_id",))
    assert error.fix == Fix("botlhale", ("botlhale_org_id",), Remedy.ENTER)
    assert (error.service, error.fields) == ("botlhale", ("botlhale_org_id",))
    live = ConfigurationError("needs it", fix=Fix(None, (LIVE_TOKEN,)))
    assert live.service is None and live.fields == (LIVE_TOKEN,)
    assert ConfigurationError("plain").fix is None
