"""The web UI in Vietnamese: server-rendered pages (Jinja2), small hand-written JavaScript, no build step."""
