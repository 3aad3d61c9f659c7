"""Small, real test inputs: valid files of each accepted type, and a populated archive."""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from archive import service
from archive.models import Person, Role, School
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PASSWORD = "mat-khau-rat-dai-1"


def pdf_bytes(text: str = "Ke hoach bai day", pad: int = 0) -> bytes:
    """A minimal, well-formed one-page PDF (xref offsets computed), optionally padded."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    if pad:
        out += b"%" + b"p" * pad + b"\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _ooxml(part: str, xml: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr(part, xml)
    return buf.getvalue()


def docx_bytes() -> bytes:
    return _ooxml("word/document.xml", "<w:document/>")


def xlsx_bytes() -> bytes:
    return _ooxml("xl/workbook.xml", "<workbook/>")


def csv_bytes() -> bytes:
    return "Họ tên,Lớp,Điểm\nNguyễn Văn An,5A,9\nTrần Thị Bình,5A,8\n".encode()


def mp4_bytes(size: int = 4096) -> bytes:
    """A real MP4 (one second of a 16×16 grey picture, ~1.4 KB), padded to `size` bytes with a
    trailing `free` box: ffprobe reads it (a recording with no picture is refused at upload,
    archive/media_facts.py), and tests of chunked uploads still get the size they ask for."""
    tiny = _tiny_mp4()
    pad = size - len(tiny)
    assert pad >= 8, f"an MP4 of at least {len(tiny) + 8} bytes"
    return tiny + pad.to_bytes(4, "big") + b"free" + b"\x00" * (pad - 8)


@functools.cache
def _tiny_mp4() -> bytes:
    import shutil
    import subprocess
    import tempfile

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:  # nothing probes an upload without ffmpeg's tools: the old fake head is enough
        return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tiny.mp4"
        subprocess.run(
            [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=1", "-t", "1"]
            + ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-map_metadata", "-1"]
            + ["-fflags", "+bitexact", "-movflags", "+faststart", str(out)],
            check=True,
            timeout=60,
        )
        return out.read_bytes()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


# -- files that look like documents and are not (issue #13 §4) ----------------------------------


def truncated_pdf() -> bytes:
    """A real PDF cut short, as a dropped connection leaves it."""
    data = pdf_bytes("Ke hoach bai day", pad=5_000)
    return data[: len(data) * 2 // 3]


def pdf_header_then_zeros() -> bytes:
    return b"%PDF-1.7\n" + b"\x00" * 8_000 + b"\n%%EOF\n"


def pdf_with_broken_xref() -> bytes:
    """A PDF whose line ends were converted to CRLF (a mail gateway, an FTP ASCII transfer): every
    cross-reference offset now points beside its object. Readers repair it; pyHanko cannot sign it."""
    return pdf_bytes("Ke hoach bai day").replace(b"\n", b"\r\n")


def exe_with_pdf_header() -> bytes:
    """A Windows program with a PDF header and a whole PDF after its own header (a polyglot)."""
    return EXE + b"\n" + pdf_bytes()


def html_with_pdf_line() -> bytes:
    return b"<!DOCTYPE html>\n<html><body>\n%PDF-1.4\n<script>alert(1)</script>\n</body></html>\n%%EOF\n"


def _pdf_writer():  # type: ignore[no-untyped-def]
    from pypdf import PdfReader, PdfWriter

    return PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("Ke hoach bai day"))))


def _written(writer) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    """Opens without a password (empty user password) but is encrypted: neither indexable nor signable."""
    writer = _pdf_writer()
    writer.encrypt(user_password="", owner_password="mat-khau-chu", algorithm="RC4-128")
    return _written(writer)


def _js_action(script: str):  # type: ignore[no-untyped-def]
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(script)})


def pdf_with_open_action_js() -> bytes:
    from pypdf.generic import NameObject

    writer = _pdf_writer()
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(_js_action("app.alert('xin chao')"))
    return _written(writer)


def pdf_with_javascript_names() -> bytes:
    """Document-level JavaScript in the Names tree (runs when the file opens in Acrobat)."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = _pdf_writer()
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("init"), writer._add_object(_js_action("this.x=1"))])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    return _written(writer)


def pdf_with_launch_link() -> bytes:
    """A link on page 1 whose action starts a program."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = _pdf_writer()
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (72, 72, 200, 100)]),
            NameObject("/A"): launch,
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    return _written(writer)


def pdf_with_page_js() -> bytes:
    """JavaScript on a page's open trigger (/AA /O), chained behind a harmless action by /Next."""
    from pypdf.generic import DictionaryObject, NameObject

    writer = _pdf_writer()
    harmless = DictionaryObject({NameObject("/S"): NameObject("/GoTo"), NameObject("/Next"): _js_action("1")})
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): harmless})
    return _written(writer)


def pdf_with_xfa_form() -> bytes:
    """An AcroForm carrying an XFA packet: the XML form whose scripts no /JS key shows."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    writer = _pdf_writer()
    xfa = writer._add_object(_xml_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><script>1</script></xdp:xdp>'))
    form = DictionaryObject({NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): xfa})
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    return _written(writer)


def pdf_with_embedded_file() -> bytes:
    """A PDF with a program attached in its EmbeddedFiles name tree (pypdf's own attachment API)."""
    writer = _pdf_writer()
    writer.add_attachment("cai-dat.exe", b"MZ\x90\x00 not really a program")
    return _written(writer)


def pdf_with_attachment_annotation() -> bytes:
    """A file-attachment annotation on page 1 (the paper-clip icon), no name tree."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    writer = _pdf_writer()
    clip = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (72, 72, 90, 90)]),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(clip)])
    return _written(writer)


def _xml_stream(data: bytes):  # type: ignore[no-untyped-def]
    from pypdf.generic import DecodedStreamObject

    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _replace_part(document: bytes, part: str, xml: str) -> bytes:
    """A real Office file (as python-docx/openpyxl write it) with one XML part replaced, deflated."""
    source = zipfile.ZipFile(io.BytesIO(document))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            zf.writestr(info.filename, xml.encode() if info.filename == part else source.read(info))
    return buf.getvalue()


def docx_with_body(body: str) -> bytes:
    """A real DOCX whose document body is `body` (WordprocessingML paragraphs)."""
    import docx

    blank = io.BytesIO()
    docx.Document().save(blank)
    xml = f'<w:document xmlns:w="{_W_NS}"><w:body>{body}</w:body></w:document>'
    return _replace_part(blank.getvalue(), "word/document.xml", xml)


def docx_bomb(inflated: int = 2 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml inflates to `inflated` bytes from a few KB (the issue's had 60 MB in 88 KB)."""
    paragraph = "<w:p><w:r><w:t>Bài học hôm nay</w:t></w:r></w:p>"
    return docx_with_body(paragraph * (inflated // len(paragraph.encode())))


def xlsx_bomb(inflated: int = 2 * 1024 * 1024) -> bytes:
    """A real XLSX whose first sheet inflates to `inflated` bytes of identical rows."""
    from openpyxl import Workbook

    blank = io.BytesIO()
    Workbook().save(blank)
    row = '<row><c t="inlineStr"><is><t>0</t></is></c></row>'
    xml = f'<worksheet xmlns="{_S_NS}"><sheetData>{row * (inflated // len(row))}</sheetData></worksheet>'
    return _replace_part(blank.getvalue(), "xl/worksheets/sheet1.xml", xml)


_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass
class World:
    admin: Person
    teacher: Person
    teacher2: Person
    principal: Person
    clerk: Person
    other_teacher: Person  # at the other school


def person(session: Session, username: str, role: Role, school: str | None, active: bool = True) -> Person:
    p = service.create_person(
        session, None, PersonCreate(username=username, full_name=username.title(), password=PASSWORD)
    )
    service.add_membership(session, None, p, MembershipCreate(role=role, school_code=school))
    return p


def make_world(session: Session) -> World:
    service.create_school(session, None, SchoolCreate(code="THA", name="Trường Tiểu học An Bình", province="Đồng Nai"))
    service.create_school(session, None, SchoolCreate(code="THB", name="Trường Tiểu học Bình Minh"))
    return World(
        admin=person(session, "admin1", Role.admin, None),
        teacher=person(session, "gv.lan", Role.teacher, "THA"),
        teacher2=person(session, "gv.minh", Role.teacher, "THA"),
        principal=person(session, "ht.hoa", Role.principal, "THA"),
        clerk=person(session, "vt.thu", Role.clerk, "THA"),
        other_teacher=person(session, "gv.binh", Role.teacher, "THB"),
    )


def register_certificate(session: Session, username: str, der: bytes) -> None:
    """Register a signing certificate to a person, as an administrator would (signing/ownership.py)."""
    from asn1crypto import x509
    from sqlalchemy import select

    from signing import ownership

    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None, username
    ownership.register(session, person, x509.Certificate.load(der), by=person, how=ownership.RegisteredHow.admin)


def register_seal(session: Session, school_code: str, der: bytes, by: str = "ht.hoa") -> None:
    """Register a seal certificate to a school, as its principal would (signing/seal_ownership.py)."""
    from asn1crypto import x509
    from sqlalchemy import select

    from signing import ownership, seal_ownership

    principal = session.scalar(select(Person).where(Person.username == by))
    school = session.scalar(select(School).where(School.code == school_code))
    assert principal is not None and school is not None
    seal_ownership.register_seal(
        session, school, x509.Certificate.load(der), by=principal, how=ownership.RegisteredHow.admin
    )


def meta(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "school_code": "THA",
        "record_type": "lesson_plan",
        "title": "Kế hoạch bài dạy Toán lớp 5 — Phân số",
        "school_year": "2025-2026",
        "subject": "Toán",
        "grade": 5,
        "class_name": "5A",
        "month": 10,
    }
    base.update(overrides)
    return base


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def lesson_plan_pdf(title: str = "Kế hoạch bài dạy: Phân số", pages: int = 2, fill: float = 0.6) -> bytes:
    """A realistic lesson plan: Vietnamese text in an embedded TrueType font, `fill` of each page used."""
    from reportlab.pdfgen import canvas

    from signing.stamp import register_fonts

    font, _bold = register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    lines = int((842 - 144) * fill / 16)
    for page in range(pages):
        c.setFont(font, 14)
        c.drawString(72, 770, f"{title} — trang {page + 1}")
        c.setFont(font, 11)
        for i in range(lines):
            c.drawString(
                72, 740 - 16 * i, f"Hoạt động {i + 1}: học sinh thảo luận nhóm, giáo viên hướng dẫn và nhận xét."
            )
        c.showPage()
    c.save()
    return buf.getvalue()
