"""A librarian prints barcode labels and spine labels from the catalogue screen.

The form sits under the search (编目); a range of the school's barcodes comes
back as a PDF, read back with pdftotext; a range too large is refused in the
librarian's words, naming the limit; the form has no accessibility fault and no
sideways scroll on a phone.
"""

from __future__ import annotations

from tests.e2e.scenarios.browser import Person, checked, chromium, report, school
from tests.e2e.scenarios.steps_catalogue import go
from tests.e2e.scenarios.steps_labels import labels_form, print_labels, refused_labels
from tests.paper import pdf_pages, squeezed

facts = school()
codes = facts["barcodes"]
first, last = codes["红楼梦@north"][0], codes["从一到无穷大@south"][-1]
seen = {"first": first, "last": last}
with chromium() as browser:
    for size in ("desk", "phone"):
        tab = Person(browser, facts, size=size)
        page = go(tab.sign_in("librarian"), "/catalogue")
        labels_form(page)
        checked(page, "catalogue-labels")
        tab.close()

    tab = Person(browser, facts)
    page = go(tab.sign_in("librarian"), "/catalogue")
    name, pdf = print_labels(page, first, last)
    pages = pdf_pages(pdf)
    seen["barcode"] = {"file": name, "pages": len(pages), "text": squeezed(pages[0])}
    name, pdf = print_labels(page, first, codes["红楼梦@north"][-1], layout="a4-4x10",
                             kind="spine", start=39)  # fmt: skip
    seen["spine"] = {"file": name, "pages": [squeezed(text) for text in pdf_pages(pdf)]}
    seen["too_large"] = refused_labels(page, "C00000001", "C00100000")
    tab.close()
report(seen)
