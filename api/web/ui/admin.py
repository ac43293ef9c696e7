"""The administrator's pages under ``/ui/admin/`` (admins only): the agencies and their keys
(:mod:`~api.web.ui.admin_agencies`), the people (:mod:`~api.web.ui.admin_people`), the regions
(:mod:`~api.web.ui.admin_regions`) and the audit log (:mod:`~api.web.ui.admin_audit`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.ui import admin_agencies, admin_audit, admin_people, admin_regions

router = APIRouter()
for _module in (admin_agencies, admin_people, admin_regions, admin_audit):
    router.include_router(_module.router)
