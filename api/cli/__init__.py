"""The `hoso` command line: serve, set up, import, verify, rebuild.

This module is the map: every command, in the order `hoso --help` lists them, registered from the
module of its group (`api/cli/<group>.py`). The commands call domain services and flows, never a
router. `app`, `main`, `console`, `err` and `fail` are importable from here, as before the split.
"""

from __future__ import annotations

from api.cli import (
    backup,
    copies,
    db,
    demo,
    dossiers,
    fixity,
    people,
    records,
    retention,
    serve,
    sign,
    sign_pc,
    units,
    users,
    verify,
)
from api.cli.common import (
    admin_app,
    app,
    audit_app,
    console,
    copies_app,
    db_app,
    dossiers_app,
    err,
    fail,
    main,
    open_session,
    people_app,
    retention_app,
    school_app,
)

__all__ = ["app", "console", "err", "fail", "main", "open_session"]

app.add_typer(admin_app, name="admin")
app.add_typer(school_app, name="school")
app.add_typer(people_app, name="people")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(retention_app, name="retention")
app.add_typer(dossiers_app, name="dossiers")
app.add_typer(copies_app, name="copies")
app.add_typer(units.units_app, name="units")

db_app.command("upgrade")(db.db_upgrade)
app.command()(serve.serve)
app.command("worker")(serve.run_worker)
admin_app.command("create-user")(users.create_user)
school_app.command("add")(users.school_add)
people_app.command("import")(people.import_staff)
app.command("import")(records.import_folder)
audit_app.command("verify")(fixity.audit_verify)
app.command("gc")(retention.gc_command)
app.command("rebuild-db")(db.rebuild_db)
app.command("reindex")(db.reindex)
retention_app.command("sweep")(retention.retention_sweep)
dossiers_app.command("generate")(dossiers.generate)
dossiers_app.command("show")(dossiers.show)
dossiers_app.command("approve")(dossiers.approve)
dossiers_app.command("close")(dossiers.close)
dossiers_app.command("hand-over")(dossiers.hand_over)
dossiers_app.command("sips")(dossiers.sips)
dossiers_app.command("unfiled")(dossiers.unfiled)
dossiers_app.command("refile")(dossiers.refile)
copies_app.command("request")(copies.request)
copies_app.command("list")(copies.listed)
copies_app.command("issue")(copies.issue)
copies_app.command("refuse")(copies.refuse)
copies_app.command("download")(copies.download)
dossiers_app.command("package")(dossiers.package)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.command("fixity")(fixity.fixity_check)
app.command("verify")(verify.verify_package)
app.command("sign-month")(sign.sign_month)
app.command("sign-agent")(sign_pc.sign_agent)
app.command("validate")(verify.validate_file)
app.command("demo-cert")(demo.demo_cert_command)
