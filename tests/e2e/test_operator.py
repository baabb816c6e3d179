"""The operator's screen: services, their relay, projection lag, queues; 刷新 asks again."""

from __future__ import annotations

import pytest

from tests.e2e.school import SchoolApi

pytestmark = pytest.mark.integration


def test_the_operator_sees_services_lag_and_queues_and_refreshes(library, school, scenario):
    lend = {"patron_id": "S70301", "barcode": school["barcodes"]["活着@north"][1],
            "campus": "north"}  # fmt: skip
    api = {
        "WEB_SERVER_ADDRESS": library["WEB_SERVER_ADDRESS"],
        "GATEWAY": {"tokens": {"librarian": library["GATEWAY"]["tokens"]["librarian"]}},
    }

    seen = scenario("operator", api=api, lend=lend)

    status = SchoolApi(library).call("GET", "/api/status")
    assert seen["service_headers"][:3] == ["服务", "服务代号", "状态"]
    assert set(seen["services"]) == {service["service"] for service in status["services"]}
    for service in status["services"]:
        shown = seen["services"][service["service"]]
        assert shown["状态"] == "运行中"
        assert shown["服务"] in {
            "编目服务",
            "借还服务",
            "阅读活动服务",
            "帐簿档案服务",
            "账号服务",
            "自助借还机服务（SIP2）",
        }
    circulation = next(s for s in status["services"] if s["service"] == "circulation")
    assert seen["circulation_after"] == f"{circulation['health']['head']:,}"
    lags = {(line[1], line[2]) for line in seen["lag"]}
    for service in status["services"]:
        for lag in service["projection_lag"] or ():  # the SIP2 server owns no projections
            assert (lag["projection"], lag["source"]) in lags
    if "queues" in status:
        assert seen["queues"]
    else:  # the HTTP status does not give them yet: the screen says where to look
        assert seen["queues"] is None and "library status" in seen["queues_note"]
