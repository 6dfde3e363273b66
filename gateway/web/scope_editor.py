"""The scope editor (SOP step 5, the Pejabat Fungsional): a draft PKS written in a form — data
elements from the catalog with their labels and sensitivity (protected ones shown, never
selectable; high-risk ones only with the scope's high-risk flag and reason), a mask per element,
regions as a kecamatan → desa tree, ages, recipients with their age keys, validity, quota,
schedule, re-identification threshold and reporting duties — submitted through the same draft
service as an uploaded TOML, so the leak guard's refusals come back in words beside their field.
Granting an element the request letter did not ask for needs a second, explicit confirmation."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from agreements.errors import DomainError, Invalid
from agreements.masks import MASK_KINDS
from agreements.roles import Action
from gateway import context
from gateway.services import requests as service
from gateway.services.request_views import show_request
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.requests import error_message, error_status
from gateway.web.scope_form import (
    MASK_PARAMS,
    RECIPIENT_ROWS,
    granted_outside_request,
    scope_document,
    scope_toml,
)

DEFAULTS = {
    "min_age": "17", "max_age": "150", "alive_only": "yes", "active_only": "yes",
    "format": "parquet", "schedule": "monthly", "quota": "1", "quota_period": "month",
    "max_rows": "400000", "k": "5", "reid_action": "report", "rare_category_threshold": "10",
    "data_balikan": "yes",
}  # fmt: skip


@web.route("/permohonan/<int:request_id>/penyusun-konsep", methods=["GET", "POST"])
@allow(Action.REQUEST_DRAFT)
def scope_editor(request_id: int) -> Any:
    settings = security.settings()
    catalog = context.catalog_of(settings)
    with security.engine().connect() as connection:
        view = show_request(connection, request_id, security.now(), context.work_calendar(settings))
    requested = list(view.facts.get("requested_elements", []))
    if request.method == "GET":
        form = {
            **DEFAULTS, "institution": view.institution, "purpose": view.facts.get("purpose", ""),
            "legal_basis": "\n".join(view.facts.get("legal_basis", [])),
            **{f"el.{key}": "yes" for key in requested if key in catalog},
        }  # fmt: skip
        return _render(view, form, {}, requested)
    errors: dict[str, str] = {}
    try:
        document = scope_document(request.form, catalog)
        outside = granted_outside_request(document, requested)
        if outside and request.form.get("confirm_outside") != "yes":
            errors["confirm_outside"] = ", ".join(outside)
            return _render(view, request.form, errors, requested, outside=outside), 422
        text = scope_toml(document)
        kept = service.attach("konsep.toml", text.encode("utf-8"), settings.documents_dir)
        current = security.acting_member()
        service.draft(
            security.engine(), security.seals(), current.name, request_id, scope_text=text,
            document=kept, catalog=catalog, region_codes=context.region_codes(settings),
            now=security.now(),
        )  # fmt: skip
    except DomainError as error:
        field = error.field if isinstance(error, Invalid) else "form"
        errors[field] = error_message(error)
        return _render(view, request.form, errors, requested), error_status(error)
    return redirect(url_for("web.request_page", request_id=request_id), code=303)


def _render(
    view: Any,
    form: Any,
    errors: dict[str, str],
    requested: list[str],
    outside: list[str] | None = None,
) -> Any:
    settings = security.settings()
    catalog = context.catalog_of(settings)
    kinds = {
        element.key: [k.name for k in MASK_KINDS.values() if element.type in k.types]
        for element in catalog
    }
    return render_template(
        "scope_editor.html", view=view, form=form, errors=errors, catalog=catalog, kinds=kinds,
        mask_params=MASK_PARAMS, requested=requested, outside=outside or [],
        regions=_region_tree(), recipient_rows=range(RECIPIENT_ROWS),
        chosen_regions=form.getlist("region") if hasattr(form, "getlist") else [],
        element_errors={k.split(".")[1]: v for k, v in errors.items() if k.startswith("elements.")},
    )  # fmt: skip


def _region_tree() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(kecamatan code, name, [(desa code, name)]) in code order, from the region codes the
    gateway already reads (a kecamatan code has three parts, a desa's four)."""
    names = context.region_names(security.settings())
    tree: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
        code: (code, name, []) for code, name in names.items() if code.count(".") == 2
    }
    for code, name in names.items():
        parent = tree.get(code.rsplit(".", 1)[0])
        if code.count(".") == 3 and parent is not None:
            parent[2].append((code, name))
    return [tree[code] for code in sorted(tree)]
