"""Every answer carries the security headers; the API page runs from the app's own files."""

from __future__ import annotations

import re

from tests.client import ApiClient


async def test_every_answer_carries_the_security_headers(anonymous: ApiClient) -> None:
    for url in ("/api/health", "/api/me", "/schema/openapi.json", "/no/such/page"):
        headers = (await anonymous.get(url)).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy, url
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert "geolocation=()" in headers["permissions-policy"]
        # Only behind HTTPS (COOKIE_SECURE=1), which the tests are not.
        assert "strict-transport-security" not in headers


async def test_the_api_page_loads_only_the_apps_own_files(anonymous: ApiClient) -> None:
    page = await anonymous.get("/schema/swagger")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text[:500]
    assert all(s.startswith("/") for s in sources), sources
    for asset in sources:
        answer = await anonymous.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 1000
