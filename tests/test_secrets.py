"""edges/secrets.py: what counts as a secret, and masking it in every form output shows it in."""

from __future__ import annotations

import base64
import json
import textwrap
import urllib.parse

import pytest

from modelreg.edges.secrets import MASK, Scrubber, looks_secret, secret_values

TOKEN = "ghp_Secret/Value+With=Odd&Chars 42"


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "DB_PASSWORD",
                                  "NPM_TOKEN_RO", "GOOGLE_APPLICATION_CREDENTIALS", "API_KEY", "SSH_PRIVATE",
                                  "BASIC_AUTH", "hook_secret"])
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "AWS_REGION", "KEYBOARD", "MONKEY"])
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


def test_secret_values_are_those_of_secret_names_and_named_ones() -> None:
    env = {"GITHUB_TOKEN": "t0ken-value", "HOOK": "named-secret", "PATH": "/usr/bin", "SHORT_KEY": "1"}
    assert secret_values(env, ["HOOK"]) == ["named-secret", "t0ken-value"]


def forms(value: str) -> dict[str, str]:
    raw = value.encode()
    b64 = base64.b64encode(raw + b"\n").decode()
    return {
        "plain": value,
        "json": json.dumps({"v": value}),
        "base64": base64.b64encode(raw).decode(),
        "base64 of echo": b64,
        "base64 wrapped": "\n".join(textwrap.wrap(base64.b64encode(raw * 3).decode(), 20)),
        "urlsafe base64": base64.urlsafe_b64encode(b"ab" + raw).decode(),
        "basic auth": "Authorization: Basic " + base64.b64encode(b"user:" + raw).decode(),
        "url": "https://x/?t=" + urllib.parse.quote(value, safe=""),
        "url plus": urllib.parse.quote_plus(value),
        "url lower": urllib.parse.quote(value, safe="").lower(),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }


@pytest.mark.parametrize("kind", list(forms(TOKEN)))
def test_every_form_is_masked(kind: str) -> None:
    text = forms(TOKEN)[kind]
    masked = Scrubber([TOKEN])(f"before {text} after")
    assert MASK in masked
    for name, form in forms(TOKEN).items():
        core = form.replace("\n", "")[-12:-4] if name != "json" else TOKEN[4:12]
        if name == kind:
            assert core not in masked.replace("\n", ""), masked


def test_ordinary_text_is_left_alone() -> None:
    text = "deployed fraud-detector v4 to production in 3.2 s"
    assert Scrubber([TOKEN, "another-secret"])(text) == text
    assert Scrubber([])(text) == text and Scrubber(["abc"])("abc") == "abc"  # too short to mask
