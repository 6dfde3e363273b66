"""Which staff roles reach each page and action of the web UI: declared on the view, taken from
the role table (agreements/roles.py), checked before the view runs.

A view says `@allow(View.AUDIT)` (a page) or `@allow(Action.REQUEST_DISPOSE)` (a form posting an
action: the staff roles the role table permits it), or `@public` (the login page). A view that
declares nothing is refused to everyone (fail closed), and tests/web/test_access.py fails for it.
The service behind an action checks the role again: the page's check decides what is shown, the
service's decides what happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from agreements.roles import VIEWS, Action, View, permitted
from agreements.workflow import Role

F = TypeVar("F", bound=Callable[..., Any])
GRANTS_ATTRIBUTE = "pks_grants"
PUBLIC_ATTRIBUTE = "pks_public"


def roles_for(grant: View | Action, delivery_roles: Iterable[Role] = ()) -> frozenset[Role]:
    """The staff roles a view or an action is open to (machine actors never use the web UI);
    `delivery_roles` is the setting that may widen step 8."""
    allowed = (
        VIEWS[grant] if isinstance(grant, View) else permitted(grant, delivery_roles=delivery_roles)
    )
    return frozenset(role for role in allowed if isinstance(role, Role))


def allow(*grants: View | Action) -> Callable[[F], F]:
    """Open a view to the roles of any of `grants`."""
    if not grants:
        raise ValueError("a view opens to at least one view or action of the role table")

    def declare(view: F) -> F:
        setattr(view, GRANTS_ATTRIBUTE, grants)
        return view

    return declare


def public(view: F) -> F:
    """Open a view to anyone, logged in or not (the login page, the language switch)."""
    setattr(view, PUBLIC_ATTRIBUTE, True)
    return view


def declared_roles(
    view: Callable[..., Any] | None, delivery_roles: Iterable[Role] = ()
) -> frozenset[Role] | None:
    """The roles `view` declared; None if it is public; an empty set if it declared nothing."""
    if view is None:
        return frozenset()
    if getattr(view, PUBLIC_ATTRIBUTE, False):
        return None
    grants: tuple[View | Action, ...] = getattr(view, GRANTS_ATTRIBUTE, ())
    return frozenset().union(*(roles_for(grant, delivery_roles) for grant in grants))
