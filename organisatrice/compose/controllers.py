"""HTTP for templates (back-office) and drafts (whoever may email in the order's context)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody

from organisatrice.compose import (
    answers,
    assemble,
    drafts,
    personal_signature,
    sending,
    signatures,
    templates,
)
from organisatrice.compose.schemas import (
    AnswerIn,
    DraftIn,
    DraftOut,
    DraftPatch,
    PersonalSignatureIn,
    PersonalSignatureOut,
    PlaceholderOut,
    PreviewOut,
    Recipients,
    SignatureOut,
    TemplateContent,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    TemplatePreviewOut,
)
from organisatrice.core.http import PathId, file_response
from organisatrice.mail.schemas import SentEmailOut
from organisatrice.roles.policy import Actor, Permission

_MANAGE = {"needs": Permission.MANAGE_TEMPLATES}
_VIEW = {"needs": Permission.VIEW_TEMPLATES}
_COMPOSE = {"needs": Permission.COMPOSE_EMAIL}


class TemplateController(Controller):
    path = "/api/templates"
    tags = ["Templates"]

    @get("/", opt=_VIEW, operation_id="ListTemplates")
    async def list_templates(self, actor: NamedDependency[Actor]) -> list[TemplateOut]:
        """Templates the signed-in employee may use (back-office: all), with last use."""
        return await templates.list_templates(actor)

    @get("/placeholders", opt=_VIEW, operation_id="ListPlaceholders")
    async def list_placeholders(self) -> list[PlaceholderOut]:
        """Every placeholder a template may use, with an example value."""
        return templates.placeholder_list()

    @post("/", opt=_MANAGE, operation_id="CreateTemplate")
    async def create(
        self, actor: NamedDependency[Actor], data: JSONBody[TemplateIn]
    ) -> TemplateOut:
        """Create a template; refused with field and line when a placeholder is unknown."""
        return await templates.create_template(actor, data)

    @post("/preview", opt=_MANAGE, operation_id="PreviewTemplate", status_code=200)
    async def preview(self, data: JSONBody[TemplateContent]) -> TemplatePreviewOut:
        """The email an unsaved template makes for the sample order; nothing is stored.
        Refused, with field, line and code, as saving the template would be."""
        return await assemble.preview_template(data)

    @get("/{template_id:int}", opt=_VIEW, operation_id="GetTemplate")
    async def get_template(self, template_id: PathId, actor: NamedDependency[Actor]) -> TemplateOut:
        """One template."""
        return await templates.get_template(actor, template_id)

    @patch("/{template_id:int}", opt=_MANAGE, operation_id="ChangeTemplate")
    async def change(
        self, template_id: PathId, actor: NamedDependency[Actor], data: JSONBody[TemplatePatch]
    ) -> TemplateOut:
        """Change some fields of a template; checked like a new one."""
        return await templates.change_template(actor, template_id, data)

    @post("/{template_id:int}/duplicate", opt=_MANAGE, operation_id="DuplicateTemplate")
    async def duplicate(self, template_id: PathId, actor: NamedDependency[Actor]) -> TemplateOut:
        """A copy named "… (copy)", to start a variant from."""
        return await templates.duplicate_template(actor, template_id)

    @delete("/{template_id:int}", opt=_MANAGE, operation_id="DeleteTemplate")
    async def delete_template(self, template_id: PathId, actor: NamedDependency[Actor]) -> None:
        """Delete a template; drafts made from it keep their text."""
        await templates.delete_template(actor, template_id)


class DraftController(Controller):
    path = "/api/orders/{order_id:int}/drafts"
    tags = ["Compose"]

    @post("/", opt=_COMPOSE, operation_id="CreateDraft")
    async def create(
        self, order_id: PathId, actor: NamedDependency[Actor], data: JSONBody[DraftIn]
    ) -> DraftOut:
        """A new draft from a template for a contact of the order or a typed address."""
        return await drafts.create_draft(actor, order_id, data)

    @get("/", opt=_COMPOSE, operation_id="ListDrafts")
    async def list_drafts(self, order_id: PathId, actor: NamedDependency[Actor]) -> list[DraftOut]:
        """The signed-in employee's drafts for this order, newest first."""
        return await drafts.list_drafts(actor, order_id)

    @get("/{draft_id:int}", opt=_COMPOSE, operation_id="GetDraft")
    async def get_draft(
        self, order_id: PathId, draft_id: PathId, actor: NamedDependency[Actor]
    ) -> DraftOut:
        """One draft, to reopen it."""
        return await drafts.get_draft(actor, order_id, draft_id)

    @patch("/{draft_id:int}", opt=_COMPOSE, operation_id="ChangeDraft")
    async def change(
        self,
        order_id: PathId,
        draft_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[DraftPatch],
    ) -> DraftOut:
        """Save edited blocks, recipients or attachments; `version` must be the one read."""
        return await drafts.change_draft(actor, order_id, draft_id, data)

    @delete("/{draft_id:int}", opt=_COMPOSE, operation_id="DeleteDraft")
    async def delete_draft(
        self, order_id: PathId, draft_id: PathId, actor: NamedDependency[Actor]
    ) -> None:
        """Throw a draft away."""
        await drafts.delete_draft(actor, order_id, draft_id)

    @post("/{draft_id:int}/preview", opt=_COMPOSE, operation_id="PreviewDraft", status_code=200)
    async def preview(
        self, order_id: PathId, draft_id: PathId, actor: NamedDependency[Actor]
    ) -> PreviewOut:
        """The email exactly as the client will get it: text, HTML, attachments, size."""
        return await assemble.preview(actor, order_id, draft_id)

    @post("/{draft_id:int}/send", opt=_COMPOSE, operation_id="SendDraft")
    async def send(
        self, order_id: PathId, draft_id: PathId, actor: NamedDependency[Actor]
    ) -> SentEmailOut:
        """Freeze the draft into the archive and queue it for sending."""
        return await sending.send_draft(actor, order_id, draft_id)

    @post("/{draft_id:int}/proof", opt=_COMPOSE, operation_id="SendDraftProof")
    async def proof(
        self, order_id: PathId, draft_id: PathId, actor: NamedDependency[Actor]
    ) -> SentEmailOut:
        """Send me a test: the same email, to the signed-in employee only; the draft stays."""
        return await sending.send_proof(actor, order_id, draft_id)


class AnswerController(Controller):
    path = "/api/orders/{order_id:int}/replies"
    tags = ["Compose"]

    @post("/{reply_id:int}/answer", opt=_COMPOSE, operation_id="AnswerReply")
    async def answer(
        self,
        order_id: PathId,
        reply_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[AnswerIn],
    ) -> DraftOut:
        """A draft answering the client's reply: to its sender, quoting what they wrote, sent
        threaded to their message; 409 `reply_automatic` for an out-of-office note."""
        return await answers.answer_reply(actor, order_id, reply_id, data)


class ResendController(Controller):
    path = "/api/emails"
    tags = ["Compose"]

    @post("/{email_id:int}/resend", opt=_COMPOSE, operation_id="ResendEmail")
    async def resend(
        self, email_id: PathId, actor: NamedDependency[Actor], data: JSONBody[Recipients]
    ) -> SentEmailOut:
        """Fix and resend: the same email to corrected recipients, linked to the first."""
        return await sending.resend(actor, email_id, data)


@dataclass
class SignatureUpload:
    file: UploadFile
    signer_name: str = ""


class SignatureController(Controller):
    """The client's signature of the work report: whoever may send the order's work report
    captures it on the tablet."""

    path = "/api/orders/{order_id:int}/signature"
    tags = ["Compose"]

    @get("/", opt=_COMPOSE, operation_id="GetReportSignature")
    async def get_signature(
        self, order_id: PathId, actor: NamedDependency[Actor]
    ) -> SignatureOut | None:
        """The signature the next work report shows; null when the client has not signed."""
        return await signatures.signature_of(actor, order_id)

    @post("/", opt=_COMPOSE, operation_id="SignReport")
    async def sign(
        self,
        order_id: PathId,
        actor: NamedDependency[Actor],
        data: MultipartBody[SignatureUpload],
    ) -> SignatureOut:
        """Store the client's signature (PNG) and name; the time is the server's."""
        content = await data.file.read()
        return await signatures.sign(actor, order_id, data=content, signer_name=data.signer_name)

    @get(
        "/{signature_id:int}/image",
        opt=_COMPOSE,
        operation_id="GetReportSignatureImage",
        media_type="image/png",
    )
    async def image(
        self, order_id: PathId, signature_id: PathId, actor: NamedDependency[Actor]
    ) -> Response[bytes]:
        """The signature as drawn (PNG, cut to the ink)."""
        stored = await signatures.signature_image(actor, order_id, signature_id)
        return file_response(stored.data, "image/png", stored.filename, inline=True)


_SIGNED_IN = {"needs": Permission.SIGNED_IN}


class PersonalSignatureController(Controller):
    path = "/api/me/signature"
    tags = ["Compose"]

    @get("/", opt=_SIGNED_IN, operation_id="GetMySignature")
    async def get_signature(self, actor: NamedDependency[Actor]) -> PersonalSignatureOut:
        """Your own signature block and how a new draft shows it; empty: the template's."""
        return await personal_signature.get_signature(actor)

    @put("/", opt=_SIGNED_IN, operation_id="ChangeMySignature")
    async def change(
        self, actor: NamedDependency[Actor], data: JSONBody[PersonalSignatureIn]
    ) -> PersonalSignatureOut:
        """Set your signature block (placeholders as in templates); refused with line and
        code when it would not render. Drafts started afterwards use it."""
        return await personal_signature.set_signature(actor, data)


CONTROLLERS = [
    TemplateController,
    DraftController,
    AnswerController,
    ResendController,
    SignatureController,
    PersonalSignatureController,
]
