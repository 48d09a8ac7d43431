"""What the database keeps that only the portal itself may read: encrypted with AES-GCM (a random nonce, and
authenticated, so that a changed value is refused, not misread) under a key derived from the portal's secret key.
Whoever reads a table or a stolen backup, without the secret key, reads nothing of it.

Every kind of value has its own namespace, and so its own key. While a secret key is rotated out
(SECRET_KEY_FALLBACKS, README "Rotating the secret key"), values encrypted under it are still read; `decrypt`
says whether a value should be encrypted again under the current key."""

import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.encoding import force_bytes

NONCE_BYTES = 12


def keys(namespace: str) -> list[bytes]:
    """The namespace's key under the current secret key, then under each fallback."""
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [hashlib.sha256(force_bytes(f"{namespace}:{secret}")).digest() for secret in secrets_]


def encrypt(data: bytes, *, namespace: str, bound_to: bytes | None = None) -> bytes:
    """Nonce and ciphertext. `bound_to`: what the value belongs to (e.g. its holder), authenticated, not stored:
    the value is read only together with it, so a copy put beside another holder is refused."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(keys(namespace)[0]).encrypt(nonce, data, bound_to)


def decrypt(raw: bytes, *, namespace: str, bound_to: bytes | None = None) -> tuple[bytes, bool]:
    """The data, and whether it was encrypted under the current secret key (False: under a fallback; encrypt it
    again). ValueError if no secret of the portal decrypts it (a secret rotated away, or the value was changed)."""
    raw = bytes(raw)
    for index, key in enumerate(keys(namespace)):
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to), index == 0
        except InvalidTag:
            continue
    raise ValueError(f"A value of {namespace} cannot be decrypted with the portal's secrets.")
