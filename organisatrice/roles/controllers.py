"""HTTP for sign-in and for back-office work on employees, company switches and the change log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import Cookie, UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, QueryParameter

from organisatrice.core.http import PathId
from organisatrice.core.structs import Page
from organisatrice.roles import audit, auth, credentials, logo, notices, staff, tokens
from organisatrice.roles.notices import NoticeChoiceOut, NoticeChoicesIn
from organisatrice.roles.policy import Actor, Permission
from organisatrice.roles.schemas import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    CompanyOut,
    CompanyPatch,
    EmployeeIn,
    EmployeeOut,
    EmployeePatch,
    LocaleIn,
    MeOut,
    PasswordChangeIn,
    PasswordSetIn,
    PermissionChangeOut,
    SignInIn,
)
from organisatrice.roles.throttle import client_address
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
    async def sign_in(
        self, request: Request[Any, Any, Any], data: JSONBody[SignInIn]
    ) -> Response[MeOut]:
        """Sign in with email address and password; sets the session cookie."""
        source = client_address(request.scope)
        token, actor = await auth.sign_in(data.email, data.password, source)
        max_age = get_settings().session_hours * 3600
        return Response(MeOut.of(actor), cookies=[_session_cookie(token, max_age)])

    @delete("/session", opt={"needs": Permission.SIGNED_IN}, operation_id="SignOut")
    async def sign_out(self, request: Request[Actor, None, Any]) -> Response[None]:
        """End this session."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        if token:
            await auth.sign_out(token)
        return Response(None, status_code=204, cookies=[_session_cookie("", 0)])

    @put(
        "/me/password",
        opt={"needs": Permission.SIGNED_IN},
        operation_id="ChangeMyPassword",
        status_code=204,
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        data: JSONBody[PasswordChangeIn],
    ) -> None:
        """Change your own password (the current one required); your other sessions end."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        await credentials.change_password(
            actor,
            data.current_password,
            data.new_password,
            session_token_hash=auth.token_hash(token) if token else None,
        )

    @delete("/me/sessions", opt={"needs": Permission.SIGNED_IN}, operation_id="SignOutEverywhere")
    async def sign_out_everywhere(self, actor: NamedDependency[Actor]) -> Response[None]:
        """End every session of yours, on every device, this one too."""
        await credentials.end_sessions(actor.employee_id)
        return Response(None, status_code=204, cookies=[_session_cookie("", 0)])

    @post(
        "/password",
        opt={"needs": Permission.PUBLIC},
        operation_id="SetPasswordWithLink",
        status_code=204,
    )
    async def set_password(self, data: JSONBody[PasswordSetIn]) -> None:
        """Set a password with the single-use link of a reset or an invitation; every session
        of the account ends."""
        await credentials.set_password_with_link(data.token, data.new_password)

    @put("/me/locale", opt={"needs": Permission.SIGNED_IN}, operation_id="ChangeMyLocale")
    async def change_locale(self, actor: NamedDependency[Actor], data: JSONBody[LocaleIn]) -> MeOut:
        """Change your own language (de, fr, it or en): the screens' and that of the server's
        emails to you; recorded in the change log."""
        return MeOut.of(await staff.change_own_locale(actor, data.locale))

    @get("/me/notices", opt={"needs": Permission.SIGNED_IN}, operation_id="GetMyNoticeChoices")
    async def notice_choices(self, actor: NamedDependency[Actor]) -> list[NoticeChoiceOut]:
        """Which notifications you get, and which also by email to your own address."""
        return await notices.notice_choices(actor)

    @put("/me/notices", opt={"needs": Permission.SIGNED_IN}, operation_id="ChangeMyNoticeChoices")
    async def change_notice_choices(
        self, actor: NamedDependency[Actor], data: JSONBody[NoticeChoicesIn]
    ) -> list[NoticeChoiceOut]:
        """Choose per kind: shown, and emailed (about what happens from now on)."""
        return await notices.change_notice_choices(actor, data)

    @get("/me", opt={"needs": Permission.SIGNED_IN}, operation_id="GetMe")
    async def me(self, actor: NamedDependency[Actor]) -> MeOut:
        """The signed-in employee, their company, roles and permissions."""
        return MeOut.of(actor)


_EMPLOYEES = {"needs": Permission.MANAGE_EMPLOYEES}


class EmployeeController(Controller):
    path = "/api/employees"
    tags = ["Back-office"]

    @get("/", opt=_EMPLOYEES, operation_id="ListEmployees")
    async def list_employees(self, actor: NamedDependency[Actor]) -> list[EmployeeOut]:
        """Every employee of the company, active or not."""
        return await staff.list_employees(actor)

    @post("/", opt=_EMPLOYEES, operation_id="CreateEmployee")
    async def create(
        self, actor: NamedDependency[Actor], data: JSONBody[EmployeeIn]
    ) -> EmployeeOut:
        """Create an employee with roles and an initial password."""
        return await staff.add_employee(actor, data)

    @patch("/{employee_id:int}", opt=_EMPLOYEES, operation_id="ChangeEmployee")
    async def change(
        self,
        employee_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[EmployeePatch],
    ) -> EmployeeOut:
        """Set roles, the email switch, active or the language; each change is recorded."""
        return await staff.change_employee(actor, employee_id, data)


_COMPANY = {"needs": Permission.MANAGE_COMPANY}


@dataclass
class LogoUpload:
    file: UploadFile


class CompanyController(Controller):
    path = "/api/company"
    tags = ["Back-office"]

    @get("/", opt=_COMPANY, operation_id="GetCompanySettings")
    async def get_settings(self, actor: NamedDependency[Actor]) -> CompanyOut:
        """The company's details, mail settings and email switch."""
        return await staff.company_settings(actor)

    @patch("/", opt=_COMPANY, operation_id="ChangeCompanySettings")
    async def change(
        self, actor: NamedDependency[Actor], data: JSONBody[CompanyPatch]
    ) -> CompanyOut:
        """Change details, mail settings or the email switch; each change is recorded."""
        return await staff.change_company(actor, data)

    @get("/logo", opt=_COMPANY, operation_id="GetCompanyLogo", media_type="image/*")
    async def get_logo(self, actor: NamedDependency[Actor]) -> Response[bytes]:
        """The company logo (PNG or JPEG); 404 when there is none."""
        image = await logo.company_logo(actor)
        return Response(
            image.data,
            media_type=image.content_type,
            headers={
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @post("/logo", opt=_COMPANY, operation_id="UploadCompanyLogo", status_code=200)
    async def upload_logo(
        self, actor: NamedDependency[Actor], data: MultipartBody[LogoUpload]
    ) -> CompanyOut:
        """Set the logo of work reports and emails (PNG or JPEG, at most 2 MB); recorded."""
        return await logo.set_logo(actor, await data.file.read())

    @delete("/logo", opt=_COMPANY, operation_id="RemoveCompanyLogo", status_code=200)
    async def remove_logo(self, actor: NamedDependency[Actor]) -> CompanyOut:
        """Reports and emails go out without a logo; recorded."""
        return await logo.remove_logo(actor)


class PermissionChangeController(Controller):
    path = "/api/permission-changes"
    tags = ["Back-office"]

    @get(
        "/", opt={"needs": Permission.VIEW_PERMISSION_CHANGES}, operation_id="ListPermissionChanges"
    )
    async def list_changes(
        self,
        actor: NamedDependency[Actor],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> Page[PermissionChangeOut]:
        """Who changed roles, switches or responsibilities, when, before and after."""
        return await audit.list_changes(actor, page=page, per_page=per_page)


_TOKENS = {"needs": Permission.MANAGE_TOKENS}


class ApiTokenController(Controller):
    path = "/api/tokens"
    tags = ["Back-office"]

    @get("/", opt=_TOKENS, operation_id="ListApiTokens")
    async def list_tokens(self, actor: NamedDependency[Actor]) -> list[ApiTokenOut]:
        """The company's API tokens, newest first, with when each was last used."""
        return await tokens.list_tokens(actor)

    @post("/", opt=_TOKENS, operation_id="CreateApiToken")
    async def create(
        self, actor: NamedDependency[Actor], data: JSONBody[ApiTokenIn]
    ) -> ApiTokenCreated:
        """Create a token with scopes; its secret is in this answer and never again."""
        return await tokens.create_token(actor, data)

    @post("/{token_id:int}/revoke", opt=_TOKENS, operation_id="RevokeApiToken", status_code=200)
    async def revoke(self, token_id: PathId, actor: NamedDependency[Actor]) -> ApiTokenOut:
        """Revoke a token: every later request with it answers 401."""
        return await tokens.revoke_token(actor, token_id)


CONTROLLERS = [
    SessionController,
    EmployeeController,
    CompanyController,
    PermissionChangeController,
    ApiTokenController,
]
