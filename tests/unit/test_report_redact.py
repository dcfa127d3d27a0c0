"""Secrets never reach a technician's report: setting names that read as secrets, URL passwords."""

from __future__ import annotations

import pytest

from app.config import load_demo_profile
from app.report.redact import REMOVED, is_secret_name, name_words, redact, redact_text


@pytest.mark.parametrize("name", [
    "password", "PASSWORD", "ali_password", "passwd", "pwd", "db-pass", "secret", "client_secret",
    "token", "api_token", "apiToken", "auth", "Authorization", "credentials", "api_key", "apiKey",
    "private-key", "ssh_private_key", "secretKey", "access_key", "apikey",
])
def test_secret_names(name):
    assert is_secret_name(name), name


@pytest.mark.parametrize("name", [
    # The profile's key *bindings* and timings are not secrets.
    "key", "keys", "key_up_delay_ms", "key_confirm_s", "passband_hz", "bypass", "url", "host", "port",
    "name", "device", "monkey", "tokenizer_mode", "",
])
def test_names_that_are_not_secrets(name):
    assert not is_secret_name(name), name


def test_name_words_split_snake_kebab_and_camel_case():
    assert name_words("sshPrivate-key_ID") == ["ssh", "private", "key", "id"]


@pytest.mark.parametrize("text, expected", [
    ("rfc2217://tech:hunter2@10.0.0.5:4001", f"rfc2217://tech:{REMOVED}@10.0.0.5:4001"),
    ("socket://user:p@ss:w0rd@host:7000/x", f"socket://user:{REMOVED}@host:7000/x"),  # raw '@' in the password
    ("cannot open rfc2217://a:b@h:1: refused", f"cannot open rfc2217://a:{REMOVED}@h:1: refused"),
    ("rfc2217://onlyuser@host:1", "rfc2217://onlyuser@host:1"),  # no password: nothing to remove
    ("rfc2217://user:@host:1", "rfc2217://user:@host:1"),
    ("socket://host:7000", "socket://host:7000"),
    ("/dev/ttyUSB0", "/dev/ttyUSB0"),
    ("http://h/x?user=a&password=s3cret&n=1", f"http://h/x?user=a&password={REMOVED}&n=1"),
    ("http://h/x?api_token=abc#frag", f"http://h/x?api_token={REMOVED}#frag"),
    ("two: a://u:p1@h1 and b://v:p2@h2/", f"two: a://u:{REMOVED}@h1 and b://v:{REMOVED}@h2/"),
])
def test_redact_text(text, expected):
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # idempotent


def test_redact_walks_nested_settings_and_keeps_the_shape():
    settings = {
        "ali": {"url": "rfc2217://tech:hunter2@ts1:4001", "password": "hunter2", "baudrate": 9600},
        "inputs": [{"kind": "keyboard", "key": "F12"}, {"kind": "evdev", "keys": [{"key": "KEY_F13"}]}],
        "radios": [{"id": "r1", "api_token": "t0k", "auth": {"user": "u", "pass": "x"}}],
        "empty_secret": "", "token": None, "n": 3, "flag": True,
    }
    out = redact(settings)
    assert out["ali"] == {"url": f"rfc2217://tech:{REMOVED}@ts1:4001", "password": REMOVED, "baudrate": 9600}
    assert out["inputs"] == settings["inputs"]  # key bindings stay
    assert out["radios"] == [{"id": "r1", "api_token": REMOVED, "auth": REMOVED}]
    assert out["empty_secret"] == "" and out["token"] is None  # "not set" stays visible as not set
    assert out["n"] == 3 and out["flag"] is True
    assert "hunter2" not in repr(out) and "t0k" not in repr(out)
    assert settings["ali"]["password"] == "hunter2"  # the input is not changed


def test_a_real_profile_with_a_password_in_its_ali_url():
    profile = load_demo_profile()
    profile = profile.model_copy(update={"ali": profile.ali.model_copy(update={"url": "rfc2217://ops:Zq9!x@ts:4001"})})
    dumped = redact(profile.model_dump(mode="json"))
    assert dumped["ali"]["url"] == f"rfc2217://ops:{REMOVED}@ts:4001"
    assert "Zq9!x" not in repr(dumped)
    assert dumped["position"]["name"] == profile.position.name
