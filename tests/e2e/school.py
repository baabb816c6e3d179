"""A little school for the screens' tests, made over the HTTP API as a librarian would.

Titles at both campuses (红楼梦 for the pinyin search, a reference book that is
never lent), a class of students and a class teacher with their cards, and the
people who sign in: a librarian, an assistant at the north desk, the teacher and
two students, each with a password. ``facts`` is what the browser scenarios get
(as JSON in ``LIBRARY_SCHOOL``): the address, the people and the barcodes.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.helpers import wait_until

TITLES = [
    # (isbn, title, author, classification, campus, copies, reference_only)
    ("978-7-02-000220-7", "红楼梦", "曹雪芹", "I242.4", "north", 3, False),
    ("978-7-5063-6543-7", "活着", "余华", "I247.57", "north", 2, False),
    ("978-7-5063-6543-7", "活着", "余华", "I247.57", "south", 2, False),
    ("978-7-101-07274-7", "上下五千年", "林汉达", "K209", "north", 2, False),
    ("978-7-100-12450-8", "现代汉语词典", "中国社会科学院语言研究所", "H316", "north", 1, True),
    ("978-7-5322-6734-7", "从一到无穷大", "伽莫夫", "O1-49", "south", 2, False),
]
STUDENTS = [
    ("S70301", "王小明", "G7-3", "north"),
    ("S70302", "韩梅梅", "G7-3", "north"),
    ("S70303", "张伟", "G7-3", "north"),
    ("S80601", "李雷", "G8-6", "south"),
]
TEACHER = ("T001", "王芳", "north", ["G7-3"])
STAFF = {
    "librarian": {"username": "chen-jing", "name": "陈静", "roles": ["librarian"]},
    "assistant": {
        "username": "zhang-yu",
        "name": "张小雨",
        "roles": ["assistant"],
        "campus": "north",
    },
    "operator": {"username": "ops-li", "name": "李运维", "roles": ["operator"]},
}
PASSWORD = "书香满校园2026"


class SchoolApi:
    """The API as the development librarian (LIBRARY_DEV_TOKENS=1 in the tests)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.base = "http://" + settings["WEB_SERVER_ADDRESS"]
        self.headers = {"Authorization": f"Bearer {settings['GATEWAY']['tokens']['librarian']}"}

    def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> Any:
        answer = requests.request(
            method, f"{self.base}{path}", headers=self.headers, timeout=60, **kwargs
        )
        assert answer.status_code in expect, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def exists(self, path: str) -> bool:
        answer = requests.get(f"{self.base}{path}", headers=self.headers, timeout=60)
        return answer.status_code == 200


def make_school(settings: dict[str, Any]) -> dict[str, Any]:
    """Catalogue, cards and accounts; returns the facts the scenarios need."""
    api = SchoolApi(settings)
    added = api.call("POST", "/api/books/batch", json={"titles": [
        {
            "isbn": isbn, "title": title, "author": author, "classification": code,
            "campus": campus, "shelf": f"{campus[0].upper()}-{code[0]}-01", "price": "30.00",
            "reference_only": reference, "copies": copies,
        }
        for isbn, title, author, code, campus, copies, reference in TITLES
    ]})["titles"]  # fmt: skip
    barcodes = {}
    for (_, title, _, _, campus, _, _), group in zip(TITLES, added, strict=True):
        barcodes[f"{title}@{campus}"] = group["barcodes"]
    wait_until(
        lambda: api.exists(f"/api/copies/{added[-1]['barcodes'][-1]}/availability"),
        timeout=60,
        what="circulation to know the copies",
    )
    for patron_id, name, class_name, campus in STUDENTS:
        api.call("POST", "/api/cards", json={
            "patron_id": patron_id, "name": name, "kind": "student", "class": class_name,
            "campus": campus,
        })  # fmt: skip
    teacher_id, teacher_name, teacher_campus, classes = TEACHER
    api.call("POST", "/api/cards", json={
        "patron_id": teacher_id, "name": teacher_name, "kind": "teacher", "campus": teacher_campus,
    })  # fmt: skip
    people = {}
    for key, person in STAFF.items():
        api.call("POST", "/api/accounts", json={**person, "password": PASSWORD})
        people[key] = {"username": person["username"], "password": PASSWORD, "name": person["name"]}
    holders = {"teacher": (teacher_id, teacher_name), "student": STUDENTS[0][:2],
               "student-2": STUDENTS[3][:2]}  # fmt: skip
    for key, (username, name) in holders.items():
        wait_until(
            lambda username=username: api.exists(f"/api/accounts/{username}"),
            timeout=60,
            what=f"the account of card {username}",
        )
        api.call("POST", f"/api/accounts/{username}/password", json={"password": PASSWORD})
        people[key] = {"username": username, "password": PASSWORD, "name": name}
    api.call("POST", f"/api/accounts/{teacher_id}/classes", json={"classes": classes})
    return {
        "base": api.base,
        "people": people,
        "barcodes": barcodes,
        "students": [
            dict(zip(("patron_id", "name", "class", "campus"), s, strict=True)) for s in STUDENTS
        ],
        "teacher": {"patron_id": teacher_id, "name": teacher_name, "classes": classes},
    }
