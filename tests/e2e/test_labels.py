"""Labels through the screens: a librarian asks for a range of labels and gets a PDF."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_a_librarian_prints_barcode_and_spine_labels_for_a_range_of_copies(scenario):
    seen = scenario("labels")

    barcode = seen["barcode"]
    assert barcode["file"] == f"labels-barcode-{seen['first']}-{seen['last']}.pdf"
    assert barcode["pages"] == 1  # 12 copies on a sheet of 24
    text = barcode["text"]
    assert seen["first"] in text and seen["last"] in text
    for title in ("红楼梦", "活着", "上下五千年", "现代汉语词典", "从一到无穷大"):
        assert title in text, title
    assert "北区" in text and "南区" in text

    spine = seen["spine"]
    assert spine["file"].startswith("labels-spine-")
    assert len(spine["pages"]) == 2  # from the 39th of 40 labels: 2, then 1 on the next
    assert "I242.4" in spine["pages"][0] and "I242.4" in spine["pages"][1]

    assert seen["too_large"] == "一次最多打印 2000 个条码的标签，请缩小范围"
