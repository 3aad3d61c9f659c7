"""Run eark-validator (its own virtualenv: it pins lxml 5.1.0, pyHanko needs ≥5.4) on one package.

eark-validator 1.1.3 downloads four CSIP vocabularies from earkcsip.dilcis.eu when it is imported;
the same files ship inside the package (ipxml/resources/vocabs), so this wrapper answers those URLs
from the local copies and the check runs offline. Prints a JSON summary; exits 0 when the package
is well-formed and no schema or schematron rule of severity ERROR failed, 1 otherwise.

    .venv-eark/bin/python tests/tools/eark_validate.py PACKAGE.zip [V2.1.0|V2.0.4]
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import urllib.request
from pathlib import Path

spec = importlib.util.find_spec("eark_validator")
assert spec is not None and spec.submodule_search_locations, "eark-validator is not installed here"
VOCABS = Path(next(iter(spec.submodule_search_locations))) / "ipxml" / "resources" / "vocabs"
_real_urlopen = urllib.request.urlopen


def _local_vocabularies(url, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = str(url).rsplit("/", 1)[-1]
    if "earkcsip.dilcis.eu/schema/" in str(url) and (VOCABS / name).is_file():
        return io.BytesIO((VOCABS / name).read_bytes())
    return _real_urlopen(url, *args, **kwargs)


urllib.request.urlopen = _local_vocabularies

from eark_validator import packages  # noqa: E402
from eark_validator.specifications.specification import SpecificationVersion  # noqa: E402


def main() -> int:
    version = SpecificationVersion(sys.argv[2]) if len(sys.argv) > 2 else SpecificationVersion.V2_1_0
    report = packages.PackageValidator(Path(sys.argv[1]), version).validation_report
    structure = report.structure
    errors = [m for m in structure.messages if str(m.severity).lower().endswith("error")]
    metadata = report.metadata
    if metadata is not None:
        for part in (metadata.schema_results, metadata.schematron_results):
            errors += [m for m in part.messages if str(m.severity).lower().endswith("error")]
    summary = {
        "structure": str(structure.status.value),
        "errors": [{"rule": m.rule_id, "location": m.location, "message": m.message} for m in errors],
        "warnings": [
            m.rule_id
            for part in ((metadata.schematron_results.messages if metadata else []), structure.messages)
            for m in part
            if str(m.severity).lower().endswith("warning")
        ],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0 if summary["structure"].upper() == "WELLFORMED" and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
