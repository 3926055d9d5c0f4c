"""`bgseg serve`: the HTTP service (FastAPI + uvicorn, the [serve] extra); see `create_app`."""
