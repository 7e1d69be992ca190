"""What every resolver gets as `info.context`: the admitted caller, the Firestore client, the
request's loaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aide.domain.access import Principal
from aide.entrypoints.graphql_api.loaders import Loaders, new_loaders

if TYPE_CHECKING:
    from google.cloud.firestore import Client


@dataclass
class GatewayContext:
    db: Client
    principal: Principal
    loaders: Loaders

    @property
    def uid(self) -> str:
        return self.principal.uid


def new_context(db: Client, principal: Principal) -> GatewayContext:
    return GatewayContext(db=db, principal=principal, loaders=new_loaders(db, principal.uid))


def context_of(info: Any) -> GatewayContext:
    context = info.context
    assert isinstance(context, GatewayContext)
    return context
