"""Who may name a unit's head and who may grant or revoke over a unit (found by review, 2026-12-02).

A unit's administrator makes its schools and people, but the head is who grants inspectors access to
every school of the unit: an administrator who could name the head (or become it) could hand that
access to an inspector account of their own making. Nobody grants themselves, and a Phòng's head does
not undo what the Sở's head decided over the Phòng.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import World, lesson_plan_pdf, login
from tests.search.test_search_api import upload
from tests.signing.test_hierarchy import district, first_login

GRANT = {"decision_number": "12/QĐ-SGD", "school_years": ["2026-2027"], "expires_at": "2027-01-01T00:00:00+07:00"}


def test_a_unit_admin_cannot_make_themselves_or_anyone_the_head(
    client: TestClient, session: Session, world: World
) -> None:
    people = district(client, session)
    sgd_admin = people["sgd_admin"]  # pgd.qt, the Sở's administrator
    themselves = client.post(
        "/api/v1/units/SGD-DN/people", headers=sgd_admin, json={"username": "pgd.qt", "role": "head"}
    )
    assert themselves.status_code == 403 and "chính mình" in themselves.json()["message"]
    own_head = client.post(
        "/api/v1/units/SGD-DN/people",
        headers=sgd_admin,
        json={"username": "gd.moi", "role": "head", "full_name": "Mới"},
    )
    assert own_head.status_code == 403 and "chỉ định" in own_head.json()["message"]
    # the Sở's administrator may name the head of a Phòng under it, and make inspectors at its own Sở
    below = client.post(
        "/api/v1/units/PGD-BH/people", headers=sgd_admin, json={"username": "bh.tp", "role": "head", "full_name": "TP"}
    )
    assert below.status_code == 201, below.text
    made = client.post(
        "/api/v1/units/SGD-DN/people",
        headers=sgd_admin,
        json={"username": "tt.sgd", "role": "inspector", "full_name": "TT"},
    )
    assert made.status_code == 201

    # so the Sở's own administrator cannot reach THA's records through an inspector of their making
    record = upload(client, login(client, "gv.lan"), "hoc-ba.pdf", lesson_plan_pdf("Học bạ"), school_year="2026-2027")
    sock = first_login(client, "tt.sgd", made.json()["one_time_password"])
    granted = client.post(
        "/api/v1/grants", headers=sgd_admin, json={**GRANT, "inspector": "tt.sgd", "unit_code": "SGD-DN"}
    )
    assert granted.status_code == 403
    assert client.get(f"/api/v1/records/{record}/content", headers=sock).status_code in (403, 404)


def test_a_head_grants_no_one_access_to_themselves(client: TestClient, session: Session, world: World) -> None:
    people = district(client, session)
    admin = people["admin"]
    both = client.post("/api/v1/units/PGD-TB/people", headers=admin, json={"username": "pgd.tp", "role": "inspector"})
    assert both.status_code == 201  # the Phòng's head is also one of its inspectors
    themselves = client.post(
        "/api/v1/grants", headers=people["head"], json={**GRANT, "inspector": "pgd.tp", "unit_code": "PGD-TB"}
    )
    assert themselves.status_code == 403 and "chính mình" in themselves.json()["message"]


def test_a_phong_head_cannot_revoke_what_the_so_head_granted_over_the_phong(
    client: TestClient, session: Session, world: World
) -> None:
    people = district(client, session)
    admin = people["admin"]
    so_head = client.post(
        "/api/v1/units/SGD-DN/people", headers=admin, json={"username": "sgd.gd", "role": "head", "full_name": "GĐ"}
    )
    so_head_headers = first_login(client, "sgd.gd", so_head.json()["one_time_password"])
    granted = client.post(
        "/api/v1/grants", headers=so_head_headers, json={**GRANT, "inspector": "pgd.tt", "unit_code": "PGD-TB"}
    )
    assert granted.status_code == 201, granted.text
    grant_id = granted.json()["id"]
    refused = client.post(f"/api/v1/grants/{grant_id}/revoke", headers=people["head"], json={"reason": "Không cần"})
    assert refused.status_code == 403, refused.text
    done = client.post(f"/api/v1/grants/{grant_id}/revoke", headers=so_head_headers, json={"reason": "Xong đợt"})
    assert done.status_code == 200 and done.json()["revoked_at"]


def test_a_role_taken_back_takes_the_inspectors_grants_with_it(
    client: TestClient, session: Session, world: World
) -> None:
    """pgd.tt leaves the Phòng's inspectorate: her grant over its schools stops working at once (revoked,
    audited), even though she stays an inspector elsewhere; the head is taken back only from above."""
    from sqlalchemy import select

    from archive.models import AuditEvent, InspectorGrant

    people = district(client, session)
    admin, head, tt = people["admin"], people["head"], people["inspector"]
    record = upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Phân số"), school_year="2026-2027")
    granted = client.post("/api/v1/grants", headers=head, json={**GRANT, "inspector": "pgd.tt", "unit_code": "PGD-TB"})
    assert granted.status_code == 201, granted.text
    assert client.get(f"/api/v1/records/{record}", headers=tt).status_code == 200
    elsewhere = {"username": "pgd.tt", "role": "inspector"}
    assert client.post("/api/v1/units/PGD-BH/people", headers=admin, json=elsewhere).status_code == 201

    for who, url, status, words in (
        (tt, "/api/v1/units/PGD-TB/people/pgd.tt/inspector", 403, "quản trị viên của đơn vị"),
        (admin, "/api/v1/units/PGD-TB/people/pgd.tt/leader", 422, ""),
        (admin, "/api/v1/units/PGD-TB/people/pgd.tt/head", 404, "không có vai trò đó"),
        (admin, "/api/v1/units/PGD-XX/people/pgd.tt/inspector", 404, "PGD-XX"),
    ):
        refused = client.delete(url, headers=who)
        assert refused.status_code == status and words in refused.text, (url, refused.text)
    assert client.get(f"/api/v1/records/{record}", headers=tt).status_code == 200  # nothing taken yet

    taken = client.delete("/api/v1/units/PGD-TB/people/pgd.tt/inspector", headers=admin)
    assert taken.status_code == 200 and taken.json()["grants_revoked"] == 1, taken.text
    assert client.get(f"/api/v1/records/{record}", headers=tt).status_code == 403
    assert client.delete("/api/v1/units/PGD-TB/people/pgd.tt/inspector", headers=admin).status_code == 404
    session.commit()
    grant = session.get(InspectorGrant, granted.json()["id"])
    assert grant is not None and grant.revoked_at is not None and "PGD-TB" in (grant.revoke_reason or "")
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(2)).all()
    assert list(actions) == ["unit_membership.removed", "grant.revoked"]

    # the Sở's administrator takes back the Phòng's head (named from above); the Phòng's own may not
    session.commit()
    below = client.post(
        "/api/v1/units/PGD-TB/people", headers=admin, json={"username": "tb.qt", "role": "admin", "full_name": "QT"}
    )
    tb_admin = first_login(client, "tb.qt", below.json()["one_time_password"])
    own = client.delete("/api/v1/units/PGD-TB/people/pgd.tp/head", headers=tb_admin)
    assert own.status_code == 403 and "chỉ định" in own.json()["message"], own.text
    assert client.delete("/api/v1/units/PGD-TB/people/pgd.tp/head", headers=people["sgd_admin"]).status_code == 200


def test_the_units_head_or_administrator_sets_its_signing_deadline(
    client: TestClient, session: Session, world: World
) -> None:
    from sqlalchemy import select

    from archive.models import AuditEvent

    people = district(client, session)
    url = "/api/v1/units/PGD-TB"
    for who, body, status, words in (
        (people["inspector"], {"signing_deadline_day": 10}, 403, "hạn ký duyệt"),
        (people["head"], {"signing_deadline_day": 29}, 422, "signing_deadline_day"),
        (people["head"], {"signing_deadline_day": 10, "kind": "so"}, 422, "kind"),
        (people["principals"]["TBA"], {"signing_deadline_day": 10}, 403, ""),
    ):
        refused = client.patch(url, headers=who, json=body)
        assert refused.status_code == status and words in refused.text, refused.text
    assert client.get(url, headers=people["head"]).json()["signing_deadline_day"] == 5  # nothing changed
    done = client.patch(url, headers=people["head"], json={"signing_deadline_day": 10})
    assert done.status_code == 200 and done.json()["signing_deadline_day"] == 10, done.text
    by_so = client.patch(url, headers=people["sgd_admin"], json={"signing_deadline_day": 8})  # from the Sở above
    assert by_so.status_code == 200 and by_so.json()["signing_deadline_day"] == 8
    other = client.patch("/api/v1/units/PGD-BH", headers=people["head"], json={"signing_deadline_day": 3})
    assert other.status_code == 403  # the other Phòng's rule is not this head's
    session.commit()
    changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.deadline_changed")).all()
    assert sorted((e.details["before"], e.details["after"]) for e in changes) == [(5, 10), (10, 8)]


def test_a_units_grant_works_only_with_its_post_and_the_admin_does_not_end_an_inspection(
    client: TestClient, session: Session, world: World
) -> None:
    """Found by review: the grant follows the post (checked when made, even by the system administrator,
    and on every read); a Phòng's administrator cannot end the Sở head's inspection by taking the role."""
    from sqlalchemy import delete, select

    from archive.models import OrgUnit, UnitMembership

    people = district(client, session)
    admin = people["admin"]
    record = upload(client, login(client, "gv.lan"), "khbd.pdf", lesson_plan_pdf("Phân số"), school_year="2026-2027")
    not_theirs = client.post(
        "/api/v1/grants", headers=admin, json={**GRANT, "inspector": "pgd.tt", "unit_code": "SGD-DN"}
    )
    assert not_theirs.status_code == 422 and "không phải thanh tra của đơn vị" in not_theirs.text  # even the admin
    # the Sở's head and inspector: a grant over the Sở reaches THA through its Phòng, and keeps working
    for username, role in (("sgd.gd", "head"), ("sgd.tt", "inspector")):
        made = client.post(
            "/api/v1/units/SGD-DN/people",
            headers=admin,
            json={"username": username, "role": role, "full_name": username},
        )
        assert made.status_code == 201, made.text
        people[username] = first_login(client, username, made.json()["one_time_password"])
    so_grant = client.post(
        "/api/v1/grants", headers=people["sgd.gd"], json={**GRANT, "inspector": "sgd.tt", "unit_code": "SGD-DN"}
    )
    assert so_grant.status_code == 201, so_grant.text
    assert client.get(f"/api/v1/records/{record}", headers=people["sgd.tt"]).status_code == 200
    # the Sở head grants the Phòng's inspector over the Phòng: the Phòng's own administrator may not end it
    over_phong = client.post(
        "/api/v1/grants", headers=people["sgd.gd"], json={**GRANT, "inspector": "pgd.tt", "unit_code": "PGD-TB"}
    )
    assert over_phong.status_code == 201, over_phong.text
    made = client.post(
        "/api/v1/units/PGD-TB/people", headers=admin, json={"username": "tb.qt", "role": "admin", "full_name": "QT"}
    )
    tb_admin = first_login(client, "tb.qt", made.json()["one_time_password"])
    kept = client.delete("/api/v1/units/PGD-TB/people/pgd.tt/inspector", headers=tb_admin)
    assert kept.status_code == 409 and "12/QĐ-SGD" in kept.json()["message"], kept.text
    assert client.get(f"/api/v1/records/{record}", headers=people["inspector"]).status_code == 200
    outside = client.delete("/api/v1/units/SGD-DN/people/sgd.tt/inspector", headers=tb_admin)
    assert outside.status_code == 403  # the Sở above is outside the Phòng administrator's reach
    themselves = client.delete("/api/v1/units/PGD-TB/people/tb.qt/admin", headers=tb_admin)
    assert themselves.status_code == 403 and "chính mình" in themselves.json()["message"]
    # the post gone by any other way (here, straight from the table) while she stays an inspector at the
    # other Phòng: the grant over PGD-TB stops working on the next read; the Sở's grant to its own works on
    elsewhere = {"username": "pgd.tt", "role": "inspector"}
    assert client.post("/api/v1/units/PGD-BH/people", headers=admin, json=elsewhere).status_code == 201
    session.commit()  # end the test session's read, so its write does not meet a snapshot the app moved past
    tb = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "PGD-TB"))
    session.execute(delete(UnitMembership).where(UnitMembership.role == "inspector", UnitMembership.unit_id == tb))
    session.commit()
    assert client.get(f"/api/v1/records/{record}", headers=people["inspector"]).status_code == 403
    assert client.get(f"/api/v1/records/{record}", headers=people["sgd.tt"]).status_code == 200
