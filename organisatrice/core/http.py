"""Parameter types shared by every room's controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

from organisatrice.core.structs import MAX_ID

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
