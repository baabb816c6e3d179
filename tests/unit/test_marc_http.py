"""The HTTP shape of MARC files, without servers: the gateway's generic upload hook reads a
file body (its media type, its size) and the OpenAPI document describes both routes."""

from __future__ import annotations

import base64

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.catalog import schemas as catalog
from services.gateway import openapi, parsing
from services.gateway.problems import PayloadTooLarge, UnsupportedMediaType
from services.gateway.service import GatewayService
from tests.unit.marc_samples import cnmarc

MARC = "application/marc"


def request(data: bytes, content_type: str) -> Request:
    built = EnvironBuilder(method="POST", data=data, content_type=content_type)
    return Request(built.get_environ())


def test_a_file_body_goes_to_the_service_base64_encoded_as_its_schema_takes_it():
    data = cnmarc("9787020002207", "红楼梦", "曹雪芹", "I242.4", "59.70")
    body = parsing.file_body(request(data, MARC), (MARC,), "file", catalog.MAX_MARC_BYTES)
    assert base64.b64decode(body["file"]) == data
    assert catalog.MarcFile().validate(body) == {}


def test_a_file_of_another_type_or_over_the_limit_is_refused_naming_it():
    with pytest.raises(UnsupportedMediaType, match="application/marc"):
        parsing.file_body(request(b"x", "text/plain"), (MARC,), "file", 10)
    with pytest.raises(PayloadTooLarge, match="limit of 10 bytes"):
        parsing.file_body(request(b"0" * 11, MARC), (MARC,), "file", 10)


def test_the_service_refuses_a_file_over_its_limit_or_not_base64():
    over = base64.b64encode(b"0" * (catalog.MAX_MARC_BYTES + 1)).decode()
    assert "file" in catalog.MarcFile().validate({"file": over})
    assert "file" in catalog.MarcFile().validate({"file": "not base64!"})


def test_the_document_describes_the_import_and_the_export():
    doc = openapi.document(GatewayService)
    upload = doc["paths"]["/api/books/marc"]["post"]
    body = upload["requestBody"]["content"][MARC]["schema"]
    assert body["format"] == "binary" and str(catalog.MAX_MARC_BYTES) in body["description"]
    query = {p["name"]: p for p in upload["parameters"] if p.get("in") == "query"}
    assert query["campus"]["required"] and query["copies"]["schema"]["maximum"] == 500
    assert {"201", "200", "413", "415"} <= set(upload["responses"])
    export = doc["paths"]["/api/books/marc"]["get"]
    flavour = {p["name"]: p for p in export["parameters"] if p.get("in") == "query"}["flavour"]
    assert sorted(flavour["schema"]["enum"]) == ["cnmarc", "marc21"]
    assert MARC in export["responses"]["200"]["content"]
