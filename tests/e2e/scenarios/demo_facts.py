"""The running demo's facts in the shape the browser scenarios take (``LIBRARY_SCHOOL``).

``make screenshots`` photographs every screen of the demo school (1,200 cards, a
term of loans) rather than the tests' little one::

    LIBRARY_SCHOOL="$(.venv/bin/python -m tests.e2e.scenarios.demo_facts)" \\
        LIBRARY_SCREENSHOTS=docs/screens .venv/bin/python -m tests.e2e.scenarios.tour

People are the demo's (``.run/demo.json``), named as the scenarios name them; the
copy shown on the copy page is one with a history (lent and returned).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

DEMO = Path(__file__).resolve().parents[3] / ".run" / "demo.json"
PEOPLE = {
    "librarian": "librarian",
    "assistant": "assistant-north",
    "operator": "operator",
    "teacher": "teacher-1",
    "student": "student-1",
}


def facts(demo: Path = DEMO) -> dict[str, Any]:
    kept = json.loads(demo.read_text(encoding="utf-8"))
    base = kept["url"].rstrip("/")
    people = {}
    tokens = {}
    for who, key in PEOPLE.items():
        person = kept["accounts"][key]
        signed = requests.post(f"{base}/api/sessions", json=person, timeout=30)
        signed.raise_for_status()
        tokens[who] = signed.json()["token"]
        people[who] = {**person, "name": signed.json()["account"]["name"]}
    librarian = {"Authorization": f"Bearer {tokens['librarian']}"}
    returned: list[str] = []
    after = 0
    while not returned:  # the demo issues its cards first, then lends and takes back
        page = requests.get(
            f"{base}/api/events",
            params={"source": "circulation", "after": after, "limit": 1000},
            headers=librarian,
            timeout=30,
        )
        page.raise_for_status()
        answer = page.json()
        if not answer["events"]:
            raise SystemExit("the demo has no book brought back yet: run make demo first")
        returned = [
            event["data"]["barcode"]
            for event in answer["events"]
            if event["type"] == "Returned" and event["campus"] == "north"
        ]
        after = answer["next_after"]
    for token in tokens.values():
        requests.delete(
            f"{base}/api/sessions/current",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    return {"base": base, "people": people, "barcodes": {"红楼梦@north": returned[-1:]}}


if __name__ == "__main__":
    print(json.dumps(facts(), ensure_ascii=False))
