"""HTTP for the imports room: thin handlers that name their guard and call one service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import JSONBody, MultipartBody, QueryParameter

from organisatrice.core.http import PathId, refuse_nul_text
from organisatrice.core.structs import Page
from organisatrice.imports import service
from organisatrice.imports.schemas import (
    ImportAction,
    ImportDetail,
    ImportPatch,
    ImportSummary,
)
from organisatrice.roles.policy import Actor, Permission

_IMPORT = {"needs": Permission.IMPORT_DATA}


@dataclass
class ImportUpload:
    file: UploadFile
    # client, building, contact or order.
    kind: str
    # atomic (nothing or everything) or per_row (the good rows, the others reported).
    mode: str = "atomic"
    # Optional: a JSON list, per column the field it fills or null; else mapped by headers.
    mapping: str = ""


class ImportController(Controller):
    path = "/api/imports"
    tags = ["Imports"]

    @post("/", opt=_IMPORT, operation_id="UploadImport")
    async def upload(
        self, actor: NamedDependency[Actor], data: MultipartBody[ImportUpload]
    ) -> ImportDetail:
        """Upload a spreadsheet (CSV or XLSX) of clients, buildings, contacts or orders: it
        is stored with its columns mapped by their names and a preview; nothing is imported
        yet."""
        content = await data.file.read()
        return await service.upload(
            actor,
            data=content,
            filename=data.file.filename,
            kind=refuse_nul_text(data.kind, "kind"),
            mode=refuse_nul_text(data.mode, "mode"),
            mapping=refuse_nul_text(data.mapping, "mapping"),
        )

    @get("/", opt=_IMPORT, operation_id="ListImports")
    async def list_imports(
        self,
        actor: NamedDependency[Actor],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 25,
    ) -> Page[ImportSummary]:
        """The import log: every upload and what became of it, newest first."""
        return await service.listing(actor, page=page, per_page=per_page)

    @get("/{import_id:int}", opt=_IMPORT, operation_id="GetImport")
    async def get_import(self, import_id: PathId, actor: NamedDependency[Actor]) -> ImportDetail:
        """An import with its columns, preview, progress, counts and row errors."""
        return await service.detail(actor, import_id)

    @patch("/{import_id:int}", opt=_IMPORT, operation_id="ChangeImportMapping")
    async def change(
        self, import_id: PathId, actor: NamedDependency[Actor], data: JSONBody[ImportPatch]
    ) -> ImportDetail:
        """Map the columns by hand (or change the mode) before checking or importing."""
        return await service.change(actor, import_id, data)

    @post("/{import_id:int}/check", opt=_IMPORT, operation_id="CheckImport", status_code=202)
    async def check(self, import_id: PathId, actor: NamedDependency[Actor]) -> ImportDetail:
        """Check every row without writing (a dry run): what would be created, updated and
        left unchanged, and each row's error. Runs in the background; poll GetImport."""
        return await service.start(actor, import_id, ImportAction.CHECK)

    @post("/{import_id:int}/run", opt=_IMPORT, operation_id="RunImport", status_code=202)
    async def run(self, import_id: PathId, actor: NamedDependency[Actor]) -> ImportDetail:
        """Import the file in the background (atomic: checked whole first, written only when
        no row has an error). Poll GetImport for progress and the result."""
        return await service.start(actor, import_id, ImportAction.IMPORT)


CONTROLLERS = [ImportController]
