"""The app a server process serves keeps what startup built out of the collector's walks
(core/collector.py says why; bench/ measures the effect)."""

from __future__ import annotations

import gc

from organisatrice.app import create_app, create_served_app


def _walked(thing: object) -> bool:
    # get_objects() lists the collector's three generations, not the frozen objects.
    return any(o is thing for o in gc.get_objects())


def test_a_served_app_and_its_routes_are_frozen_a_test_app_is_not() -> None:
    try:
        served = create_served_app()
        handler = served.route_handler_method_map["/api/health"]["GET"]
        assert not _walked(served)
        assert not _walked(handler)
        assert _walked(create_app())
    finally:
        gc.unfreeze()
