"""The site under docs/: built by Sphinx, then opened in a real headless Chromium.

The build is the one command CI runs (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``); Sphinx rebuilds only what changed, so after CI's own build it costs seconds.
Every page is loaded from disk in Debian's Chromium, driven by Selenium through Debian's
chromedriver, and must render: its maths typeset by MathJax (no MathJax error), its images
loaded (natural width above 0), every internal link pointing at a page of the site and, with a
``#fragment``, at an element of that page. A screenshot of the front page is written to
``docs/_build/front-page.png``.

Skipped, saying why, where Sphinx, MyST-NB, Selenium, Chromium or chromedriver is missing
(``pip install ".[docs]"``; ``apt-get install chromium chromium-driver``).
"""

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
HTML = BUILD / "html"
SCREENSHOT = BUILD / "front-page.png"
BUILD_COMMAND = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                 str(DOCS), str(HTML)]
CHROMIUM = ("chromium", "/usr/bin/chromium")
CHROMEDRIVER = ("chromedriver", "/usr/bin/chromedriver")
PAGE_SECONDS = 30  # for MathJax and the images of the longest page

pytestmark = pytest.mark.docs


def _which(*names):
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.fixture(scope="module")
def site():
    """Build the site (incrementally), then return the folder of its HTML."""
    for module, why in [("sphinx", "Sphinx"), ("myst_nb", "MyST-NB"), ("numpydoc", "numpydoc"),
                        ("mathjax", "django-static-mathjax")]:
        pytest.importorskip(module, reason=f'{why} is not installed: pip install ".[docs]"')
    result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"the site's build failed:\n{result.stdout}\n{result.stderr}"
    return HTML


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason='Selenium is not installed: pip install ".[docs]"')
    chromium, chromedriver = _which(*CHROMIUM), _which(*CHROMEDRIVER)
    if not (chromium and chromedriver):
        pytest.skip("Chromium or chromedriver is not installed: "
                    "apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--allow-file-access-from-files"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=chromedriver))
    driver.set_page_load_timeout(PAGE_SECONDS)
    yield driver
    driver.quit()


def pages(html):
    """The site's own pages: every HTML file but Sphinx's generated index and search pages."""
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(path for path in html.rglob("*.html")
                  if path.name not in skip and not path.relative_to(html).parts[0].startswith("_"))


class _Anchors(HTMLParser):
    """The ids and names of an HTML file's elements: where a #fragment may point."""

    def __init__(self):
        super().__init__()
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        self.anchors.update(value for key, value in attrs if key in ("id", "name") and value)


def anchors(path, cache={}):
    if path not in cache:
        parser = _Anchors()
        parser.feed(path.read_text(encoding="utf-8"))
        cache[path] = parser.anchors
    return cache[path]


def wait_until(driver, script, what):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, PAGE_SECONDS).until(lambda driver: driver.execute_script(script))
    except TimeoutException:
        pytest.fail(f"{driver.current_url}: {what} within {PAGE_SECONDS} s")


def test_the_site_has_the_course_the_api_and_the_getting_started(site):
    names = {path.relative_to(site).as_posix() for path in pages(site)}
    assert {"index.html", "course.html", "api/layers.html", "api/gradcheck.html",
            "api/solver.html"} <= names
    assert {f"notebooks/{path.stem}.html" for path in (ROOT / "notebooks").glob("*.ipynb")} <= names
    front = (site / "index.html").read_text(encoding="utf-8")
    assert 'id="quick-start"' in front and "pytest" in front  # the README's getting started
    layers_page = (site / "api" / "layers.html").read_text(encoding="utf-8")
    assert 'id="layers.affine_forward"' in layers_page and "Parameters" in layers_page


def test_every_page_renders_in_chromium(browser, site):  # no build where no browser
    checked = {"maths": 0, "images": 0, "links": 0}
    broken = []
    for page in pages(site):
        browser.get(page.as_uri())
        wait_until(browser, "return document.readyState === 'complete'", "the page did not load")
        source = page.read_text(encoding="utf-8")
        if "\\(" in source or "\\[" in source:  # Sphinx hands MathJax its maths in these
            wait_until(browser, "return document.querySelectorAll('mjx-container').length > 0",
                       "MathJax typeset no maths")
            wait_until(browser, "return !document.querySelector('.MathJax_Processing')",
                       "MathJax did not finish")
            errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length")
            assert errors == 0, f"{page.name}: MathJax could not typeset {errors} formulas"
            untypeset = browser.execute_script(
                "return Array.from(document.querySelectorAll('.math'))"
                ".filter(e => !e.querySelector('mjx-container')).length")
            assert untypeset == 0, f"{page.name}: {untypeset} formulas left as TeX source"
            checked["maths"] += 1
        wait_until(browser, "return Array.from(document.images).every(i => i.complete)",
                   "the images did not finish loading")
        unloaded = browser.execute_script(
            "return Array.from(document.images).filter(i => i.naturalWidth === 0)"
            ".map(i => i.getAttribute('src'))")
        assert not unloaded, f"{page.name}: images that did not load: {unloaded}"
        checked["images"] += browser.execute_script("return document.images.length")
        for href in browser.execute_script("return Array.from(document.links).map(a => a.href)"):
            url = urlsplit(href)
            if url.scheme != "file":
                continue  # the site links out to the lecture, numpy, ...: not ours to check
            target = Path(unquote(url.path))
            checked["links"] += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {href} (no such file)")
            elif url.fragment and target.suffix == ".html" and url.fragment not in anchors(target):
                broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
    assert checked["maths"] >= 6 and checked["images"] >= 20 and checked["links"] >= 100, checked


def test_front_page_screenshot(browser, site):
    browser.get((site / "index.html").as_uri())
    wait_until(browser, "return document.readyState === 'complete'", "the page did not load")
    assert browser.save_screenshot(str(SCREENSHOT)), "Chromium wrote no screenshot"
    assert SCREENSHOT.stat().st_size > 10_000, "the screenshot is all but empty"
