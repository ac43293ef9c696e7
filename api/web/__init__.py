"""The HTTP API (``ballistics serve``): FastAPI routes over :class:`api.service.EvidenceService`.

Build the application with :func:`api.web.app.create_app`; settings come from the environment
(``BALLISTICS_*``, :class:`api.web.settings.ApiSettings`) when the application starts, never at
import. The routes follow ../shared/CONTRACT.md; the access rules are in :mod:`api.web.access`.

May import: FastAPI, Pydantic, ``api.service``, ``api.store`` (its records and errors), the
application's shared modules (``api.pairs``, ``api.rifling``) and ``ballistics`` (pictures and
limits). Nothing below imports this package.
"""
