"""Accounts over HTTP, with the real services: signing in, rights by person, who did what.

Every rule of the accounts issue is driven through the gateway as a person or
a program would: a librarian (the dev token, to set things up, then her own
account), assistants of each campus, a class teacher and two students whose
accounts follow from their cards.
"""

from __future__ import annotations

import secrets
import uuid

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TODAY, Api, problem, start_gateway

PASSWORD = "书香满校园2026"


class People(Api):
    """The gateway with the sign-in steps a person takes."""

    def sign_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        return requests.post(
            self.base + "/api/sessions",
            json={"username": username, "password": password},
            timeout=30,
        )

    def session(self, username: str, password: str = PASSWORD) -> str:
        answer = self.sign_in(username, password)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    def as_(self, token: str, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def staff(self, username: str, roles: list[str], campus: str | None = None) -> str:
        """A staff account made by the librarian; its session token."""
        body = {"username": username, "name": f"{username} 老师", "roles": roles}
        if campus:
            body["campus"] = campus
        made = self.post("/api/accounts", {**body, "password": PASSWORD})
        assert made.status_code == 201, made.text
        return self.session(username)

    def card_holder(self, name: str, kind: str, class_name: str) -> tuple[str, str]:
        """A card issued at the desk, its account waited for and given a first password."""
        patron_id = self.card(name=name, kind=kind, class_name=class_name)
        wait_until(
            lambda: self.get(f"/api/accounts/{patron_id}").status_code == 200,
            timeout=20,
            what=f"the account of card {patron_id}",
        )
        reset = self.post(f"/api/accounts/{patron_id}/password", {"password": PASSWORD})
        assert reset.status_code == 200, reset.text
        return patron_id, self.session(patron_id)


def start(runner_factory, config, **settings) -> People:
    api = start_gateway(runner_factory, config, *ALL_SERVICES, **settings)
    return People(api.base, api.tokens, api.runner)


# ------------------------------------------------------------------ signing in


def test_a_librarian_makes_an_assistant_who_signs_in_sees_herself_and_signs_out(people):
    token = people.staff("zhang-li", ["assistant"], campus="north")
    me = people.as_(token, "GET", "/api/me")
    assert me.status_code == 200
    assert me.json()["username"] == "zhang-li" and me.json()["roles"] == ["assistant"]
    assert me.json()["campus"] == "north" and "desk" in me.json()["rights"]

    answer = people.sign_in("ZHANG-LI")  # a username is not case-sensitive
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"token", "expires_at", "account"}
    assert body["account"]["name"] == "zhang-li 老师" and body["account"]["campus"] == "north"
    assert "password" not in answer.text and PASSWORD not in answer.text

    assert people.as_(token, "DELETE", "/api/sessions/current").status_code == 204
    ended = problem(people.as_(token, "GET", "/api/me"), 401)
    assert ended["code"] == "invalid_token"
    assert people.as_(body["token"], "GET", "/api/me").status_code == 200  # the other one lives


def test_unknown_user_and_wrong_password_get_the_same_401(people):
    people.staff("li-na", ["assistant"], campus="south")
    wrong = problem(people.sign_in("li-na", "not the password"), 401)
    nobody = problem(people.sign_in("nobody-here", "not the password"), 401)
    strip = ("correlation_id",)
    assert {k: v for k, v in wrong.items() if k not in strip} == {
        k: v for k, v in nobody.items() if k not in strip
    }
    assert wrong["code"] == "invalid_credentials"
    assert "li-na" not in wrong["detail"] and "nobody" not in nobody["detail"]


def test_ten_wrong_passwords_in_a_row_lock_the_account_for_a_while(people, config):
    people.staff("wang-fang", ["assistant"], campus="north")
    for _ in range(9):
        assert people.sign_in("wang-fang", "guess-guess").status_code == 401
    locked = problem(people.sign_in("wang-fang", "guess-guess"), 423)
    assert locked["code"] == "account_locked"
    assert problem(people.sign_in("wang-fang"), 423)["code"] == "account_locked"  # even right
    with ServiceRpcProxy("accounts", config, timeout=10) as accounts:
        events = accounts.events_since(0, 100)
    assert [e["data"]["failures"] for e in events if e["type"] == "AccountLocked"] == [10]
    # A librarian's reset unlocks it.
    reset = people.post("/api/accounts/wang-fang/password", {"password": "新的密码很长很长"})
    assert reset.status_code == 200, reset.text
    assert people.sign_in("wang-fang", "新的密码很长很长").status_code == 201


def test_a_right_password_in_between_starts_the_count_again(people):
    people.staff("zhao-lei", ["assistant"], campus="north")
    for _ in range(9):
        assert people.sign_in("zhao-lei", "guess-guess").status_code == 401
    assert people.sign_in("zhao-lei").status_code == 201
    for _ in range(9):
        assert people.sign_in("zhao-lei", "guess-guess").status_code == 401
    assert people.sign_in("zhao-lei").status_code == 201


def test_sign_ins_from_one_address_are_slowed_down(runner_factory, config):
    people = start(runner_factory, config, sign_ins_per_minute=3)
    people.staff("sun-mei", ["assistant"], campus="north")
    for _ in range(3):
        assert people.sign_in("sun-mei", "guess-guess").status_code == 401
    slowed = problem(people.sign_in("sun-mei"), 429)  # even the right password, for now
    assert slowed["code"] == "too_many_sign_ins"
    assert 1 <= int(people.sign_in("x", "y").headers["Retry-After"]) <= 61


def test_an_expired_session_and_a_disabled_account_answer_401_at_once(runner_factory, config):
    config = {**config, "ACCOUNTS": {**config.get("ACCOUNTS", {}), "session_seconds": 1}}
    people = start(runner_factory, config)
    token = people.staff("qian-yu", ["assistant"], campus="north")
    wait_until(
        lambda: people.as_(token, "GET", "/api/me").status_code == 401,
        timeout=10,
        what="the one-second session to expire",
    )
    assert problem(people.as_(token, "GET", "/api/me"), 401)["code"] == "invalid_token"


def test_disabling_an_account_ends_its_sessions_at_once(people):
    token = people.staff("zhou-jie", ["assistant"], campus="north")
    assert people.as_(token, "GET", "/api/me").status_code == 200
    disabled = people.post("/api/accounts/zhou-jie/disable", {"reason": "left the school"})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert problem(people.as_(token, "GET", "/api/me"), 401)["code"] == "invalid_token"
    assert people.sign_in("zhou-jie").status_code == 401
    assert people.post("/api/accounts/zhou-jie/enable", {}).status_code == 200
    assert people.sign_in("zhou-jie").status_code == 201


def test_changing_ones_password_and_a_librarians_reset(people):
    token = people.staff("wu-xia", ["assistant"], campus="north")
    other = people.session("wu-xia")
    wrong = people.as_(
        token,
        "POST",
        "/api/me/password",
        json={"current_password": "not it at all", "new_password": "另一个好密码123"},
    )
    assert problem(wrong, 403)["code"] == "wrong_password"
    short = people.as_(
        token, "POST", "/api/me/password", json={"current_password": PASSWORD, "new_password": "短"}
    )
    assert "new_password" in problem(short, 400)["errors"]
    changed = people.as_(
        token,
        "POST",
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "另一个好密码123"},
    )
    assert changed.status_code == 200, changed.text
    assert people.as_(token, "GET", "/api/me").status_code == 200  # this session goes on
    assert people.as_(other, "GET", "/api/me").status_code == 401  # the others end
    assert people.sign_in("wu-xia").status_code == 401
    assert people.sign_in("wu-xia", "另一个好密码123").status_code == 201

    assert people.post("/api/accounts/wu-xia/password", {"password": PASSWORD}).status_code == 200
    assert people.as_(token, "GET", "/api/me").status_code == 401  # a reset ends them all


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("short-pass", "1234567", "password"),
        ("王老师", PASSWORD, "username"),
        ("' OR 1=1 --", PASSWORD, "username"),
        ("x" * 100_000, PASSWORD, "username"),
        ("same-as-name", "same-as-name", None),
    ],
)
def test_bad_accounts_are_refused_cleanly(people, username, password, field):
    answer = people.post(
        "/api/accounts", {"username": username, "name": "某某", "roles": ["assistant"],
                          "campus": "north", "password": password}
    )  # fmt: skip
    if field is None:
        assert problem(answer, 409)["code"] == "password_is_username"
    else:
        body = problem(answer, 400)
        assert field in body["errors"]
        assert password not in answer.text


def test_odd_sign_ins_are_a_plain_401_or_a_400_never_a_fault(people):
    for username in ("王老师", "' OR 1=1 --", "a\u0301b", "x" * 64):
        assert problem(people.sign_in(username, "whatever"), 401)["code"] == "invalid_credentials"
    assert "username" in problem(people.sign_in("x" * 100_000, "whatever"), 400)["errors"]
    megabyte = requests.post(
        people.base + "/api/sessions",
        json={"username": "x" * 1_100_000, "password": "y"},
        timeout=30,
    )
    problem(megabyte, 413)
    assert "password" in problem(people.sign_in("someone", ""), 400)["errors"]


def test_without_dev_tokens_the_fixed_tokens_do_not_sign_anyone_in(
    runner_factory, config, monkeypatch
):
    monkeypatch.setenv("LIBRARY_DEV_TOKENS", "0")
    api = start_gateway(runner_factory, config, *ALL_SERVICES)
    assert problem(api.get("/api/books"), 401)["code"] == "invalid_token"


# ------------------------------------------------------------------ rights by person


def test_students_see_their_own_loans_and_nothing_of_anyone_elses(people):
    barcode = people.add_books(copies=1)[0]
    li_lei, li_lei_token = people.card_holder("李雷", "student", "G7-3")
    han_mei, han_mei_token = people.card_holder("韩梅梅", "student", "G7-3")
    assert people.lend(barcode, li_lei).status_code == 201

    mine = people.as_(li_lei_token, "GET", "/api/me/loans")
    assert mine.status_code == 200 and [loan["barcode"] for loan in mine.json()["loans"]] == [
        barcode
    ]
    assert people.as_(li_lei_token, "GET", f"/api/patrons/{li_lei}/loans").status_code == 200
    theirs = problem(people.as_(han_mei_token, "GET", f"/api/patrons/{li_lei}/loans"), 403)
    assert theirs["right"] == "patrons.read" and "李雷" not in theirs["detail"]
    problem(people.as_(han_mei_token, "GET", f"/api/cards/{li_lei}"), 403)
    problem(people.as_(han_mei_token, "GET", f"/api/patrons/{li_lei}/notes"), 403)
    problem(people.as_(han_mei_token, "GET", "/api/overdue"), 403)
    refused = problem(
        people.as_(han_mei_token, "POST", "/api/loans", json={"barcode": barcode,
                                                              "patron_id": han_mei}), 403
    )  # fmt: skip
    assert refused["right"] == "desk"
    # What a student may do: search, see the leaderboards (public), his own notes and target.
    assert people.as_(han_mei_token, "GET", "/api/books", params={"q": "红楼"}).status_code == 200
    assert requests.get(people.base + "/api/leaderboards/classes", timeout=10).status_code == 200
    assert people.as_(li_lei_token, "GET", "/api/me/notes").json() == {"notes": []}
    target = people.as_(li_lei_token, "GET", "/api/me/target")
    assert target.status_code == 200 and target.json()["patron_id"] == li_lei


def test_a_student_reserves_and_writes_notes_only_for_himself(people):
    li_lei, token = people.card_holder("李雷", "student", "G7-3")
    han_mei, _ = people.card_holder("韩梅梅", "student", "G7-3")
    isbn = people.get(f"/api/copies/{people.add_books(copies=1)[0]}").json()["isbn"]
    for_him = people.as_(token, "POST", "/api/reservations", json={"isbn": isbn})
    assert for_him.status_code == 201, for_him.text
    assert for_him.json()["patron_id"] == li_lei
    mine = people.as_(token, "GET", "/api/me/loans").json()
    assert [r["isbn"] for r in mine["reservations"]] == [isbn]
    for_her = people.as_(
        token, "POST", "/api/reservations", json={"isbn": isbn, "patron_id": han_mei}
    )
    assert problem(for_her, 403)["right"] == "desk"
    note = people.as_(
        token, "POST", "/api/notes", json={"patron_id": han_mei, "loan_id": "L1", "text": "好书"}
    )
    assert problem(note, 403)["right"] == "desk"


def test_a_class_teacher_sees_her_own_classes_only(people):
    teacher, token = people.card_holder("陈老师", "teacher", "G7-3")
    me = people.as_(token, "GET", "/api/me").json()
    assert me["roles"] == ["teacher"] and me["classes"] == ["G7-3"] and me["patron_id"] == teacher
    pupil, _ = people.card_holder("李雷", "student", "G7-3")
    other, _ = people.card_holder("王五", "student", "G8-1")

    assert people.as_(token, "GET", "/api/overdue").status_code == 200  # her one class
    assert people.as_(token, "GET", "/api/overdue", params={"class": "G7-3"}).status_code == 200
    not_hers = problem(people.as_(token, "GET", "/api/overdue", params={"class": "G8-1"}), 403)
    assert not_hers["right"] == "patrons.read"
    clearance = people.as_(token, "GET", "/api/clearance", params={"class": "G7-3"})
    assert clearance.status_code == 200, clearance.text
    problem(people.as_(token, "GET", "/api/clearance", params={"grade": "G7"}), 403)
    assert people.as_(token, "GET", f"/api/patrons/{pupil}/notes").status_code == 200
    problem(people.as_(token, "GET", f"/api/patrons/{other}/notes"), 403)
    problem(people.as_(token, "GET", f"/api/patrons/{other}/loans"), 403)

    # A librarian gives her a second class.
    assert people.post(f"/api/accounts/{teacher}/classes", {"classes": ["G7-3", "G8-1"]}).ok
    token = people.session(teacher)
    assert people.as_(token, "GET", f"/api/patrons/{other}/notes").status_code == 200
    problem(people.as_(token, "GET", "/api/overdue"), 403)  # two classes: name one


def test_an_assistant_works_the_desk_of_her_own_campus(runner_factory, config):
    people = start(runner_factory, config)
    south = people.staff("zheng-south", ["assistant"], campus="south")
    barcode = people.add_books(copies=1, campus="south")[0]
    patron = people.card(name="李雷")
    lent = people.as_(south, "POST", "/api/loans", json={"barcode": barcode, "patron_id": patron,
                                                         "on": TODAY.isoformat()})  # fmt: skip
    assert lent.status_code == 201, lent.text
    assert lent.json()["campus"] == "south"  # her desk, though the request named none
    problem(people.as_(south, "POST", "/api/books", json={}), 403)  # no cataloguing

    north_gateway = start(
        runner_factory, {**config, "CAMPUS": "north"}
    )  # the north desk's own gateway
    refused = problem(
        north_gateway.as_(south, "POST", "/api/returns", json={"barcode": barcode}), 403
    )
    assert refused["code"] == "other_campus_desk"


def test_an_operator_runs_the_system_and_sees_no_loans(people):
    token = people.staff("ops-liu", ["operator"])
    assert people.as_(token, "GET", "/api/status").status_code == 200
    assert problem(people.as_(token, "GET", "/api/overdue"), 403)["right"] == "patrons.read"
    assert problem(people.as_(token, "GET", "/api/registers"), 403)["right"] == "records.read"


# ------------------------------------------------------------------ who did what


def test_the_events_of_a_lend_name_the_assistant_who_made_it(people):
    token = people.staff("lin-desk", ["assistant"], campus="north")
    barcode = people.add_books(copies=1)[0]
    patron = people.card(name="李雷")
    lent = people.as_(
        token, "POST", "/api/loans",
        json={"barcode": barcode, "patron_id": patron, "campus": "north", "on": TODAY.isoformat()},
    )  # fmt: skip
    assert lent.status_code == 201, lent.text

    def lends():
        page = people.get("/api/events", params={"source": "circulation"}).json()["events"]
        return [e for e in page if e["type"] == "Lent"]

    wait_until(lambda: lends(), timeout=20, what="the lend in the replay feed")
    assert lends()[0]["actor"] == {"id": "lin-desk", "username": "lin-desk", "role": "assistant"}

    def audited():
        answer = people.get("/api/audit", params={"actor": "lin-desk"})
        assert answer.status_code == 200, answer.text
        return [e["type"] for e in answer.json()["events"]]

    wait_until(lambda: "Lent" in audited(), timeout=20, what="the lend in the audit")
    history = people.get(f"/api/copies/{barcode}/history")
    assert history.status_code == 200, history.text
    by_type = {e["type"]: e["actor"] for e in history.json()["events"]}
    assert by_type["Lent"]["username"] == "lin-desk"
    assert by_type["BookAdded"]["username"] == "dev-librarian"
    problem(people.as_(token, "GET", "/api/audit"), 403)  # the audit is the librarian's


def test_an_api_key_has_its_rights_and_stops_when_revoked(people, config):
    secret = "k." + secrets.token_urlsafe(32)
    with ServiceRpcProxy("accounts", config, timeout=10) as accounts:
        made = accounts.create_key(
            {"command_id": str(uuid.uuid4()), "name": "grades-sync", "rights": ["events.read"],
             "secret": secret}
        )  # fmt: skip
        assert made["rights"] == ["events.read"] and "secret" not in made
        assert people.as_(secret, "GET", "/api/events", params={"source": "catalog"}).ok
        personal = people.as_(secret, "GET", "/api/events", params={"source": "circulation"})
        assert problem(personal, 403)["right"] == "events.personal"
        problem(people.as_(secret, "GET", "/api/overdue"), 403)
        listed = people.get("/api/keys").json()["keys"]
        assert [k["name"] for k in listed] == ["grades-sync"]
        accounts.revoke_key({"command_id": str(uuid.uuid4()), "name": "grades-sync"})
    assert problem(people.as_(secret, "GET", "/api/events", params={"source": "catalog"}), 401)
