"""One router per resource (FastAPI's layout): exhibits, search, links, cases, compare, audit.

Each module holds one ``APIRouter``; :func:`api.web.app.create_app` includes them. May import
FastAPI, ``api.web`` (schemas, access rules, dependencies; ``_common`` for what routers share),
``api.service`` and ``api.store``; a router never imports another router.
"""
