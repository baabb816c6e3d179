"""Printed forms read back as a person would: the Chinese is there, one sheet per page."""

from shared.paper.pdf import Sheet, render
from shared.paper.words import Words
from tests.paper import pdf_pages as pages
from tests.paper import squeezed


def test_each_sheet_starts_a_page_with_its_chinese_words():
    sheets = [
        Sheet(
            title="初一(3)班 逾期图书通知",
            lines=["班主任：李老师"],
            columns=["学生", "书名", "条码", "应还日期", "逾期天数"],
            rows=[["王小明", "红楼梦 <上>", "N000123", "2026-11-20", "17"]],
            numeric=frozenset({4}),
        ),
        Sheet(title="初一(4)班 逾期图书通知", empty="本班没有逾期图书。"),
    ]
    printed = pages(render(sheets, Words("zh-CN"), "逾期图书通知", "2026-12-07 10:00"))
    assert len(printed) == 2
    assert "王小明" in printed[0] and "红楼梦 <上>" in printed[0]
    assert "第1页" in squeezed(printed[0])
    assert "本班没有逾期图书。" in printed[1] and "打印时间：2026-12-0710:00" in squeezed(
        printed[1]
    )


def test_a_long_table_runs_over_pages_and_repeats_its_header():
    rows = [[f"学生{n}", f"书{n}"] for n in range(120)]
    sheet = Sheet(title="名单", columns=["学生", "书名"], rows=rows)
    printed = pages(render([sheet], Words("en"), "List", "2026-12-07"))
    assert len(printed) > 1
    assert all("学生" in page and "书名" in page for page in printed)
    assert "Page 2" in printed[1]
