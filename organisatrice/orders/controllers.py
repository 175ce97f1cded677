"""HTTP for the orders room: thin handlers that name their guard and call one service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, MultipartBody, QueryParameter

from organisatrice.core.http import PathId, file_response
from organisatrice.core.structs import Page
from organisatrice.orders import files, responsibility, services, writes
from organisatrice.orders.schemas import (
    BatchResult,
    BuildingBatch,
    BuildingIn,
    BuildingOut,
    ClientBatch,
    ClientDetail,
    ClientIn,
    ClientOut,
    ContactBatch,
    ContactIn,
    ContactOut,
    DocumentOut,
    EmployeeRef,
    OrderBatch,
    OrderDetail,
    OrderIn,
    OrderStatus,
    OrderSummary,
    PhotoOut,
    PhotoPatch,
    RecipientOut,
    ResponsibleIn,
)
from organisatrice.orders.writes import RecordKind
from organisatrice.roles.policy import Actor, Permission

_VIEW = {"needs": Permission.VIEW_ORDERS}
_ADD_FILES = {"needs": Permission.ADD_ORDER_FILES}
_CLIENTS = {"needs": Permission.VIEW_CLIENTS}
_WRITE_ORDERS = {"needs": Permission.WRITE_ORDERS}


@dataclass
class PhotoUpload:
    file: UploadFile
    caption: str = ""
    # Any key the device gives this file (a UUID): the upload sent again with the same key,
    # after a dropped connection, is answered with the photo already added.
    upload_key: str = ""


@dataclass
class DocumentUpload:
    file: UploadFile
    kind: str = "other"
    # As a photo's.
    upload_key: str = ""


class OrderController(Controller):
    path = "/api/orders"
    tags = ["Orders"]

    @get("/", opt=_VIEW, operation_id="ListOrders")
    async def list_orders(
        self,
        actor: NamedDependency[Actor],
        q: Annotated[str, QueryParameter(max_length=200, description="Words to search")] = "",
        status: FromQuery[OrderStatus | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 25,
    ) -> Page[OrderSummary]:
        """Orders visible to the signed-in employee, newest first, searchable and filterable."""
        return await services.list_orders(
            actor, search=q, status=status, page=page, per_page=per_page
        )

    @get("/{order_id:int}", opt=_VIEW, operation_id="GetOrder")
    async def get_order(self, order_id: PathId, actor: NamedDependency[Actor]) -> OrderDetail:
        """An order with its work, materials, photos, documents and possible recipients."""
        return await services.order_detail(actor, order_id)

    @get("/{order_id:int}/recipients", opt=_VIEW, operation_id="ListOrderRecipients")
    async def recipients(
        self, order_id: PathId, actor: NamedDependency[Actor]
    ) -> list[RecipientOut]:
        """Contacts of the order's client and buildings who have an email address."""
        return await services.order_recipients(actor, order_id)

    @put(
        "/{order_id:int}/responsible",
        opt={"needs": Permission.ASSIGN_RESPONSIBLE},
        operation_id="SetOrderResponsible",
    )
    async def set_responsible(
        self,
        order_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[ResponsibleIn],
    ) -> list[EmployeeRef]:
        """Replace the employees responsible for the order; the change is recorded."""
        return await responsibility.set_responsible(actor, order_id, data)

    @post("/", opt=_WRITE_ORDERS, operation_id="CreateOrder")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[OrderIn]) -> OrderDetail:
        """Create an order with its work, for companies without an ERP; recorded."""
        order_id = await writes.save_one(actor, RecordKind.ORDER, data, None)
        return await services.order_detail(actor, order_id)

    @patch("/{order_id:int}", opt=_WRITE_ORDERS, operation_id="ChangeOrder")
    async def change(
        self, order_id: PathId, actor: NamedDependency[Actor], data: JSONBody[OrderIn]
    ) -> OrderDetail:
        """Change an order; lists given (work items, materials, …) replace the order's."""
        await services.visible_order(actor, order_id)
        await writes.save_one(actor, RecordKind.ORDER, data, order_id)
        return await services.order_detail(actor, order_id)

    @post("/batch", opt=_WRITE_ORDERS, operation_id="UpsertOrders", status_code=200)
    async def batch(self, actor: NamedDependency[Actor], data: JSONBody[OrderBatch]) -> BatchResult:
        """Create or update up to 10,000 orders with their work by their external_id."""
        return await writes.upsert(actor, RecordKind.ORDER, data.rows, mode=data.mode)


class PhotoController(Controller):
    path = "/api/orders/{order_id:int}/photos"
    tags = ["Orders"]

    @post("/", opt=_ADD_FILES, operation_id="UploadPhoto")
    async def upload(
        self,
        order_id: PathId,
        actor: NamedDependency[Actor],
        data: MultipartBody[PhotoUpload],
    ) -> PhotoOut:
        """Add a photo (JPEG, PNG, WebP, HEIC); it is stored upright, with a thumbnail."""
        content = await data.file.read()
        return await files.add_photo(
            actor,
            order_id,
            data=content,
            filename=data.file.filename,
            caption=data.caption,
            upload_key=data.upload_key,
        )

    @patch("/{photo_id:int}", opt=_ADD_FILES, operation_id="ChangePhoto")
    async def change(
        self,
        order_id: PathId,
        photo_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[PhotoPatch],
    ) -> PhotoOut:
        """Change a photo's caption after the upload."""
        return await files.change_caption(actor, order_id, photo_id, data.caption)

    @get("/{photo_id:int}/image", opt=_VIEW, operation_id="GetPhotoImage", media_type="image/*")
    async def image(
        self, order_id: PathId, photo_id: PathId, actor: NamedDependency[Actor]
    ) -> Response[bytes]:
        """The photo itself."""
        stored = await files.photo_file(actor, order_id, photo_id, thumbnail=False)
        return file_response(stored.data, stored.content_type, stored.filename, inline=True)

    @get(
        "/{photo_id:int}/thumbnail",
        opt=_VIEW,
        operation_id="GetPhotoThumbnail",
        media_type="image/jpeg",
    )
    async def thumbnail(
        self, order_id: PathId, photo_id: PathId, actor: NamedDependency[Actor]
    ) -> Response[bytes]:
        """A small JPEG of the photo for grids."""
        stored = await files.photo_file(actor, order_id, photo_id, thumbnail=True)
        return file_response(stored.data, stored.content_type, stored.filename, inline=True)


class DocumentController(Controller):
    path = "/api/orders/{order_id:int}/documents"
    tags = ["Orders"]

    @post("/", opt=_ADD_FILES, operation_id="UploadDocument")
    async def upload(
        self,
        order_id: PathId,
        actor: NamedDependency[Actor],
        data: MultipartBody[DocumentUpload],
    ) -> DocumentOut:
        """Add a document (PDF, image, office file) to the order."""
        content = await data.file.read()
        return await files.add_document(
            actor,
            order_id,
            data=content,
            filename=data.file.filename,
            kind=data.kind,
            upload_key=data.upload_key,
        )

    @get(
        "/{document_id:int}/file",
        opt=_VIEW,
        operation_id="DownloadDocument",
        media_type="application/octet-stream",
    )
    async def download(
        self, order_id: PathId, document_id: PathId, actor: NamedDependency[Actor]
    ) -> Response[bytes]:
        """The document, under its name."""
        stored = await files.document_file(actor, order_id, document_id)
        return file_response(stored.data, stored.content_type, stored.filename, inline=False)


_WRITE_CLIENTS = {"needs": Permission.WRITE_CLIENTS}
_Search = Annotated[str, QueryParameter(max_length=200, description="Words to search")]
_Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class ClientController(Controller):
    path = "/api/clients"
    tags = ["Clients"]

    @get("/", opt=_CLIENTS, operation_id="ListClients")
    async def list_clients(
        self,
        actor: NamedDependency[Actor],
        q: _Search = "",
        include_inactive: FromQuery[bool] = False,
        limit: _Limit = 200,
    ) -> list[ClientOut]:
        """The company's clients, by name (technicians: the clients of their orders)."""
        return await services.list_clients(
            actor, search=q, include_inactive=include_inactive, limit=limit
        )

    @get("/{client_id:int}", opt=_CLIENTS, operation_id="GetClient")
    async def get_client(self, client_id: PathId, actor: NamedDependency[Actor]) -> ClientDetail:
        """A client with its buildings and contacts."""
        return await services.client_detail(actor, client_id)

    @post("/", opt=_WRITE_CLIENTS, operation_id="CreateClient")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[ClientIn]) -> ClientDetail:
        """Create a client; recorded in the change log."""
        client_id = await writes.save_one(actor, RecordKind.CLIENT, data, None)
        return await services.client_detail(actor, client_id)

    @patch("/{client_id:int}", opt=_WRITE_CLIENTS, operation_id="ChangeClient")
    async def change(
        self, client_id: PathId, actor: NamedDependency[Actor], data: JSONBody[ClientIn]
    ) -> ClientDetail:
        """Change a client's fields or deactivate it (`active: false`); absent fields stay."""
        await writes.save_one(actor, RecordKind.CLIENT, data, client_id)
        return await services.client_detail(actor, client_id)

    @post("/batch", opt=_WRITE_CLIENTS, operation_id="UpsertClients", status_code=200)
    async def batch(
        self, actor: NamedDependency[Actor], data: JSONBody[ClientBatch]
    ) -> BatchResult:
        """Create or update up to 10,000 clients by their external_id; the same rows again
        change nothing."""
        return await writes.upsert(actor, RecordKind.CLIENT, data.rows, mode=data.mode)


class BuildingController(Controller):
    path = "/api/buildings"
    tags = ["Clients"]

    @get("/{building_id:int}", opt=_CLIENTS, operation_id="GetBuilding")
    async def get_building(self, building_id: PathId, actor: NamedDependency[Actor]) -> BuildingOut:
        """One building of a client."""
        return await services.building_detail(actor, building_id)

    @post("/", opt=_WRITE_CLIENTS, operation_id="CreateBuilding")
    async def create(
        self, actor: NamedDependency[Actor], data: JSONBody[BuildingIn]
    ) -> BuildingOut:
        """Add a building to a client; recorded in the change log."""
        building_id = await writes.save_one(actor, RecordKind.BUILDING, data, None)
        return await services.building_detail(actor, building_id)

    @patch("/{building_id:int}", opt=_WRITE_CLIENTS, operation_id="ChangeBuilding")
    async def change(
        self, building_id: PathId, actor: NamedDependency[Actor], data: JSONBody[BuildingIn]
    ) -> BuildingOut:
        """Change a building or deactivate it; absent fields stay."""
        await writes.save_one(actor, RecordKind.BUILDING, data, building_id)
        return await services.building_detail(actor, building_id)

    @post("/batch", opt=_WRITE_CLIENTS, operation_id="UpsertBuildings", status_code=200)
    async def batch(
        self, actor: NamedDependency[Actor], data: JSONBody[BuildingBatch]
    ) -> BatchResult:
        """Create or update up to 10,000 buildings by their external_id."""
        return await writes.upsert(actor, RecordKind.BUILDING, data.rows, mode=data.mode)


class ContactController(Controller):
    path = "/api/contacts"
    tags = ["Clients"]

    @get("/", opt=_CLIENTS, operation_id="ListContacts")
    async def list_contacts(
        self,
        actor: NamedDependency[Actor],
        q: _Search = "",
        include_inactive: FromQuery[bool] = False,
        limit: _Limit = 200,
    ) -> list[ContactOut]:
        """Contact persons by name, email, function or external id."""
        return await services.list_contacts(
            actor, search=q, include_inactive=include_inactive, limit=limit
        )

    @get("/{contact_id:int}", opt=_CLIENTS, operation_id="GetContact")
    async def get_contact(self, contact_id: PathId, actor: NamedDependency[Actor]) -> ContactOut:
        """One contact person."""
        return await services.contact_detail(actor, contact_id)

    @post("/", opt=_WRITE_CLIENTS, operation_id="CreateContact")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[ContactIn]) -> ContactOut:
        """Add a contact person to a client or a building; recorded in the change log."""
        contact_id = await writes.save_one(actor, RecordKind.CONTACT, data, None)
        return await services.contact_detail(actor, contact_id)

    @patch("/{contact_id:int}", opt=_WRITE_CLIENTS, operation_id="ChangeContact")
    async def change(
        self, contact_id: PathId, actor: NamedDependency[Actor], data: JSONBody[ContactIn]
    ) -> ContactOut:
        """Change a contact (a corrected email address, say) or deactivate it."""
        await writes.save_one(actor, RecordKind.CONTACT, data, contact_id)
        return await services.contact_detail(actor, contact_id)

    @post("/batch", opt=_WRITE_CLIENTS, operation_id="UpsertContacts", status_code=200)
    async def batch(
        self, actor: NamedDependency[Actor], data: JSONBody[ContactBatch]
    ) -> BatchResult:
        """Create or update up to 10,000 contacts by their external_id."""
        return await writes.upsert(actor, RecordKind.CONTACT, data.rows, mode=data.mode)


CONTROLLERS = [
    OrderController,
    PhotoController,
    DocumentController,
    ClientController,
    BuildingController,
    ContactController,
]
