"""A batch's CMS signatures from one template: only the message digest and the signature value change.

Within a batch every PAdES signature container is the same bytes except two slots: the document's
message digest (inside the signed attributes) and the RSA signature value (fixed length for a key,
PKCS#1 v1.5 is deterministic). pyHanko rebuilds the whole container with asn1crypto for every
document, and that re-serialisation is most of a signature's CPU (profiled: ~60% of B-B), so the
first documents go through pyHanko and the rest are spliced bytes.

Safety: the template is taken from two real pyHanko containers and used only if both agree
outside the two slots (anything that varies per signature — a signing time, a nonce — disables
it), and only for what it was built for (digest algorithm, PAdES or not, the same attribute
settings, no dry run). A timestamp (B-T and above) is an unsigned attribute over the signature
value: it is requested and added after the splice, as pyHanko adds it. A signature value of
another length falls back to pyHanko.
The key's signature over the spliced attributes must equal pyHanko's signature on the second
document, so the splice signs exactly what pyHanko would.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms

DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


@dataclass(frozen=True)
class Template:
    """The container split around its two slots, and the signed attributes split around the digest."""

    head: bytes  # … up to the message digest
    middle: bytes  # after the digest … up to the signature value
    tail: bytes  # after the signature value
    attrs_head: bytes  # the signed attributes as signed (SET OF), up to the digest
    attrs_tail: bytes
    signature_size: int

    def signed_attrs(self, digest: bytes) -> bytes:
        return self.attrs_head + digest + self.attrs_tail

    def container(self, digest: bytes, signature: bytes) -> bytes:
        return self.head + digest + self.middle + signature + self.tail


def _split(der: bytes, digest: bytes) -> Template | None:
    """The template of one container, or None when its slots cannot be found exactly once."""
    content = cms.ContentInfo.load(der)
    signer_info = content["content"]["signer_infos"][0]
    signature = signer_info["signature"].native
    signed_attrs = signer_info["signed_attrs"]
    if any(a["type"].native == "signing_time" for a in signed_attrs):
        return None  # a time in the signed attributes changes per signature: never frozen into a template
    as_signed = signed_attrs.untag().dump()  # what the key signed: the attributes as a SET OF
    if der.count(digest) != 1 or der.count(signature) != 1 or as_signed.count(digest) != 1:
        return None
    at, sig_at = der.index(digest), der.index(signature)
    if sig_at < at:
        return None
    a = as_signed.index(digest)
    return Template(
        head=der[:at],
        middle=der[at + len(digest) : sig_at],
        tail=der[sig_at + len(signature) :],
        attrs_head=as_signed[:a],
        attrs_tail=as_signed[a + len(digest) :],
        signature_size=len(signature),
    )


class TemplatedCMS:
    """Mixin for a pyHanko `Signer` whose signatures are deterministic and of fixed length (RSA)."""

    _templates: dict[Any, Template | None]
    _samples: dict[Any, Template]

    def _template_key(self, digest_algorithm: str, use_pades: bool, settings: Any) -> Any:
        # the signing time is set on every call, and PAdES leaves it out of the attributes (a
        # container that carried it would differ between the samples and never be templated)
        is_instance = dataclasses.is_dataclass(settings) and not isinstance(settings, type)
        fixed = dataclasses.replace(settings, signing_time=None) if is_instance else settings
        return (digest_algorithm, use_pades, repr(fixed))

    async def async_sign(  # type: ignore[no-untyped-def]
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run=False,
        use_pades=False,
        timestamper=None,
        signed_attr_settings=None,
        is_pdf_sig=True,
        encap_content_info=None,
    ) -> cms.ContentInfo:
        slow = super().async_sign  # type: ignore[misc]
        eligible = not dry_run and encap_content_info is None and is_pdf_sig
        if not eligible or len(data_digest) != DIGEST_SIZES.get(digest_algorithm):
            return await slow(
                data_digest, digest_algorithm, dry_run, use_pades, timestamper, signed_attr_settings, is_pdf_sig
            )
        if not hasattr(self, "_templates"):
            self._templates, self._samples = {}, {}
        key = self._template_key(digest_algorithm, use_pades, signed_attr_settings)
        template = self._templates.get(key)
        if template is not None:
            signature = await self.async_sign_raw(template.signed_attrs(data_digest), digest_algorithm)  # type: ignore[attr-defined]
            if len(signature) == template.signature_size:
                spliced = cms.ContentInfo.load(template.container(data_digest, signature))
                return await self._timestamped(
                    spliced, template.signed_attrs(data_digest), digest_algorithm, timestamper
                )
        # pyHanko builds it (without the timestamp, which is added the same way as on the fast path)
        result = await slow(data_digest, digest_algorithm, dry_run, use_pades, None, signed_attr_settings, is_pdf_sig)
        if key not in self._templates:
            await self._learn(key, result.dump(), data_digest, digest_algorithm)
        signer_info = result["content"]["signer_infos"][0]
        return await self._timestamped(
            result, signer_info["signed_attrs"].untag().dump(), digest_algorithm, timestamper
        )

    async def _timestamped(
        self, container: cms.ContentInfo, signed_attrs: bytes, digest_algorithm: str, timestamper: Any
    ) -> cms.ContentInfo:
        """The RFC 3161 token over the signature value as an unsigned attribute, as pyHanko adds it (B-T)."""
        if timestamper is None:
            return container
        signer_info = container["content"]["signer_infos"][0]
        unsigned = await self.unsigned_attrs(  # type: ignore[attr-defined]
            digest_algorithm,
            signer_info["signature"].native,
            signed_attrs=cms.CMSAttributes.load(signed_attrs),
            timestamper=timestamper,
        )
        if unsigned is not None:
            signer_info["unsigned_attrs"] = unsigned
        return container

    async def _learn(self, key: Any, der: bytes, digest: bytes, digest_algorithm: str) -> None:
        """First sample: remember its shape. Second: the same shape, and the key's signature over the
        spliced attributes is the very signature pyHanko made (deterministic RSA), so the splice signs
        exactly what pyHanko signs."""
        found = _split(der, digest)
        if found is None:
            self._templates[key] = None
            return
        earlier = self._samples.pop(key, None)
        if earlier is None:
            self._samples[key] = found
            return
        signature = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signature"].native
        again = await self.async_sign_raw(found.signed_attrs(digest), digest_algorithm)  # type: ignore[attr-defined]
        self._templates[key] = found if earlier == found and again == signature else None
