"""Bulk import of a folder of files described by a metadata table (CSV or YAML).

The table has one row per file: `file` (path relative to the folder) and the RecordCreate fields
(school_code, record_type, title, school_year, subject, grade, class_name, semester, month) plus
`author` (a username; the importing user if empty). Each file goes through the same ingest as an
API upload; a refused row is reported with its reason and the others carry on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import ingest
from archive.exceptions import HosoError, InvalidInput
from archive.models import Person
from archive.schemas import RecordCreate
from archive.spool import spool_stream
from archive.storage import ObjectStore

METADATA_NAMES = ("metadata.csv", "metadata.yaml", "metadata.yml")
_INT_FIELDS = ("grade", "semester", "month")


@dataclass
class Refusal:
    file: str
    reason_vi: str
    reason_en: str


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def find_metadata(folder: Path) -> Path:
    for name in METADATA_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise InvalidInput(
        f"Không thấy tệp metadata ({', '.join(METADATA_NAMES)}) trong {folder}.",
        f"No metadata file ({', '.join(METADATA_NAMES)}) in {folder}.",
    )


def read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [dict(row) for row in csv.DictReader(fh)]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data.get("records") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InvalidInput("Tệp YAML phải là danh sách 'records'.", "The YAML file must hold a 'records' list.")
    return rows


def _meta(row: dict[str, Any]) -> RecordCreate:
    fields = {k: v for k, v in row.items() if k not in ("file", "author") and v not in (None, "")}
    for name in _INT_FIELDS:
        if isinstance(fields.get(name), str) and fields[name].strip().isdigit():
            fields[name] = int(fields[name])
    return RecordCreate.model_validate(fields)


def _inside(folder: Path, relative: str) -> Path:
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise InvalidInput(
            f"Không tìm thấy tệp {relative!r} trong thư mục nhập.", f"File {relative!r} not found inside the folder."
        )
    return path


def run_import(
    session: Session,
    store: ObjectStore,
    folder: Path,
    importer: Person,
    tmp_dir: Path,
    limit: int,
    metadata: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    metadata = metadata or find_metadata(folder)
    rows = read_rows(metadata)
    report = ImportReport()
    described: set[Path] = set()
    for row, relative in _rows_with_files(rows):
        try:
            path = _inside(folder, relative)
            described.add(path)
            author = importer
            if row.get("author"):
                named = session.scalar(select(Person).where(Person.username == row["author"], Person.active))
                if named is None:
                    raise InvalidInput(f"Không có người dùng {row['author']!r}.", f"No active user {row['author']!r}.")
                author = named
            prepared = ingest.prepare_record(session, author, _meta(row))
            with open(path, "rb") as fh, spool_stream(fh, tmp_dir, limit) as spool:
                ingest.create_record(session, store, author, prepared, spool.finish(), path.name)
            report.imported.append(relative)
        except ValidationError as exc:
            text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            report.refused.append(Refusal(relative, f"metadata không hợp lệ — {text}", f"invalid metadata — {text}"))
        except HosoError as exc:
            report.refused.append(Refusal(relative, exc.vi, exc.en))
        if progress:
            progress(relative)
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.resolve() not in described and path.resolve() != metadata.resolve():
            report.refused.append(
                Refusal(str(path.relative_to(folder)), "không có dòng metadata", "no metadata row for this file")
            )
    return report


def _rows_with_files(rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    for number, row in enumerate(rows, start=1):
        yield row, str(row.get("file") or f"<row {number} without a file>")
