"""Tables of the orders room. Every row carries its company, and every query filters on it."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from organisatrice.roles.tables import ApiToken, Company, Employee


class Client(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    number = Varchar(length=20, default="")
    name = Varchar(length=200, index=True)
    street = Varchar(length=200, default="")
    postal_code = Varchar(length=20, default="")
    city = Varchar(length=100, default="")
    phone = Varchar(length=50, default="")
    email = Varchar(length=254, default="")
    language = Varchar(length=2, default="de")
    # The company's own key (its ERP's or spreadsheet's id): a second import updates the row
    # instead of adding one. Unique per company where set (an index in the migration).
    external_id = Varchar(length=100, null=True, default=None)
    active = Boolean(default=True)


class Building(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    client = ForeignKey(references=Client, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200, default="")
    street = Varchar(length=200)
    postal_code = Varchar(length=20, default="")
    city = Varchar(length=100, default="")
    # The company's own key (its ERP's or spreadsheet's id): a second import updates the row
    # instead of adding one. Unique per company where set (an index in the migration).
    external_id = Varchar(length=100, null=True, default=None)
    active = Boolean(default=True)


class Contact(Table):
    """A person at a client or at one of its buildings (exactly one of the two is set)."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    client = ForeignKey(references=Client, on_delete=OnDelete.cascade, null=True, index=True)
    building = ForeignKey(references=Building, on_delete=OnDelete.cascade, null=True, index=True)
    salutation = Varchar(length=10, default="none")
    first_name = Varchar(length=100, default="")
    last_name = Varchar(length=100, default="")
    function = Varchar(length=100, default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=50, default="")
    language = Varchar(length=2, default="de")
    # The company's own key (its ERP's or spreadsheet's id): a second import updates the row
    # instead of adding one. Unique per company where set (an index in the migration).
    external_id = Varchar(length=100, null=True, default=None)
    active = Boolean(default=True)


class Order(Table, tablename="work_order"):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    number = Varchar(length=30, index=True)
    title = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=20, default="planned", index=True)
    client = ForeignKey(references=Client, on_delete=OnDelete.restrict, index=True)
    start_date = Date(null=True, default=None)
    end_date = Date(null=True, default=None)
    remarks = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    # The company's own key (its ERP's or spreadsheet's id): a second import updates the row
    # instead of adding one. Unique per company where set (an index in the migration).
    external_id = Varchar(length=100, null=True, default=None)
    active = Boolean(default=True)


class OrderBuilding(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    building = ForeignKey(references=Building, on_delete=OnDelete.cascade, index=True)


class OrderResponsible(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.cascade, index=True)


class WorkItem(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    date = Date()
    technician = ForeignKey(references=Employee, on_delete=OnDelete.restrict, index=True)
    hours = Float()
    description = Text(default="")


class Material(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    article = Varchar(length=200)
    quantity = Float()
    unit = Varchar(length=20, default="pc")


class Photo(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    image_sha256 = Varchar(length=64)
    thumbnail_sha256 = Varchar(length=64)
    content_type = Varchar(length=50)
    width = Integer()
    height = Integer()
    size = Integer()
    caption = Varchar(length=500, default="")
    original_filename = Varchar(length=255, default="")
    taken_at = Timestamptz(null=True, default=None)
    taken_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    # SHA-256 of the key the uploading device gave the file: its retry after a dropped
    # connection is answered with this row instead of adding the photo twice.
    upload_key = Varchar(length=64, null=True, default=None)


class Document(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    blob_sha256 = Varchar(length=64)
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size = Integer()
    kind = Varchar(length=20, default="other")
    uploaded_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    # As the photo's: a retried upload finds the document it already added.
    upload_key = Varchar(length=64, null=True, default=None)


class RecordChange(Table):
    """The change log of clients, buildings, contacts and orders: who (a person or an API
    token) created or changed which record, and each field's value before and after. Written
    in the transaction of the change; a write that changes nothing writes no entry."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    token = ForeignKey(references=ApiToken, on_delete=OnDelete.set_null, null=True)
    source = Varchar(length=20, default="api")
    subject = Varchar(length=20)
    subject_id = Integer(index=True)
    action = Varchar(length=20)
    # JSON: {field: [before, after]}; on creation every field given, before null.
    changes = Text(default="{}")
