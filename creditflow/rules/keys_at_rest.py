"""Whether a stored BYOK key is encrypted, not merely encoded: none of the key's reversible encodings
appears in what Ops-Center stored, and what it stored is a token of the configured cipher that opens with
the configured key and with no other."""

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken


def readable_forms(key: str) -> dict[str, bytes]:
    """The key as anyone reading the table could turn it back: each encoding is reversible without a secret."""
    raw = key.encode()
    forms = {
        "plain text": raw, "reversed": raw[::-1],
        "hex": binascii.hexlify(raw), "upper-case hex": binascii.hexlify(raw).upper(),
        "base64": base64.b64encode(raw), "URL-safe base64": base64.urlsafe_b64encode(raw),
        "base64 of the reversed key": base64.b64encode(raw[::-1]), "base32": base64.b32encode(raw),
    }
    # Padding and line breaks are cut where a writer would cut them.
    return {name: form.rstrip(b"=") for name, form in forms.items()}


def readable_in(stored: bytes, key: str) -> list[str]:
    """The encodings of `key` found in `stored` (also in its text once decoded as base64)."""
    forms = readable_forms(key)
    found = [name for name, form in forms.items() if form in stored]
    for decoded in base64_layers(stored):
        found += [f"{name}, under base64" for name, form in forms.items() if form in decoded]
    return found


def base64_layers(stored: bytes, depth: int = 2) -> list[bytes]:
    layers, current = [], stored
    for _ in range(depth):
        try:
            current = base64.b64decode(current + b"=" * (-len(current) % 4), altchars=b"-_", validate=False)
        except (binascii.Error, ValueError):
            break
        layers.append(current)
    return layers


def opens_with(stored: bytes, cipher_key: str) -> bytes | None:
    """The plain text of a Fernet token under `cipher_key`, or None when the key does not open it."""
    try:
        return Fernet(cipher_key.encode()).decrypt(stored.strip())
    except (InvalidToken, ValueError):
        return None


def opens_with_another_key(stored: bytes) -> bool:
    """A token some freshly made key also opens would be no encryption at all."""
    return opens_with(stored, Fernet.generate_key().decode()) is not None
