"""HTTP for sign-in, sign-out and "who am I"."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody

from organisatrice.roles import auth
from organisatrice.roles.policy import Actor, Permission
from organisatrice.roles.schemas import MeOut, SignInIn
from organisatrice.settings import get_settings


def _session_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=auth.SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
        max_age=max_age,
    )


class SessionController(Controller):
    path = "/api"
    tags = ["Sign-in"]

    @post("/session", opt={"needs": Permission.PUBLIC}, operation_id="SignIn", status_code=200)
    async def sign_in(self, data: JSONBody[SignInIn]) -> Response[MeOut]:
        """Sign in with email address and password; sets the session cookie."""
        token, actor = await auth.sign_in(data.email, data.password)
        max_age = get_settings().session_hours * 3600
        return Response(MeOut.of(actor), cookies=[_session_cookie(token, max_age)])

    @delete("/session", opt={"needs": Permission.SIGNED_IN}, operation_id="SignOut")
    async def sign_out(self, request: Request[Actor, None, Any]) -> Response[None]:
        """End this session."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        if token:
            await auth.sign_out(token)
        return Response(None, status_code=204, cookies=[_session_cookie("", 0)])

    @get("/me", opt={"needs": Permission.SIGNED_IN}, operation_id="GetMe")
    async def me(self, actor: NamedDependency[Actor]) -> MeOut:
        """The signed-in employee and their company."""
        return MeOut.of(actor)


CONTROLLERS = [SessionController]
