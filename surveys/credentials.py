"""The respondents' credentials: a link token (256 bits, for e-mail and QR codes) and a short code to type
from paper. Both are stored only as hashes; the code's hash is keyed with the portal's secret, because 60 bits
could otherwise be tried offline by whoever reads the database.

Codes are 12 characters of Crockford's base32 (no I, L, O, U), shown in groups of four: 32¹² = 2⁶⁰. Typing is
forgiving: case, spaces and dashes do not matter, and O, I and L are read as 0, 1 and 1."""

import base64
import hashlib
import hmac
import json
import secrets

from vielfalt import encryption

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _namespace(purpose: str) -> str:
    return f"vielfalt.surveys.{purpose}"


def _keys(purpose: str) -> list[bytes]:
    return encryption.keys(_namespace(purpose))


def normalise_code(typed: str) -> str | None:
    """The code as stored (12 characters, no separators), or None if it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def code_hash(code: str) -> str:
    """The keyed hash of a normalised code (with the current secret)."""
    return hmac.new(_keys("code")[0], code.encode(), hashlib.sha256).hexdigest()


def code_hashes(code: str) -> list[str]:
    """The code's hash under the current and every fallback secret (a rotated secret keeps codes working)."""
    return [hmac.new(key, code.encode(), hashlib.sha256).hexdigest() for key in _keys("code")]


def new_code() -> tuple[str, str]:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return code, code_hash(code)


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def seal(fields: dict, *, purpose: str = "held-answer") -> str:
    """AES-GCM with a random nonce under the current key (vielfalt.encryption; Fernet would carry the time of
    sealing in clear)."""
    data = json.dumps(fields, separators=(",", ":")).encode()
    return base64.b64encode(encryption.encrypt(data, namespace=_namespace(purpose))).decode()


def unseal(sealed: str, *, purpose: str = "held-answer") -> dict:
    """ValueError if no secret of the portal decrypts it (a secret rotated away)."""
    data, _current = encryption.decrypt(base64.b64decode(sealed), namespace=_namespace(purpose))
    return json.loads(data)


RESPONDENT = "respondent"


def respondent_seal(state: dict) -> str:
    """The respondent's state (credential, form key, campaign, answered) for a cookie: encrypted and
    authenticated, so that the respondent's device holds it instead of a session row in the database, and
    nobody who sees the cookie (a proxy, the browser's storage) reads the credential's hash from it. URL-safe
    base64: a cookie value needs no quoting."""
    return seal(state, purpose=RESPONDENT).replace("+", "-").replace("/", "_")


def respondent_unseal(value: str) -> dict | None:
    """The state sealed by `respondent_seal`, or None if the value was not made by this portal (or under a
    secret rotated away)."""
    try:
        state = unseal(value.replace("-", "+").replace("_", "/"), purpose=RESPONDENT)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        return None
    return state if isinstance(state, dict) else None
