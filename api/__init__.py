"""The FastAPI service (REST under /api/v1) and the `hoso` command line, composing the domain packages."""
