"""PKCS#11 tokens (a principal's USB token, a school seal in an HSM): one login, N signatures.

Vietnamese public schools' certificates live on USB tokens, so the PIN is the authorization: it is
entered once per batch, the session stays open for every signature of the batch and is closed
(logged out) when the batch ends. pyHanko's `PKCS11Signer` does the signing; python-pkcs11 gives
each session an operation lock, so the batch's concurrent documents share the session safely.

The key is found the way a principal expects: the token's one signing key with a certificate of
the same CKA_ID; a label picks one when the token holds several.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import x509

from archive.exceptions import HosoError, InvalidInput
from signing.keys import KeySource


@dataclass(frozen=True)
class TokenSpec:
    """Where the token is: the vendor's PKCS#11 module, and optionally which token and key."""

    module: str
    token_label: str | None = None
    key_label: str | None = None


@dataclass(frozen=True)
class TokenKey:
    label: str
    key_id: bytes
    certificate: x509.Certificate


def open_session(spec: TokenSpec, pin: str) -> object:
    """Log in to the token with its PIN; each failure is said in words a principal understands."""
    from pkcs11 import exceptions as p11
    from pyhanko.sign.pkcs11 import TokenCriteria, open_pkcs11_session

    try:
        label = _pick_token(spec.module, spec.token_label)
        return open_pkcs11_session(spec.module, token_criteria=TokenCriteria(label=label), user_pin=pin)
    except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange):
        raise InvalidInput("Sai mã PIN của thiết bị ký số (USB token).", "Wrong PIN for the signing token.") from None
    except p11.PinLocked:
        raise InvalidInput(
            "Thiết bị ký số đã bị khóa PIN; liên hệ nhà cung cấp chứng thư số.",
            "The token's PIN is locked; contact the certificate provider.",
        ) from None
    except (p11.NoSuchToken, p11.TokenNotPresent, p11.SlotIDInvalid):
        raise InvalidInput(
            "Không tìm thấy thiết bị ký số (USB token); hãy cắm token và thử lại.",
            "No signing token found; plug it in and try again.",
            token_label=spec.token_label,
        ) from None
    except p11.PKCS11Error as e:
        raise InvalidInput(
            "Không mở được thiết bị ký số (USB token).", f"Cannot open the signing token: {e!r}"
        ) from None


def _load(module: str) -> Any:
    import pkcs11
    from pkcs11 import exceptions as p11

    try:
        return pkcs11.lib(module)
    except (RuntimeError, OSError, p11.PKCS11Error) as e:
        raise HosoError(
            f"Không nạp được thư viện PKCS#11 {module!r} của thiết bị ký số.",
            f"Cannot load the PKCS#11 module {module!r}: {e}",
        ) from None


def token_labels(module: str) -> list[str]:
    """Labels of the initialized tokens present (modules also list empty slots)."""
    from pkcs11 import TokenFlag
    from pkcs11 import exceptions as p11

    labels = []
    for slot in _load(module).get_slots(token_present=True):
        try:
            token = slot.get_token()
        except p11.PKCS11Error:
            continue
        if token.flags & TokenFlag.TOKEN_INITIALIZED:
            labels.append(token.label)
    return labels


def _pick_token(module: str, wanted: str | None) -> str:
    """The wanted token if present; without a label, the one token present."""
    from pkcs11 import exceptions as p11

    labels = token_labels(module)
    if wanted is not None:
        if wanted not in labels:
            raise p11.NoSuchToken()
        return wanted
    if len(labels) == 1:
        return labels[0]
    if not labels:
        raise p11.NoSuchToken()
    raise InvalidInput(
        f"Có nhiều thiết bị ký số ({', '.join(labels)}); hãy chọn nhãn token.",
        f"Several tokens are present ({', '.join(labels)}); choose one by its label.",
    )


def signing_keys(session: object) -> tuple[list[TokenKey], list[x509.Certificate]]:
    """The token's signing keys paired with their certificates, and every other certificate on it."""
    from pkcs11 import Attribute, ObjectClass

    certs: dict[bytes, x509.Certificate] = {}
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):  # type: ignore[attr-defined]
        certs[bytes(obj[Attribute.ID])] = x509.Certificate.load(bytes(obj[Attribute.VALUE]))
    found = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.SIGN: True}):  # type: ignore[attr-defined]
        key_id = bytes(obj[Attribute.ID])
        if key_id in certs:
            found.append(TokenKey(label=str(obj[Attribute.LABEL]), key_id=key_id, certificate=certs[key_id]))
    used = {k.key_id for k in found}
    others = [c for i, c in certs.items() if i not in used]
    return found, others


def choose(found: list[TokenKey], key_label: str | None) -> TokenKey:
    if key_label is not None:
        found = [k for k in found if k.label == key_label]
    if len(found) == 1:
        return found[0]
    labels = ", ".join(sorted(k.label for k in found)) or "—"
    if not found:
        raise InvalidInput(
            "Thiết bị ký số không có khóa ký kèm chứng thư số" + (f" nhãn {key_label!r}." if key_label else "."),
            "The token holds no signing key with a certificate" + (f" labelled {key_label!r}." if key_label else "."),
        )
    raise InvalidInput(
        f"Thiết bị ký số có nhiều khóa ({labels}); hãy chọn nhãn khóa.",
        f"The token holds several keys ({labels}); choose one by its label.",
        labels=labels,
    )


def from_token(spec: TokenSpec, pin: str) -> KeySource:
    """Open the token once for a whole batch; `KeySource.close()` logs out."""
    from pyhanko.sign.pkcs11 import PKCS11Signer

    from signing.cms_template import TemplatedCMS

    class TokenSigner(TemplatedCMS, PKCS11Signer):
        """pyHanko's token signer; the batch's containers spliced from a template (the token still signs each)."""

    session = open_session(spec, pin)
    try:
        found, others = signing_keys(session)
        key = choose(found, spec.key_label)
        signer = TokenSigner(
            session,  # type: ignore[arg-type]
            key_id=key.key_id,
            cert_id=key.key_id,
            signing_cert=key.certificate,
            ca_chain=others,
        )
    except BaseException:
        session.close()  # type: ignore[attr-defined]
        raise
    return KeySource(
        kind="pkcs11",
        signer=signer,
        certificate=key.certificate,
        chain=others,
        closer=session.close,  # type: ignore[attr-defined]
    )
