"""The XML schemas a dossier package carries under `schemas/`, and validation against them.

The official schemas ship in `archive/data/schemas/` (their sources in SOURCES.txt there) and are
never fetched at run time: a school's server may have no internet, and an inspector checks a
package offline. Validation resolves every `schemaLocation` by file name among the schemas given
(METS imports XLink from loc.gov; the package's own copy answers), so it reads nothing outside
the package either. lxml, not ElementTree: the standard library has no XSD validator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import PurePosixPath

from lxml import etree

from archive import ead, tt05

OFFICIAL = ("mets.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd", "premis.xsd", ead.SCHEMA_FILE)
# what each namespace's schema file is, for a driver schema that imports several
NAMESPACES = {ead.NS: ead.SCHEMA_FILE, tt05.NS: tt05.SCHEMA_FILE}
MAX_SCHEMA = 4 * 1024 * 1024


def package_schemas() -> dict[str, bytes]:
    """File name → bytes of every schema a dossier package ships."""
    folder = resources.files("archive") / "data" / "schemas"
    found = {name: (folder / name).read_bytes() for name in OFFICIAL}
    found[tt05.SCHEMA_FILE] = tt05.schema()
    return found


class _Local(etree.Resolver):
    def __init__(self, files: Mapping[str, bytes]) -> None:
        super().__init__()
        self.files = files

    def resolve(self, url: str, _pubid: str, context: object) -> object:
        name = PurePosixPath(url.split("?")[0]).name
        if name in self.files:
            return self.resolve_string(self.files[name], context)
        raise etree.XMLSchemaParseError(f"schema {url} is not in the package")


def _driver(namespaces: Mapping[str, str]) -> bytes:
    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{name}"/>' for ns, name in namespaces.items())
    return f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'.encode()


def validator(files: Mapping[str, bytes]) -> Callable[[bytes], list[str]]:
    """A checker of XML documents against the EAD3 and TT 05 schemas in `files` (name → bytes):
    returns its errors (empty: valid). Both are loaded at once so the TT 05 set that EAD3 wraps
    (`objectxmlwrap`, processContents="lax") is checked strictly, not skipped."""
    for name in NAMESPACES.values():
        if name not in files:
            raise ValueError(f"the package has no schemas/{name}")
        if len(files[name]) > MAX_SCHEMA:
            raise ValueError(f"schemas/{name} is too large to be a schema")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_Local(files))
    schema = etree.XMLSchema(etree.fromstring(_driver(NAMESPACES), parser))

    def check(data: bytes) -> list[str]:
        document = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        if schema.validate(document):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]

    return check
