"""The demo school from the brief, loaded through the services' own commands.

``python -m shared.cli.demo`` (also ``library demo`` and ``make demo``):
two campuses, 24 classes (G7-1 .. G9-8; classes 1-4 at north, 5-8 at south),
1,156 students, 80 teachers, a class book corner card per class and 36,800
copies spread over the Chinese Library Classification letters like a school
collection (literature first), about 1% of them reference books that are never
lent. Then the weeks before today are played at the desks: each class borrows
in its weekly slot and students borrow as they go, books come back on time,
late or damaged (and are repaired), corners take 50 books for the term, old
teacher research titles are weeded, readers write notes and teachers award
the best. Every command goes through the services' RPCs with a ``command_id``
derived from what it does, with dates set through ``on``.

It is idempotent: when the catalog already holds copies, nothing is loaded.
Either way it makes the demo's accounts (``demo_accounts``: a librarian, an
assistant per campus, an operator, two class teachers, two students) and a
self-check kiosk's (``demo_kiosks``: SIP2, docs/sip2.md), prints the sign-in page
and their passwords, and writes them to ``.run/demo.json``.

The order is chosen so the desks can start early: the copies they lend are
catalogued first, and circulation must know them before a loan; the back
catalogue (most of the 36,800 copies) goes in while the desks play, through a
client of its own. The archives' ledgers may still be counting when the demo
returns, and the dashboard shows how far behind each projection is meanwhile.
Where one service's next step rests on another having taken in its events (a
repair after circulation's damaged returns reached the catalog), the demo waits
for that service's checkpoint (``settle``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SEED = 2026
NAMESPACE = uuid.UUID("0b6f7f0e-5d3a-4d0c-9a8e-d3c1f0a1e2b7")
CAMPUSES = ("north", "south")
CLASSES = tuple(f"G{grade}-{number}" for grade in (7, 8, 9) for number in range(1, 9))
STUDENTS = 1_156
TEACHERS = 80
COPIES = 36_800
REFERENCE_COPIES = 368  # about 1%: dictionaries, encyclopaedias, atlases
CORNER_BOOKS = 50
WEEKS = 3
# catalog.add_titles takes at most this much per command.
TITLES_PER_COMMAND = 2_000
COPIES_PER_COMMAND = 10_000
WORKERS = 8
RETRIES = 3
RPC_TIMEOUT = 120.0
WAIT_TIMEOUT = 600.0
RUN_FILE = Path(__file__).resolve().parents[2] / ".run" / "demo.json"
PROMETHEUS = f"http://127.0.0.1:{os.environ.get('PROMETHEUS_PORT') or 9090}"  # its prometheus.sh
OFFLINE_FILE = RUN_FILE.parent / "offline-morning.csv"  # shared/cli/demo_offline.py

# Share of the collection by top-level class letter, in per cent.
LETTER_SHARE = {
    "I": 30, "K": 10, "G": 8, "H": 7, "O": 6, "T": 6, "J": 5, "Q": 5, "B": 4, "D": 4,
    "F": 3, "E": 2, "N": 2, "P": 2, "R": 2, "S": 1, "U": 1, "X": 1, "Z": 1,
}  # fmt: skip

# Per letter: classification codes with their subjects, for the back catalogue.
SUBJECTS: dict[str, list[tuple[str, str]]] = {
    "I": [("I247.5", "小说"), ("I266", "散文"), ("I287", "童话"), ("I226", "诗选"),
          ("I207.4", "小说研究"), ("I561.4", "英国小说"), ("I712.4", "美国小说")],
    "K": [("K20", "中国史"), ("K109", "世界史"), ("K820", "人物传记"), ("K928", "地理"),
          ("K87", "考古")],
    "G": [("G252", "阅读指导"), ("G634.3", "语文学习"), ("G634.6", "数学学习"),
          ("G808", "体育运动"), ("G894", "游戏与趣味")],
    "H": [("H12", "汉字"), ("H319.4", "英语读物"), ("H15", "写作"), ("H13", "语音")],
    "O": [("O1", "数学"), ("O4", "物理"), ("O6", "化学"), ("O13", "几何")],
    "T": [("TP3", "计算机"), ("TP312", "编程"), ("TB", "工程"), ("TN", "电子")],
    "J": [("J2", "绘画"), ("J6", "音乐"), ("J22", "国画"), ("J4", "摄影")],
    "Q": [("Q1", "生命科学"), ("Q95", "动物"), ("Q94", "植物"), ("Q96", "昆虫")],
    "B": [("B2", "中国哲学"), ("B84", "心理学"), ("B82", "伦理学")],
    "D": [("D6", "中国社会"), ("D92", "法律常识"), ("D8", "国际关系")],
    "F": [("F0", "经济学"), ("F12", "中国经济"), ("F27", "企业")],
    "E": [("E2", "军事史"), ("E92", "武器")],
    "N": [("N49", "科普"), ("N09", "科学史")],
    "P": [("P1", "天文"), ("P5", "地质"), ("P4", "气象")],
    "R": [("R1", "卫生"), ("R161", "健康"), ("R2", "中医")],
    "S": [("S6", "园艺"), ("S8", "畜牧")],
    "U": [("U2", "铁路"), ("U46", "汽车")],
    "X": [("X1", "环境"), ("X2", "生态")],
    "Z": [("Z228", "少儿百科"), ("Z1", "丛书")],
}  # fmt: skip
FORMS = ("入门", "趣谈", "十讲", "简史", "探秘", "精选", "百问", "故事", "概论", "读本", "新编",
         "图说", "漫谈", "导读", "手册", "之旅")  # fmt: skip

# What the desks lend most: (title, author, classification, price).
FAVOURITES = [
    ("骆驼祥子", "老舍", "I246.5", "26.00"),
    ("朝花夕拾", "鲁迅", "I210.4", "18.00"),
    ("西游记", "吴承恩", "I242.4", "45.00"),
    ("红楼梦", "曹雪芹", "I242.4", "59.70"),
    ("水浒传", "施耐庵", "I242.4", "49.00"),
    ("三国演义", "罗贯中", "I242.4", "46.00"),
    ("城南旧事", "林海音", "I287.5", "22.00"),
    ("草房子", "曹文轩", "I287.45", "25.00"),
    ("平凡的世界", "路遥", "I247.5", "108.00"),
    ("活着", "余华", "I247.57", "28.00"),
    ("围城", "钱锺书", "I246.5", "39.00"),
    ("边城", "沈从文", "I246.5", "24.00"),
    ("呐喊", "鲁迅", "I210.6", "20.00"),
    ("家", "巴金", "I246.5", "32.00"),
    ("繁星·春水", "冰心", "I226", "16.00"),
    ("海底两万里", "儒勒·凡尔纳", "I565.44", "35.00"),
    ("简·爱", "夏洛蒂·勃朗特", "I561.44", "36.00"),
    ("钢铁是怎样炼成的", "奥斯特洛夫斯基", "I512.55", "38.00"),
    ("名人传", "罗曼·罗兰", "K815.6", "27.00"),
    ("昆虫记", "法布尔", "Q96-49", "34.00"),
    ("格列佛游记", "斯威夫特", "I561.44", "29.00"),
    ("鲁滨逊漂流记", "笛福", "I561.44", "28.00"),
    ("汤姆·索亚历险记", "马克·吐温", "I712.44", "26.00"),
    ("小王子", "圣埃克苏佩里", "I565.88", "20.00"),
    ("三体", "刘慈欣", "I247.55", "58.00"),
    ("白鹿原", "陈忠实", "I247.5", "49.00"),
    ("红岩", "罗广斌", "I247.5", "35.00"),
    ("红星照耀中国", "埃德加·斯诺", "K264", "39.00"),
    ("傅雷家书", "傅雷", "I266.5", "32.00"),
    ("儒林外史", "吴敬梓", "I242.4", "36.00"),
    ("世说新语", "刘义庆", "I242.1", "30.00"),
    ("唐诗三百首", "蘅塘退士", "I222.742", "26.00"),
    ("宋词三百首", "上彊村民", "I222.844", "26.00"),
    ("人间词话", "王国维", "I207.23", "18.00"),
    ("窗边的小豆豆", "黑柳彻子", "I313.88", "25.00"),
    ("夏洛的网", "E·B·怀特", "I712.85", "22.00"),
    ("老人与海", "海明威", "I712.45", "19.00"),
    ("我与地坛", "史铁生", "I267", "29.00"),
    ("文化苦旅", "余秋雨", "I267", "36.00"),
    ("林海雪原", "曲波", "I247.5", "42.00"),
    ("青春之歌", "杨沫", "I247.5", "39.00"),
    ("茶馆", "老舍", "I234", "18.00"),
    ("上下五千年", "林汉达", "K209", "68.00"),
    ("万历十五年", "黄仁宇", "K248.3", "32.00"),
    ("明朝那些事儿", "当年明月", "K248.09", "45.00"),
    ("苏东坡传", "林语堂", "K825.6", "38.00"),
    ("人类简史", "尤瓦尔·赫拉利", "K02", "68.00"),
    ("时间简史", "霍金", "P159", "45.00"),
    ("万物简史", "比尔·布莱森", "N49", "56.00"),
    ("十万个为什么", "韩启德", "Z228.1", "35.00"),
    ("物种起源", "达尔文", "Q111.2", "48.00"),
    ("寂静的春天", "蕾切尔·卡森", "X171.1", "32.00"),
    ("从一到无穷大", "伽莫夫", "O1-49", "39.00"),
    ("数学之美", "吴军", "O1-49", "59.00"),
    ("趣味物理学", "别莱利曼", "O4-49", "30.00"),
    ("给孩子的诗", "北岛", "I12", "38.00"),
    ("哈利·波特与魔法石", "J.K.罗琳", "I561.84", "30.00"),
    ("猫武士", "艾琳·亨特", "I561.84", "25.00"),
    ("米小圈上学记", "北猫", "I287.7", "20.00"),
    ("狼王梦", "沈石溪", "I287.45", "24.00"),
]

REFERENCE = [
    ("现代汉语词典（第7版）", "中国社会科学院语言研究所", "H316", "109.90"),
    ("新华字典（第12版）", "中国社会科学院语言研究所", "H163", "39.90"),
    ("古汉语常用字字典", "王力", "H109.2-61", "49.90"),
    ("牛津高阶英汉双解词典", "霍恩比", "H316", "169.00"),
    ("成语大词典", "商务印书馆辞书研究中心", "H136.31-61", "98.00"),
    ("中国大百科全书（精粹本）", "中国大百科全书出版社", "Z227", "298.00"),
    ("辞海（缩印本）", "夏征农", "Z32", "268.00"),
    ("中国历史地图集", "谭其骧", "K992.6", "198.00"),
    ("世界地图册", "中国地图出版社", "K991", "58.00"),
    ("唐诗鉴赏辞典", "萧涤非", "I207.22-61", "128.00"),
    ("中国统计年鉴", "国家统计局", "Z52", "320.00"),
    ("少年儿童百科全书", "林崇德", "Z228.1", "168.00"),
]  # fmt: skip

RESEARCH_TOPICS = (
    "语文教学研究",
    "数学教学研究",
    "英语教学法",
    "班主任工作",
    "物理实验教学",
    "化学教学设计",
    "历史教学参考",
    "地理教学研究",
    "教育心理学讲义",
    "中考复习指导",
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"  # noqa: E501
GIVEN = "子涵宇轩浩然欣怡梓萱一诺思远雨桐佳琪俊杰明轩诗涵语嫣天佑博文嘉怡晨曦若汐锦程梦瑶"
NOTES = (
    "读完《{title}》，我最难忘的是主人公在困境中没有放弃。",
    "《{title}》让我明白了坚持的意义，也让我想起了自己的家人。",
    "这本《{title}》的语言很美，我摘抄了很多句子。",
    "《{title}》里的故事让我思考：如果是我，会怎么选择？",
    "我推荐同学们读《{title}》，它打开了我看世界的一扇窗。",
)
AWARDS = ("月度优秀读书笔记", "班级阅读之星", "最佳读后感")


# ---------------------------------------------------------------- the school


@dataclass(frozen=True)
class Card:
    patron_id: str
    name: str
    kind: str
    class_name: str | None
    campus: str


@dataclass
class Title:
    isbn: str
    title: str
    author: str
    classification: str
    campus: str
    shelf: str
    price: str
    copies: int
    reference_only: bool = False
    acquisition: str = "purchase"
    role: str = "backlist"  # favourite, youth, reference, research, backlist

    def payload(self) -> dict[str, Any]:
        return {
            "isbn": self.isbn,
            "title": self.title,
            "author": self.author,
            "classification": self.classification,
            "campus": self.campus,
            "shelf": self.shelf,
            "price": self.price,
            "acquisition": self.acquisition,
            "reference_only": self.reference_only,
            "copies": self.copies,
        }


def campus_of(class_name: str) -> str:
    """Classes 1-4 of each grade are taught at north, 5-8 at south."""
    return "north" if int(class_name.rsplit("-", 1)[1]) <= 4 else "south"


def roster(rng: random.Random) -> list[Card]:
    """Every card of the school: students by class, teachers, one corner per class."""
    cards: list[Card] = []
    per_class, extra = divmod(STUDENTS, len(CLASSES))
    for index, class_name in enumerate(CLASSES):
        grade, number = class_name[1:].split("-")
        for seat in range(1, per_class + (1 if index < extra else 0) + 1):
            cards.append(
                Card(
                    f"S{grade}{int(number):02d}{seat:02d}",
                    _name(rng),
                    "student",
                    class_name,
                    campus_of(class_name),
                )
            )
    for number in range(1, TEACHERS + 1):
        campus = CAMPUSES[number % 2]
        cards.append(Card(f"T{number:03d}", f"{_name(rng)}老师", "teacher", None, campus))
    for class_name in CLASSES:
        cards.append(
            Card(
                f"K-{class_name}",
                f"{class_name}班图书角",
                "class_corner",
                class_name,
                campus_of(class_name),
            )
        )
    return cards


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def roster_csv(cards: Iterable[Card]) -> str:
    lines = ["name,kind,class,campus,patron_id"]
    lines += [f"{c.name},{c.kind},{c.class_name or ''},{c.campus},{c.patron_id}" for c in cards]
    return "\n".join(lines) + "\n"


def isbn(number: int) -> str:
    """A valid ISBN-13 in the Chinese group (978-7-...)."""
    body = f"9787{number:08d}"
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3]}-{body[4:7]}-{body[7:12]}-{check}"


def catalogue(rng: random.Random) -> list[Title]:
    """36,800 copies: favourites and youth fiction first (what the desks lend), then the
    reference books and old teacher research, then the back catalogue by letter."""
    titles: list[Title] = []
    numbers = iter(range(53_000_000, 99_999_999, 7))
    held = defaultdict(int)

    def add(title: str, author: str, code: str, price: str, copies: int, **extra: Any) -> None:
        letter = code[0]
        number = isbn(next(numbers))
        for campus, count in _split(copies, extra.pop("campuses", CAMPUSES)):
            if count:
                shelf = f"{campus[0].upper()}-{letter}-{rng.randint(1, 40):02d}"
                titles.append(
                    Title(number, title, author, code, campus, shelf, price, count, **extra)
                )
                held[letter] += count

    for title, author, code, price in FAVOURITES:
        add(title, author, code, price, rng.randint(14, 20), role="favourite")
    for _ in range(160):
        code, subject = rng.choice(SUBJECTS["I"][:3])
        add(f"{subject}·{_phrase(rng)}", _name(rng), code, _price(rng, 18, 38), 10, role="youth")
    reference_left = REFERENCE_COPIES
    for index, (title, author, code, price) in enumerate(REFERENCE):
        copies = reference_left // (len(REFERENCE) - index)
        reference_left -= copies
        add(title, author, code, price, copies, reference_only=True, role="reference")
    for year in range(1996, 2006):
        for topic in RESEARCH_TOPICS:
            add(f"{topic}（{year}年版）", "人民教育出版社", "G63", _price(rng, 12, 25), 2,
                role="research", acquisition=rng.choice(("purchase", "donation")))  # fmt: skip
    targets = _letter_targets()
    for letter, target in targets.items():
        while held[letter] < target:
            code, subject = rng.choice(SUBJECTS[letter])
            copies = min(target - held[letter], rng.choice((2, 3, 4, 4, 5, 6)))
            add(f"{subject}{rng.choice(FORMS)}", _name(rng), code, _price(rng, 15, 80),
                copies, campuses=(rng.choice(CAMPUSES),))  # fmt: skip
    return titles


def _split(copies: int, campuses: tuple[str, ...]) -> list[tuple[str, int]]:
    if len(campuses) == 1:
        return [(campuses[0], copies)]
    north = (copies + 1) // 2
    return [("north", north), ("south", copies - north)]


def _letter_targets() -> dict[str, int]:
    """Copies per letter so that the letters add up to exactly ``COPIES``."""
    targets = {letter: COPIES * share // 100 for letter, share in LETTER_SHARE.items()}
    targets["I"] += COPIES - sum(targets.values())
    return targets


def _phrase(rng: random.Random) -> str:
    first = ("星空", "少年", "夏天", "风筝", "小河", "山谷", "灯塔", "雪原", "森林", "海边")
    second = ("的约定", "的秘密", "来信", "奇遇", "的歌", "之夜", "的守望者", "的远方")
    return rng.choice(first) + rng.choice(second)


def _price(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high)}.{rng.choice((0, 5, 8))}0"


def commands_of(titles: list[Title]) -> list[list[Title]]:
    """Titles grouped into add_titles commands (at most 2,000 titles, 10,000 copies)."""
    commands: list[list[Title]] = []
    copies = 0
    for title in titles:
        if (
            not commands
            or len(commands[-1]) >= TITLES_PER_COMMAND
            or copies + title.copies > COPIES_PER_COMMAND
        ):
            commands.append([])
            copies = 0
        commands[-1].append(title)
        copies += title.copies
    return commands


# ---------------------------------------------------------------- the weeks before today


@dataclass
class Loan:
    barcode: str
    patron: Card
    lent_on: date
    due_on: date
    loan_id: str = ""
    title: str = ""


@dataclass
class Desk:
    """What the simulation knows: shelves per campus, who holds what, what comes back when."""

    rng: random.Random
    shelf: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    holding: dict[str, list[Loan]] = field(default_factory=lambda: defaultdict(list))
    coming_back: dict[date, list[tuple[Loan, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    damaged: list[str] = field(default_factory=list)
    returned: list[tuple[Loan, date]] = field(default_factory=list)

    def take(self, campus: str) -> str | None:
        shelf = self.shelf[campus]
        if not shelf:
            return None
        return shelf.pop(self.rng.randrange(len(shelf)))

    def can_borrow(self, card: Card, today: date, limit: int) -> int:
        loans = self.holding[card.patron_id]
        if any(loan.due_on < today for loan in loans):
            return 0
        return max(0, limit - len(loans))


def school_days(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).weekday() < 5
    ]


def plan_returns(desk: Desk, loan: Loan, today: date, teacher: bool) -> None:
    """When (and in what state) a loan comes back: mostly on time, some late, a few not yet."""
    roll = desk.rng.random()
    if teacher:
        back = loan.lent_on + timedelta(days=desk.rng.randint(7, 28))
    elif roll < 0.78:
        back = loan.lent_on + timedelta(days=desk.rng.randint(4, 13))
    elif roll < 0.92:
        back = loan.lent_on + timedelta(days=desk.rng.randint(15, 24))  # late
    else:
        return  # still out; overdue once the due date passes
    condition = "damaged" if desk.rng.random() < 0.03 else "ok"
    desk.coming_back[back].append((loan, condition))


# ---------------------------------------------------------------- talking to the services


class Failure(Exception):
    """Raised when the demo cannot go on; the message says why."""


class Desks:
    """A few RPC clients side by side (nameko's standalone proxy serves one call at a time)."""

    def __init__(self, config: dict[str, Any], size: int = WORKERS) -> None:
        import eventlet

        from shared.cli.rpc import Services

        self.clients = eventlet.queue.LightQueue()
        self.opened = []
        for _ in range(size):
            client = Services(config, timeout=RPC_TIMEOUT).__enter__()
            self.opened.append(client)
            self.clients.put(client)
        self.pool = eventlet.GreenPool(size)
        self.refused: dict[str, int] = defaultdict(int)

    def close(self) -> None:
        for client in self.opened:
            client.__exit__(None, None, None)

    def call(self, service: str, method: str, *args: Any) -> Any:
        """Call; a busy service (no database connection free, no answer in time) is asked
        again: every command carries its ``command_id``, so a retry is never done twice."""
        from shared.cli.errors import ServiceDown, Unreachable

        for attempt in range(1, RETRIES + 1):
            client = self.clients.get()
            try:
                return client.call(service, method, *args)
            except (ServiceDown, Unreachable):
                if attempt == RETRIES:
                    raise
                time.sleep(attempt)
            finally:
                self.clients.put(client)
        raise AssertionError("unreachable")

    def attempt(self, service: str, method: str, payload: dict[str, Any]) -> Any:
        """Call; a refusal is counted (by its reason) and answered as None."""
        from shared.cli.rpc import RemoteFailure

        try:
            return self.call(service, method, payload)
        except RemoteFailure as failure:
            if failure.exc_type not in ("Refused", "NotFound"):
                raise
            code = failure.exc_args[1] if len(failure.exc_args) > 1 else failure.exc_type
            self.refused[f"{method}: {code}"] += 1
            return None

    def each(
        self, calls: Iterable[tuple[str, str, dict[str, Any]]]
    ) -> list[Any]:  # (service, method, payload)
        return list(self.pool.imap(lambda call: self.attempt(*call), calls))


def command_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(map(str, parts))))


def checkpoint(desks: Desks, service: str, source: str) -> int:
    """The lowest checkpoint of ``service``'s projections on ``source``."""
    rows = [r for r in desks.call(service, "projection_lag") if r["source"] == source]
    return min((r["checkpoint"] for r in rows), default=0)


def wait_for(
    desks: Desks, service: str, source: str, position: int, say: Callable[[str], None]
) -> None:
    """Until every projection of ``service`` has taken in ``source`` up to ``position``."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    last = -1
    while (seen := checkpoint(desks, service, source)) < position:
        if time.monotonic() > deadline:
            raise Failure(f"{service} is still at {seen} of {source}'s {position} events")
        if seen // 2000 != last // 2000:
            say(f"  {service} has taken in {seen} of {position} {source} events")
        last = seen
        time.sleep(0.5)


# ---------------------------------------------------------------- loading


@dataclass
class Loaded:
    cards: int = 0
    copies: int = 0
    loans: int = 0
    returns: int = 0
    notes: int = 0
    awards: int = 0
    repaired: int = 0
    weeded: int = 0
    transferred: int = 0
    barcodes: dict[str, list[str]] = field(default_factory=dict)  # isbn+campus -> barcodes


def add_titles(desks: Desks, titles: list[Title], index: int, loaded: Loaded) -> None:
    payload = {"titles": [t.payload() for t in titles], "command_id": command_id("titles", index)}
    answer = desks.call("catalog", "add_titles", payload)
    # Barcodes come back grouped by ISBN (a title at both campuses is one group), in order.
    barcodes = iter([barcode for added in answer["titles"] for barcode in added["barcodes"]])
    for title in titles:
        loaded.barcodes[f"{title.isbn}/{title.campus}"] = [
            next(barcodes) for _ in range(title.copies)
        ]
        loaded.copies += title.copies


def add_backlist(
    config: dict[str, Any], commands: list[list[Title]], first: int, loaded: Loaded
) -> None:
    """Catalogue the back catalogue through a client of its own."""
    desks = Desks(config, size=1)
    try:
        for index, command in enumerate(commands, start=first):
            add_titles(desks, command, index, loaded)
    finally:
        desks.close()


def load(config: dict[str, Any], say: Callable[[str], None]) -> Loaded:
    """Load the whole demo school; ``say`` reports progress."""
    import eventlet

    from shared.runtime.school_calendar import calendar_from_config, week_of

    rng = random.Random(SEED)
    calendar = calendar_from_config(config)
    today = calendar.today()
    cards = roster(rng)
    titles = catalogue(rng)
    loaded = Loaded()
    desks = Desks(config)
    started = time.monotonic()

    def step(text: str) -> None:
        say(f"[{time.monotonic() - started:5.1f}s] {text}")

    def settle(follower: str, source: str) -> None:
        """Wait until ``follower`` has taken in all of ``source``'s events so far."""
        wait_for(desks, follower, source, desks.call(source, "health")["head"], step)

    try:
        lent = commands_of([t for t in titles if t.role in ("favourite", "youth")])
        kept = commands_of([t for t in titles if t.role in ("reference", "research")])
        backlist = commands_of([t for t in titles if t.role == "backlist"])
        for index, command in enumerate(lent + kept):
            add_titles(desks, command, index, loaded)
        step(f"catalogued {loaded.copies} copies: what the desks lend, reference, research")
        weed_and_transfer(desks, titles, loaded)
        step(f"weeded {loaded.weeded} outdated research copies, moved {loaded.transferred}")
        settle("circulation", "catalog")
        step("circulation knows those copies")

        answer = desks.call(
            "circulation",
            "import_cards",
            {"csv": roster_csv(cards), "command_id": command_id("roster")},
        )
        loaded.cards = len(answer["issued"])
        if answer["errors"]:
            raise Failure(f"the roster was refused in part: {answer['errors'][:3]}")
        step(f"issued {loaded.cards} cards (students, teachers, class corners)")
        # The back catalogue goes in while the desks play: no desk lends it, and
        # the catalog's bulk writes and circulation's desk work overlap.
        shelving = eventlet.spawn(add_backlist, config, backlist, len(lent) + len(kept), loaded)
        desk = Desk(random.Random(SEED + 1))
        for title in titles:
            if title.role in ("favourite", "youth"):
                desk.shelf[title.campus] += loaded.barcodes[f"{title.isbn}/{title.campus}"]
        term = calendar.term_of(today)
        first_day = week_of(today - timedelta(weeks=WEEKS))[0]
        corners_on = max(term.starts, first_day - timedelta(weeks=6)) if term else first_day
        lend_corners(desks, desk, cards, corners_on, loaded)
        step(f"class corners borrowed {loaded.loans} books on {corners_on}")
        for day in school_days(first_day, today):
            play_day(desks, desk, cards, day, today, loaded)
        step(f"played {WEEKS} weeks at the desks: {loaded.loans} loans, {loaded.returns} returns")

        settle("catalog", "circulation")
        repair(desks, desk, loaded)
        step(f"repaired {loaded.repaired} of {len(desk.damaged)} copies returned damaged")
        settle("activities", "circulation")
        write_notes(desks, desk, cards, today, loaded)
        step(f"{loaded.notes} reading notes, {loaded.awards} awarded")
        shelving.wait()
        step(f"catalogued the back catalogue: {loaded.copies} copies in all")
    finally:
        desks.close()
    if desks.refused:
        summary = ", ".join(f"{n} {reason}" for reason, n in sorted(desks.refused.items()))
        step(f"refused along the way (as at a real desk): {summary}")
    return loaded


def weed_and_transfer(desks: Desks, titles: list[Title], loaded: Loaded) -> None:
    """Weed the oldest teacher research copies (outdated); rebalance a few reference books."""
    calls = []
    for title in titles:
        if title.role == "research" and "（199" in title.title:
            for barcode in loaded.barcodes[f"{title.isbn}/{title.campus}"]:
                payload = {
                    "barcode": barcode,
                    "reason": "outdated",
                    "note": "教学大纲已修订，旧版教研资料剔旧",
                    "command_id": command_id("weed", barcode),
                }
                calls.append(("catalog", "weed", payload))
    loaded.weeded = sum(1 for answer in desks.each(calls) if answer)
    moves = []
    for title in titles:
        if title.role == "reference" and title.campus == "north":
            barcode = loaded.barcodes[f"{title.isbn}/{title.campus}"][-1]
            payload = {
                "barcode": barcode,
                "to_campus": "south",
                "shelf": f"S-{title.classification[0]}-01",
                "command_id": command_id("transfer", barcode),
            }
            moves.append(("catalog", "transfer", payload))
    loaded.transferred = sum(1 for answer in desks.each(moves) if answer)


def lend_corners(desks: Desks, desk: Desk, cards: list[Card], on: date, loaded: Loaded) -> None:
    calls = []
    for card in cards:
        if card.kind == "class_corner":
            barcodes = [b for b in (desk.take(card.campus) for _ in range(CORNER_BOOKS)) if b]
            payload = {
                "patron_id": card.patron_id,
                "barcodes": barcodes,
                "campus": card.campus,
                "on": on.isoformat(),
                "command_id": command_id("corner", card.patron_id, on),
            }
            calls.append(("circulation", "lend_many", payload))
    for answer in desks.each(calls):
        loaded.loans += len(answer["loans"]) if answer else 0


def play_day(
    desks: Desks, desk: Desk, cards: list[Card], day: date, today: date, loaded: Loaded
) -> None:
    """One school day: what is due back comes back, then the day's borrowing."""
    rng = desk.rng
    back = desk.coming_back.pop(day, []) if day <= today else []
    returns = []
    for loan, condition in back:
        payload = {
            "barcode": loan.barcode,
            "campus": loan.patron.campus,
            "condition": condition,
            "on": day.isoformat(),
            "command_id": command_id("return", loan.barcode, loan.lent_on),
        }
        returns.append(("circulation", "return_copy", payload))
    for (loan, condition), answer in zip(back, desks.each(returns), strict=True):
        if answer is None:
            continue
        loaded.returns += 1
        desk.holding[loan.patron.patron_id].remove(loan)
        desk.returned.append((loan, day))
        if condition == "damaged":
            desk.damaged.append(loan.barcode)
        else:
            desk.shelf[loan.patron.campus].append(loan.barcode)

    slot = [c for i, c in enumerate(CLASSES) if i % 5 == day.weekday()]
    visits: dict[str, tuple[Card, list[str]]] = {}
    for card in cards:
        if card.kind == "student":
            in_slot = card.class_name in slot
            wants = 0
            if in_slot and rng.random() < 0.22:
                wants = 2 if rng.random() < 0.2 else 1
            elif rng.random() < 0.006:
                wants = 1
            limit = 3
        elif card.kind == "teacher":
            wants = rng.choice((1, 2)) if rng.random() < 0.03 else 0
            limit = 10
        else:
            continue
        wants = min(wants, desk.can_borrow(card, day, limit))
        barcodes = [b for b in (desk.take(card.campus) for _ in range(wants)) if b]
        if barcodes:
            visits[card.patron_id] = (card, barcodes)
    calls = []
    for card, barcodes in visits.values():
        payload = {
            "patron_id": card.patron_id,
            "barcodes": barcodes,
            "campus": card.campus,
            "on": day.isoformat(),
            "command_id": command_id("lend", card.patron_id, day),
        }
        calls.append(("circulation", "lend_many", payload))
    for (card, barcodes), answer in zip(visits.values(), desks.each(calls), strict=True):
        lent = {loan["barcode"]: loan for loan in (answer or {}).get("loans", [])}
        for barcode in barcodes:
            if barcode not in lent:
                desk.shelf[card.campus].append(barcode)
                continue
            record = lent[barcode]
            due_on = date.fromisoformat(record["due_on"])
            loan = Loan(barcode, card, day, due_on, record["loan_id"], record["title"])
            desk.holding[card.patron_id].append(loan)
            loaded.loans += 1
            plan_returns(desk, loan, today, card.kind == "teacher")


def write_notes(desks: Desks, desk: Desk, cards: list[Card], today: date, loaded: Loaded) -> None:
    """About a third of the books students brought back get a note; teachers award some."""
    rng = random.Random(SEED + 2)
    teachers = {
        campus: [c for c in cards if c.kind == "teacher" and c.campus == campus]
        for campus in CAMPUSES
    }
    notes, awards = [], []
    for loan, returned_on in desk.returned:
        if loan.patron.kind != "student" or rng.random() > 0.35:
            continue
        text = rng.choice(NOTES).format(title=loan.title)
        payload = {
            "patron_id": loan.patron.patron_id,
            "loan_id": loan.loan_id,
            "text": text,
            "word_count": rng.randint(300, 1200),
            "on": returned_on.isoformat(),
            "command_id": command_id("note", loan.loan_id),
        }
        notes.append(("activities", "submit_note", payload))
    for answer in desks.each(notes):
        if not answer:
            continue
        loaded.notes += 1
        if rng.random() < 0.12:
            on = min(today, date.fromisoformat(answer["submitted_on"]) + timedelta(days=3))
            payload = {
                "note_id": answer["note_id"],
                "award": rng.choice(AWARDS),
                "awarded_by": rng.choice(teachers[answer["campus"] or "north"]).patron_id,
                "on": on.isoformat(),
                "command_id": command_id("award", answer["note_id"]),
            }
            awards.append(("activities", "award_note", payload))
    loaded.awards = sum(1 for answer in desks.each(awards) if answer)


def repair(desks: Desks, desk: Desk, loaded: Loaded) -> None:
    """Two in three damaged copies come back from repair; the rest are still in the workshop."""
    calls = [
        (
            "catalog",
            "repair",
            {"barcode": barcode, "note": "重新装订", "command_id": command_id("repair", barcode)},
        )
        for index, barcode in enumerate(desk.damaged)
        if index % 3 != 2
    ]
    loaded.repaired = sum(1 for answer in desks.each(calls) if answer)


# ---------------------------------------------------------------- entry point


def dashboard(config: dict[str, Any]) -> dict[str, Any]:
    """The gateway's address and the dashboard's (where people sign in)."""
    from shared.cli.status import web_address

    url = web_address(config)
    return {"url": url, "dashboard": f"{url}/"}


def catalog_copies(config: dict[str, Any]) -> int:
    from shared.cli.rpc import Services

    with Services(config, timeout=30) as rpc:
        return int(rpc.call("catalog", "search", {"limit": 1})["total"])


def main(argv: list[str] | None = None) -> int:
    """Load the demo school (unless the catalog holds copies already) and print the URL."""
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    from shared.cli import demo_accounts, demo_kiosks, demo_offline, demo_systems
    from shared.cli.errors import CliError
    from shared.cli.rpc import Services
    from shared.config import load_config
    from shared.runtime.metrics import running_targets

    parser = argparse.ArgumentParser(description="load the demo school and print its dashboard")
    parser.parse_args(argv)
    config = load_config()

    def say(text: str) -> None:
        print(f"[demo] {text}", flush=True)

    started = time.monotonic()
    try:
        held = catalog_copies(config)
        if held:
            say(f"the catalog already holds {held} copies: not loading the demo school again")
        else:
            loaded = load(config, say)
            say(
                f"loaded in {time.monotonic() - started:.0f}s: {loaded.cards} cards, "
                f"{loaded.copies} copies, {loaded.loans} loans, {loaded.returns} returns, "
                f"{loaded.notes} notes"
            )
    except (CliError, Failure) as error:
        print(f"[demo] ERROR: {getattr(error, 'message', error)}", file=sys.stderr)
        return getattr(error, "exit_code", 1)
    info = dashboard(config)
    kept = json.loads(RUN_FILE.read_text()) if RUN_FILE.exists() else {}
    try:
        with Services(config, timeout=RPC_TIMEOUT) as rpc:
            info["accounts"] = demo_accounts.ensure(rpc.call, kept.get("accounts") or {}, say)
            info["sip2"] = demo_kiosks.ensure(rpc.call, config, kept.get("sip2") or {}, say)
            north = [card.patron_id for card in roster(random.Random(SEED))
                     if card.kind == "student" and card.campus == demo_offline.CAMPUS]  # fmt: skip
            info["offline_file"] = demo_offline.write(rpc.call, config, OFFLINE_FILE, north, COPIES)
        info["systems"] = demo_systems.ensure(config, kept.get("systems") or {}, say, RPC_TIMEOUT)
    except (CliError, Failure) as error:
        print(f"[demo] ERROR: {getattr(error, 'message', error)}", file=sys.stderr)
        return getattr(error, "exit_code", 1)
    info["mail"] = {"smtp": "127.0.0.1:8025", "mailbox": ".run/mail"}  # infra/mailbox.sh
    info["metrics"] = running_targets(config)  # each process's /metrics (docs/operations.md)
    info["prometheus"] = PROMETHEUS  # infra/monitoring/prometheus.sh
    RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
    RUN_FILE.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    say(f"sign in at {info['dashboard']} as:")
    for key, person in info["accounts"].items():
        say(f"  {key:<16} {person['username']:<12} password {person['password']}")
    kiosk = info["sip2"]
    say(f"a self-check kiosk logs in to SIP2 at {kiosk['host']}:{kiosk['port']} as "
        f"{kiosk['username']} password {kiosk['password']}, location {kiosk['location']}: "
        "docs/sip2.md")  # fmt: skip
    say(f"an offline morning at the north desk, to upload on 离线借还 (offline desk): "
        f"{OFFLINE_FILE.relative_to(OFFLINE_FILE.parents[1])}: docs/offline.md")  # fmt: skip
    say("the school system student-records follows the events: docs/integrating.md")
    say(f"Prometheus at {PROMETHEUS} scrapes the /metrics of {len(info['metrics'])} service "
        "processes, with the alert rules of infra/monitoring/: docs/operations.md")  # fmt: skip
    say(f"(also in {RUN_FILE.relative_to(RUN_FILE.parents[1])}; the archives' ledgers may "
        "take a few more minutes to count every copy: the dashboard shows the lag)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
