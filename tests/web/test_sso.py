"""Single sign-on against a real OpenID provider (panva's oidc-provider under Node, started here).

The person's side of the provider (its login and consent forms) is walked with httpx, keeping the
provider's cookies as a browser does; hoso's side with the TestClient, so hoso's own calls to the
provider (discovery, token, JWKS, userinfo) are real HTTP. The provider's issuer is `localhost` and
hoso's browser address 127.0.0.1, two sites, so the one walk in Chromium meets the SameSite rules a
school meets with the Sở's real provider. What is checked: a login linked by the
configured claim (three ways), a wrong password and a refused consent, an unknown and a disabled
account, an expired hoso session, a forged, replayed or other-browser `state` (unaudited, and not
cancelling the owner's sign-in), ID tokens the provider was made to tamper with (another audience,
a foreign key, expired), a provider offering only HMAC algorithms, the account bound at the first
sign-in against a look-alike claim, administrators, a one-time password, and the throttle.
"""

from __future__ import annotations

import json
import os
import select as io_select
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from archive import calendar, service
from archive import sso as sso_module
from archive.db import utcnow
from archive.login_models import SsoLogin
from archive.models import AuditEvent, Person, Role
from archive.schemas import PersonCreate, PersonUpdate
from archive.settings import SsoLink
from flows.settings import Settings
from tests.conftest import STARTUP_DEADLINE, free_port, require_tool
from tests.factories import PASSWORD, World, person
from tests.web.test_browser import browser, serving  # noqa: F401  (the browser fixture)
from tests.web.test_pages_http import csrf_of

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
HOSO = "http://testserver"
RETURN = f"{HOSO}/dang-nhap/so/xong"
BROWSER_PORT = free_port()  # hoso served over HTTP for Chromium, registered at the provider too
BROWSER_HOSO = f"http://127.0.0.1:{BROWSER_PORT}"
SECRET = "hoso-client-secret-for-tests"
USERS = {
    "an.nguyen": {"preferred_username": "gv.an", "email": "An.Nguyen@so.edu.vn", "staff_id": "079123456789"},
    "khach": {"preferred_username": "khach.la", "email": "khach@so.edu.vn", "staff_id": "000000000001"},
    "khoa": {"preferred_username": "gv.khoa", "email": "khoa@so.edu.vn", "staff_id": "079000000002"},
    # Another account whose login name (other case) comes to equal a hoso username: the takeover attempt.
    "mao.danh": {"preferred_username": "AN.MOI", "email": "mao.danh@so.edu.vn", "staff_id": "000000000003"},
}
PROVIDER_PASSWORD = "mat-khau-cua-so"


@dataclass(frozen=True)
class Provider:
    issuer: str

    def tamper(self, **changes: object) -> None:
        """The next ID token the provider hands out is re-signed with these changes (see the script)."""
        assert httpx.post(f"{self.issuer}/test/tamper", json=changes).status_code == 204


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    node = require_tool("node")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        message = "node_modules lacks oidc-provider (make test runs scripts/install-node-deps)"
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)
    port = free_port()
    client = {"grant_types": ["authorization_code"], "response_types": ["code"]}
    config = {
        "port": port,
        "host": "localhost",
        "clients": [
            {
                "client_id": "hoso",
                "client_secret": SECRET,
                "redirect_uris": [RETURN, f"{BROWSER_HOSO}/dang-nhap/so/xong"],
            }
            | client
            | {"post_logout_redirect_uris": [f"{HOSO}/dang-nhap", f"{BROWSER_HOSO}/dang-nhap"]},
            {"client_id": "other-app", "client_secret": "other", "redirect_uris": ["http://other/cb"], **client},
        ],
        "users": {
            login: {"password": PROVIDER_PASSWORD, "claims": {**claims, "email_verified": True}}
            for login, claims in USERS.items()
        },
    }
    folder = tmp_path_factory.mktemp("oidc")
    (folder / "provider.json").write_text(json.dumps(config))
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(  # it prints "ready ISSUER" once it listens: wait on that line, not a guess
        [node, str(SCRIPT), str(folder / "provider.json")], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        answered, _, _ = io_select.select([process.stdout], [], [], STARTUP_DEADLINE)
        line = process.stdout.readline() if answered else ""  # '' also when it died
        assert line.startswith("ready "), f"the OpenID provider did not start: {(folder / 'provider.log').read_text()}"
        yield Provider(issuer=line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=STARTUP_DEADLINE)
        log.close()


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    return settings.model_copy(
        update={"oidc_issuer": provider.issuer, "oidc_client_id": "hoso", "oidc_client_secret": SECRET}
    )


@pytest.fixture
def an(session: Session, world: World) -> int:
    """A teacher at THA whose hoso username is the provider's preferred_username of `an.nguyen`."""
    made = person(session, "gv.an", Role.teacher, "THA")
    return made.id


def _until_hoso(agent: httpx.Client, response: httpx.Response) -> str | httpx.Response:
    """Follow the provider's redirects: hoso's return address when one points there, else the page shown."""
    while response.is_redirect:
        location = urljoin(str(response.url), response.headers["location"])
        if location.startswith(HOSO):
            return location
        response = agent.get(location)
    return response


def at_provider(
    client: TestClient, login: str, password: str = PROVIDER_PASSWORD, consent: bool = True
) -> str | httpx.Response:
    """Press "Đăng nhập bằng tài khoản của Sở", sign in at the provider, consent (or not): where it sends
    the browser back to in hoso, or the provider's own page when it refuses there."""
    begun = client.get("/dang-nhap/so", follow_redirects=False)
    assert begun.status_code == 303, begun.text
    with httpx.Client() as agent:
        form = _until_hoso(agent, agent.get(begun.headers["location"]))
        assert isinstance(form, httpx.Response) and 'name="password"' in form.text, form
        uid = form.url.path.rsplit("/", 1)[-1]
        signed = agent.post(form.url.join(f"/interaction/{uid}/login"), data={"login": login, "password": password})
        if signed.status_code == 401:
            return signed  # the provider's own refusal: hoso never hears of it
        after = _until_hoso(agent, signed)
        if isinstance(after, httpx.Response):  # the consent form
            uid = after.url.path.rsplit("/", 1)[-1]
            after = _until_hoso(
                agent, agent.post(after.url.join(f"/interaction/{uid}/{'confirm' if consent else 'abort'}"))
            )
        assert isinstance(after, str), after.text
        return after


def sso(client: TestClient, login: str, password: str = PROVIDER_PASSWORD, consent: bool = True) -> httpx.Response:
    """The whole round: the provider's pages, then hoso's answer to the return (or the provider's refusal)."""
    back = at_provider(client, login, password, consent)
    return back if isinstance(back, httpx.Response) else client.get(back, follow_redirects=False)


def audit_of(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()  # a fresh snapshot: the app wrote through its own sessions
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_linked_person_signs_in_and_the_state_works_once(
    client: TestClient, provider: Provider, session: Session, an: int
) -> None:
    login_page = client.get("/dang-nhap")
    assert "Đăng nhập bằng tài khoản của Sở" in login_page.text and 'href="/dang-nhap/so"' in login_page.text
    done = sso(client, "an.nguyen")
    assert done.status_code == 200, done.text
    assert 'http-equiv="refresh" content="0;url=/trang-chu"' in done.text  # Strict cookie: a same-site step
    assert "SameSite=strict" in done.headers["set-cookie"]
    home = client.get("/trang-chu")
    assert home.status_code == 200 and "Gv.An" in home.text
    [event] = audit_of(session, "auth.sso_login")
    assert event.actor_id == an and event.details["sub"] == "an.nguyen"
    assert event.details["claim"] == {"preferred_username": "gv.an"}
    assert session.scalars(select(SsoLogin)).all() == []  # finished sign-ins leave nothing behind
    [bound] = audit_of(session, "auth.sso_bound")
    assert bound.object_id == str(an) and session.get(Person, an).oidc_subject == f"{provider.issuer}|an.nguyen"

    replayed = client.get(str(done.url), follow_redirects=False)
    assert replayed.status_code == 400 and "đã dùng rồi" in replayed.text
    assert audit_of(session, "auth.sso_refused") == []  # a state refusal is a log line, not a write


def test_logout_ends_the_hoso_session_and_offers_the_providers(client: TestClient, provider: Provider, an: int) -> None:
    assert sso(client, "an.nguyen").status_code == 200
    home = client.get("/trang-chu")
    out = client.post("/dang-xuat", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dang-xuat/so"
    page = client.get("/dang-xuat/so")
    assert page.status_code == 200 and "Bạn đã đăng xuất khỏi hoso" in page.text
    link = page.text.split('id="dang-xuat-so" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert link.startswith(f"{provider.issuer}/session/end?")
    assert parse_qs(urlsplit(link).query) == {"client_id": ["hoso"], "post_logout_redirect_uri": [f"{HOSO}/dang-nhap"]}
    assert httpx.get(link).status_code == 200  # the provider knows this client and this return address
    assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"


def test_a_hoso_session_from_the_provider_expires_like_a_password_one(
    client: TestClient, settings: Settings, an: int
) -> None:
    assert sso(client, "an.nguyen").status_code == 200
    assert client.get("/trang-chu", follow_redirects=False).status_code == 200
    with calendar.pinned(calendar.now() + timedelta(minutes=settings.token_ttl_minutes + 1)):
        assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"


def test_a_wrong_password_at_the_provider_and_a_refused_consent(client: TestClient, session: Session, an: int) -> None:
    wrong = sso(client, "an.nguyen", password="sai-mat-khau")
    assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
    assert "hoso_session" not in client.cookies
    denied = sso(client, "an.nguyen", consent=False)
    assert denied.status_code == 403 and "bị từ chối hoặc bị hủy" in denied.text
    assert "hoso_session" not in denied.headers.get("set-cookie", "")
    [event] = audit_of(session, "auth.sso_refused")
    assert event.details["reason"] == "denied" and event.details["provider_error"] == "access_denied"


def test_an_account_nobody_in_hoso_has_is_refused_not_created(
    client: TestClient, session: Session, world: World
) -> None:
    refused = sso(client, "khach")
    assert refused.status_code == 403 and "chưa được gắn với người dùng nào" in refused.text
    assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"
    [event] = audit_of(session, "auth.sso_refused")
    assert event.actor_id is None and event.details["claim"] == {"preferred_username": "khach.la"}
    assert event.details["reason"] == "unknown"


def test_a_disabled_account_loses_its_session_and_cannot_sign_in_again(
    client: TestClient, session: Session, world: World
) -> None:
    khoa = person(session, "gv.khoa", Role.teacher, "THA")
    assert sso(client, "khoa").status_code == 200
    assert client.get("/trang-chu", follow_redirects=False).status_code == 200
    service.update_person(session, world.admin, khoa, PersonUpdate(active=False))
    assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"
    refused = sso(client, "khoa")
    assert refused.status_code == 403 and "đã bị khóa" in refused.text
    [event] = audit_of(session, "auth.sso_refused")
    assert event.actor_id == khoa.id and event.details["reason"] == "disabled"


def test_a_forged_or_another_browsers_state_is_refused(
    client: TestClient, settings: Settings, session: Session, an: int, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/dang-nhap/so", follow_redirects=False)
    forged = client.get("/dang-nhap/so/xong", params={"state": "made-up", "code": "x"}, follow_redirects=False)
    assert forged.status_code == 400 and "không hợp lệ hoặc đã hết hạn" in forged.text
    assert "refused: no such state" in caplog.text
    # A victim's browser handed an attacker's finished sign-in: the state is real, the browser is not.
    planted = at_provider(client, "an.nguyen")
    assert isinstance(planted, str)
    with TestClient(create_app(settings)) as victim:
        hijack = victim.get(planted, follow_redirects=False)
    assert hijack.status_code == 400 and "hoso_session" not in victim.cookies
    assert audit_of(session, "auth.sso_refused") == []
    # The state leaked to someone else did not cancel the sign-in of the browser that began it.
    assert client.get(planted, follow_redirects=False).status_code == 200
    assert [e.actor_id for e in audit_of(session, "auth.sso_login")] == [an]


@pytest.mark.parametrize(
    ("tampering", "check"),
    [
        ({"aud": "other-app"}, "Invalid claim: 'aud'"),
        ({"aud": ["hoso", "other-app"]}, "azp"),  # hoso among several audiences: the token must name its party
        ({"foreign_key": True}, "BadSignatureError"),
        ({"exp": -3600}, "ExpiredTokenError"),
    ],
    ids=["audience", "audiences", "key", "expired"],
)
def test_an_id_token_the_provider_tampered_with_is_refused(
    client: TestClient,
    provider: Provider,
    session: Session,
    an: int,
    tampering: dict[str, object],
    check: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.tamper(**tampering)
    refused = sso(client, "an.nguyen")
    assert refused.status_code == 401 and "xác nhận không hợp lệ" in refused.text
    assert client.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"
    assert [e.details["reason"] for e in audit_of(session, "auth.sso_refused")] == ["token"]
    assert check in caplog.text  # refused by the check meant, not by some other accident


@pytest.mark.parametrize(
    ("link", "claim"), [(SsoLink.email, "email"), (SsoLink.national_id, "staff_id")], ids=["email", "staff-id"]
)
def test_accounts_link_by_email_or_the_ministrys_staff_id(
    settings: Settings, session: Session, world: World, link: SsoLink, claim: str
) -> None:
    made = service.create_person(
        session,
        None,
        PersonCreate(
            username="nguyen.an",
            full_name="Nguyễn An",
            password=PASSWORD,
            email="an.nguyen@so.edu.vn",
            national_id="079123456789",
        ),
    )
    # The ministry's staff ID comes with its own scope: the Sở's provider says which (here "staff").
    linked = settings.model_copy(update={"oidc_link": link, "oidc_claim": claim, "oidc_scopes": "openid email staff"})
    with TestClient(create_app(linked)) as client:
        assert sso(client, "an.nguyen").status_code == 200  # e-mail compared without case
        assert client.get("/trang-chu", follow_redirects=False).status_code == 200
    [event] = audit_of(session, "auth.sso_login")
    assert event.actor_id == made.id and event.details["claim"] == {claim: USERS["an.nguyen"][claim]}


def test_without_a_provider_only_passwords_work(settings: Settings, world: World) -> None:
    alone = settings.model_copy(update={"oidc_issuer": None, "oidc_client_id": None})
    with TestClient(create_app(alone)) as client:
        assert "tài khoản của Sở" not in client.get("/dang-nhap").text
        off = client.get("/dang-nhap/so", follow_redirects=False)
        assert off.status_code == 404 and "chưa bật đăng nhập bằng tài khoản của Sở" in off.text


def test_a_provider_that_cannot_be_reached_gets_a_page_not_a_500(settings: Settings, world: World) -> None:
    gone = settings.model_copy(update={"oidc_issuer": f"http://127.0.0.1:{free_port()}"})
    with TestClient(create_app(gone)) as client:
        assert "Đăng nhập bằng tài khoản của Sở" in client.get("/dang-nhap").text  # passwords still work
        down = client.get("/dang-nhap/so", follow_redirects=False)
        assert down.status_code == 502 and "Không liên lạc được với máy chủ đăng nhập của Sở" in down.text


def test_settings_refuse_an_incomplete_or_plain_http_provider() -> None:
    with pytest.raises(ValidationError, match="HOSO_OIDC_CLIENT_ID"):
        Settings(oidc_issuer="https://sso.example.vn/realms/so")
    with pytest.raises(ValidationError, match="https"):
        Settings(oidc_issuer="http://sso.example.vn/realms/so", oidc_client_id="hoso")
    with pytest.raises(ValidationError, match="openid"):
        Settings(oidc_issuer="https://sso.example.vn/realms/so", oidc_client_id="hoso", oidc_scopes="profile")


def test_a_teacher_signs_in_and_out_through_the_provider_in_the_browser(
    settings: Settings,
    browser: object,  # noqa: F811  (the fixture imported from test_browser)
    an: int,
) -> None:
    """Chromium: the button, a wrong then a right password and the consent at the provider (another
    site), back to hoso's home signed in (the Strict cookie arrives after the same-site refresh), then
    logging out of hoso and of the provider, which sends the person back to hoso's login page."""
    with serving(create_app(settings.model_copy(update={"index_worker": False})), BROWSER_PORT) as url:
        context = browser.new_context(locale="vi-VN")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{url}/dang-nhap")
        page.click("#dang-nhap-so")
        page.fill("#login", "an.nguyen")
        page.fill("#password", "sai-mat-khau")
        page.click("#submit")
        assert "Sai tên đăng nhập hoặc mật khẩu" in page.text_content("#error")
        page.fill("#login", "an.nguyen")
        page.fill("#password", PROVIDER_PASSWORD)
        page.click("#submit")
        page.click("#allow")
        page.wait_for_url(f"{url}/trang-chu")
        assert "Gv.An" in page.text_content("header")
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url(f"{url}/dang-xuat/so")
        page.click("#dang-xuat-so")
        page.click("button[name=logout][value=yes]")  # the provider asks before it ends its own session
        page.wait_for_url(f"{url}/dang-nhap")
        page.goto(f"{url}/trang-chu")
        assert page.url == f"{url}/dang-nhap"
        context.close()


def test_later_sign_ins_match_only_the_bound_account_and_a_look_alike_claim_is_refused(
    client: TestClient, session: Session, an: int
) -> None:
    assert sso(client, "an.nguyen").status_code == 200  # the first sign-in: linked by the claim, then bound
    session.rollback()  # a fresh snapshot: the app wrote through its own sessions
    teacher = session.get(Person, an)
    assert teacher is not None
    teacher.username = "an.moi"  # renamed in hoso: the claim no longer matches, the binding still does
    session.commit()
    with TestClient(client.app) as again:
        assert sso(again, "an.nguyen").status_code == 200
        assert again.get("/trang-chu").status_code == 200
    assert "claim" not in audit_of(session, "auth.sso_login")[-1].details  # matched on iss|sub alone
    # Another Sở account whose login name is now "AN.MOI" (any case) is not a way into that person.
    with TestClient(client.app) as impostor:
        refused = sso(impostor, "mao.danh")
        assert refused.status_code == 403 and "đã được gắn với một tài khoản khác của Sở" in refused.text
        assert impostor.get("/trang-chu", follow_redirects=False).headers["location"] == "/dang-nhap"
    [event] = audit_of(session, "auth.sso_refused")
    assert event.actor_id == an and event.details["reason"] == "bound"
    assert event.details["claim"] == {"preferred_username": "AN.MOI"}


def test_an_administrator_is_refused_unless_the_setting_allows_it(
    settings: Settings, session: Session, world: World
) -> None:
    admin = person(session, "gv.khoa", Role.admin, None)
    with TestClient(create_app(settings)) as client:
        refused = sso(client, "khoa")
        assert refused.status_code == 403 and "Tài khoản quản trị hệ thống không đăng nhập được" in refused.text
    [event] = audit_of(session, "auth.sso_refused")
    assert event.actor_id == admin.id and event.details["reason"] == "admin"
    assert session.get(Person, admin.id).oidc_subject is None  # refused: not bound either
    with TestClient(create_app(settings.model_copy(update={"oidc_allow_admins": True}))) as client:
        assert sso(client, "khoa").status_code == 200


def test_a_one_time_password_is_dropped_not_forced_after_a_sign_in_through_the_so(
    client: TestClient, session: Session, world: World
) -> None:
    khoa = person(session, "gv.khoa", Role.teacher, "THA")
    khoa.must_change_password = True  # as after the staff import or an admin's reset
    session.commit()
    done = sso(client, "khoa")
    assert done.status_code == 200 and 'content="0;url=/trang-chu"' in done.text
    assert client.get("/trang-chu", follow_redirects=False).status_code == 200  # not sent to /doi-mat-khau
    session.refresh(khoa)
    assert khoa.must_change_password is False and khoa.password_hash is None  # the printed one works no more
    assert audit_of(session, "auth.sso_login")[0].details["one_time_password_dropped"] is True
    login = client.post("/api/v1/auth/token", data={"username": "gv.khoa", "password": PASSWORD})
    assert login.status_code == 401


def test_a_provider_offering_only_hmac_algorithms_is_refused_not_trusted(
    client: TestClient,
    provider: Provider,
    session: Session,
    an: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    found = sso_module.metadata(provider.issuer)
    hmac_only = {**found, "id_token_signing_alg_values_supported": ["HS256"]}
    monkeypatch.setitem(sso_module._metadata_cache, provider.issuer, (0.0, hmac_only))
    monkeypatch.setattr(sso_module.time, "monotonic", lambda: 1.0)  # the cached document stays fresh
    refused = sso(client, "an.nguyen")
    assert refused.status_code == 502 and "Không liên lạc được với máy chủ đăng nhập của Sở" in refused.text
    assert [e.details["reason"] for e in audit_of(session, "auth.sso_refused")] == ["provider"]
    assert "signs ID tokens with none of" in caplog.text and audit_of(session, "auth.sso_login") == []


def test_both_routes_are_throttled_per_address_and_a_junk_state_writes_nothing(
    client: TestClient, session: Session, an: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.throttle

    pinned = utcnow()
    monkeypatch.setattr(archive.throttle, "utcnow", lambda: pinned)  # no back-off runs out mid-test
    for _ in range(archive.throttle.ADDRESS_FREE):
        assert client.get("/dang-nhap/so", follow_redirects=False).status_code == 303
    held = client.get("/dang-nhap/so", follow_redirects=False)
    assert held.status_code == 429 and held.headers["retry-after"] == "1" and "thử lại sau" in held.text
    session.rollback()  # a fresh snapshot: the app wrote through its own sessions
    assert len(session.scalars(select(SsoLogin)).all()) == archive.throttle.ADDRESS_FREE  # none for the refused
    for i in range(archive.throttle.ADDRESS_FREE):
        junk = client.get("/dang-nhap/so/xong", params={"state": f"junk-{i}", "code": "x"}, follow_redirects=False)
        assert junk.status_code == 400
    held = client.get("/dang-nhap/so/xong", params={"state": "junk", "code": "x"}, follow_redirects=False)
    assert held.status_code == 429 and held.headers["retry-after"] == "1"
    assert audit_of(session, "auth.sso_refused") == []
    with TestClient(client.app, client=("10.0.0.9", 50000)) as elsewhere:  # another address is not held
        assert elsewhere.get("/dang-nhap/so", follow_redirects=False).status_code == 303
