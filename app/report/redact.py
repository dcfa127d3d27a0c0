"""Secrets out of a profile before it goes into a report (pure; no Qt, no I/O).

A technician's report is mailed around, attached to tickets and printed, so the profile in it must
not carry passwords. Two things are removed:

* the value of any setting whose name reads as a secret (``password``, ``api_token``, ``auth``,
  ``private_key``, ``credentials``...). Plain ``key``/``keys`` are key *bindings* in this schema
  (evdev and keyboard inputs), so "key" alone is not a secret, only a qualified one (``api_key``);
* the password inside a URL (``rfc2217://user:pass@host``) and secret-looking query parameters
  (``?token=...``), wherever a string carries one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REMOVED = "[removed]"

# Words that make a setting's name a secret wherever they appear in it.
_SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "tokens",
    "credential", "credentials", "auth", "authorization", "apikey", "privatekey", "cookie",
})
# "key" is a secret only after one of these (api_key, private-key, secretKey...).
_KEY_QUALIFIERS = frozenset({
    "api", "private", "secret", "access", "auth", "signing", "encryption", "ssh", "license", "licence", "client",
})
_WORD_RE = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# scheme://userinfo@ : the userinfo runs to the last "@" before the path, query or fragment.
_URL_USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")
_QUERY_SECRET_RE = re.compile(
    r"(?P<name>[?&;](?:[A-Za-z0-9_.-]*?)(?:password|passwd|pwd|pass|secret|token|apikey|api_key|auth)=)"
    r"(?P<value>[^&#;\s]*)",
    re.IGNORECASE,
)


def name_words(name: str) -> list[str]:
    """``"apiKey"`` -> ``["api", "key"]``; ``"ssh-private_key"`` -> ``["ssh", "private", "key"]``."""
    return [word.lower() for word in _WORD_RE.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (see the module docstring)."""
    words = name_words(name)
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(word == "key" and k > 0 and words[k - 1] in _KEY_QUALIFIERS for k, word in enumerate(words))


def redact_text(text: str) -> str:
    """``text`` with URL passwords and secret query parameters replaced by ``[removed]``."""

    def userinfo(match: re.Match[str]) -> str:
        user, colon, password = match["userinfo"].partition(":")
        if not colon or not password:
            return match.group(0)
        return f"{match['scheme']}{user}:{REMOVED}@"

    text = _URL_USERINFO_RE.sub(userinfo, text)
    return _QUERY_SECRET_RE.sub(lambda m: m["name"] + (REMOVED if m["value"] else ""), text)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, scalars) with every secret removed.

    A secret-named setting keeps its name and shows ``[removed]`` (or stays empty when it was empty,
    so the report still tells "not set" from "set"); every other string goes through ``redact_text``.
    """
    if isinstance(value, Mapping):
        return {key: _redact_item(str(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _redact_item(name: str, value: Any) -> Any:
    if not is_secret_name(name):
        return redact(value)
    if value is None or value == "" or value == [] or value == {}:
        return value
    return REMOVED
