"""Visit every page a user can reach and check what a person would see on it.

`crawl()` starts from a logged-in page's home and follows the same-origin links of every page it
opens (breadth first), so a page added by any app is visited as soon as a menu, list or card
links to it. Links that leave the pages (log out, language switch, the admin site, downloads)
are not followed. Lists and detail pages repeat: one page per URL shape (digits and query values
aside) is enough, plus any `extra` paths the caller names (a case in each state, say).

On each page `PAGE_CHECKS` (run in the page) reports:
- the page scrolls sideways (`document.documentElement.scrollWidth > innerWidth`);
- an element spills out of its card, or a text is cut with an ellipsis;
- no title of its own (the <title> is only the site's name);
- not exactly one menu item highlighted (pages with a menu);
- visible text (and placeholders, option labels, tooltips) holding a code a clerk cannot read:
  an ASCII word (`gender_mismatch`, `school_days`, `ok`, `Order`) outside the allowed proper
  nouns, a term code (`2026-autumn`), Django's empty choice (`---------`). Text marked
  `translate="no"` (user names, file names: data, not wording) is left out;
- a date input whose value is not ISO, or a date field that is a plain text box;
- a file input for photos that a phone cannot fill from its camera (no `image/*`);
- browser console errors (a CSP violation, a missing favicon) and failed requests.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlparse

# Not pages: they end the session, switch the language, belong to support staff, or download.
SKIP = re.compile(
    r"^/(accounts/logout|i18n|admin)/"
    r"|\.(xlsx|pdf|png|jpg|zip|ico)$"
    r"|/(file|template|errors|export|evidence|attachments|reveal|remove|delete|withdraw)(/|\.xlsx|$)"
    r"|[?&]format=(xlsx|csv)"
)
# A code on a page: an ASCII word (snake_case, an English status such as "ok"), a term code
# (2026-autumn), a key:value code (vm:14629), Django's empty choice (---------). Chinese pages
# hold no ASCII words but the proper nouns below.
CODE = re.compile(r"(?<![\w./@-])(?:\d{4}-(?:spring|autumn)|[A-Za-z][A-Za-z0-9]*(?:[_:][A-Za-z0-9]+)*)(?![\w-])"
                  r"|-{6,}")
# Proper nouns and the technical words a clerk meets as they are.
ALLOWED_TOKENS: frozenset[str] = frozenset({
    "English",  # the language switch
    "Excel", "xlsx", "PDF", "JPG", "PNG", "IP", "ID", "TOTP", "ms", "KB", "MB", "CSV",
    "Microsoft", "Google", "Authenticator", "FreeOTP",  # authenticator apps (second factor)
})

PAGE_CHECKS = r"""() => {
  const out = {problems: [], texts: []};
  const iw = window.innerWidth, sw = document.documentElement.scrollWidth;
  if (sw > iw) out.problems.push(`page scrolls sideways: ${sw}px wide in a ${iw}px window`);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
      ` "${(el.innerText || el.value || '').trim().slice(0, 30)}"`;
  const shown = (el) => el.checkVisibility({checkOpacity: false, checkVisibilityCSS: true});
  const scrolls = (el, stop) => {
    for (let a = el.parentElement; a && a !== stop; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll') return true;
    }
    return false;
  };
  for (const card of document.querySelectorAll('.card')) {
    if (!shown(card)) continue;
    const cr = card.getBoundingClientRect();
    for (const el of card.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || !shown(el)) continue;
      if ((r.right > cr.right + 1 || r.left < cr.left - 1) && !scrolls(el, card)) {
        out.problems.push(`${name(el)} spills out of its card (${Math.round(r.right - cr.right)}px)`);
        break;
      }
    }
  }
  for (const el of document.querySelectorAll('body *')) {
    if (getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1 && shown(el))
      out.problems.push(`${name(el)} is cut off`);
  }
  for (const el of document.querySelectorAll('input[type=date]')) {
    if (el.getAttribute('value') && !/^\d{4}-\d{2}-\d{2}$/.test(el.getAttribute('value')))
      out.problems.push(`date input ${el.name} holds "${el.getAttribute('value')}", not an ISO date`);
  }
  for (const el of document.querySelectorAll('input:not([type]), input[type=text]')) {
    if (/^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}/.test(el.value) || /(date|_on)$/.test(el.name))
      out.problems.push(`${el.name} is a date typed as text (not <input type=date>)`);
  }
  for (const el of document.querySelectorAll('input[type=file][accept]')) {
    const accept = el.accept.toLowerCase();
    if (/image|\.jpe?g|\.png/.test(accept) && !accept.includes('image/*'))
      out.problems.push(`file input ${el.name} takes photos but not from the camera (accept="${el.accept}", no image/*)`);
  }
  const title = document.title.trim();
  if (!title || title.startsWith('·')) out.problems.push(`no page title: "${title}"`);
  const menu = document.querySelector('#sidebar');
  if (menu) {
    const active = menu.querySelectorAll('.nav-link.active');
    if (active.length !== 1)
      out.problems.push(`${active.length} menu items highlighted: ${[...active].map(a => a.innerText.trim()).join(', ')}`);
  }
  // Visible wording: text nodes of shown elements, outside translate="no".
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.data.trim() || !el || el.closest('[translate="no"], script, style, template')) continue;
    if (el.closest('select') ? !shown(el.closest('select')) : !shown(el)) continue;
    out.texts.push(n.data.trim());
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], input[type=submit][value]')) {
    if (el.closest('[translate="no"]') || !shown(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.texts.push(el.getAttribute(a));
    if (el.type === 'submit') out.texts.push(el.value);
  }
  return out;
}"""


@dataclass
class PageReport:
    path: str
    status: int | None
    problems: list[str] = field(default_factory=list)


def shape(path: str) -> str:
    """A URL's shape: its path with numbers aside, without the query (filters, sorting and
    pages of one list are one page; one detail page of each kind)."""
    return re.sub(r"\d+", "N", urlparse(path).path)


def codes_in(texts: list[str], allowed=frozenset()) -> list[str]:
    found = {m.group(0) for t in texts for m in CODE.finditer(t)}
    return sorted(found - ALLOWED_TOKENS - set(allowed))


def crawl(page, base_url: str, *, start: str = "/", extra: tuple[str, ...] = (), limit: int = 400,
          allowed=frozenset(), screenshot=None) -> list[PageReport]:
    """Visit `start`, `extra` and every page linked from them (one per shape); report each page's
    problems. `page` is a logged-in Playwright page; `allowed` are more words the pages may show
    (the users' names: data, not wording). `screenshot(page, path)` is called on each page."""
    origin = urlparse(base_url).netloc
    console: list[str] = []
    page.on("console", lambda m: console.append(f"console {m.type}: {m.text[:200]}")
            if m.type == "error" else None)
    page.on("requestfailed", lambda r: console.append(f"request failed: {r.url} {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "") else None)
    page.on("response", lambda r: console.append(f"{r.status} for {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    queue = deque([start, *extra])
    forced = set(extra)
    seen_paths: set[str] = set()
    seen_shapes: set[str] = set()
    reports: list[PageReport] = []
    while queue and len(reports) < limit:
        path = queue.popleft()
        if path in seen_paths or SKIP.search(path):
            continue
        seen_paths.add(path)
        if shape(path) in seen_shapes and path not in forced:
            continue
        seen_shapes.add(shape(path))
        console.clear()
        try:
            response = page.goto(base_url + path, wait_until="load")
        except Exception as exc:  # a link that downloads a file is not a page
            if "Download is starting" in str(exc):
                continue
            raise
        if response is not None and "text/html" not in (response.headers.get("content-type") or ""):
            continue
        # Fragments htmx loads after the page (hx-trigger="load") are part of what a person sees.
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        report = PageReport(path, response.status if response else None)
        if report.status != 200:
            report.problems.append(f"HTTP {report.status}")
        result = page.evaluate(PAGE_CHECKS)
        report.problems += result["problems"]
        codes = codes_in(result["texts"], allowed)
        if codes:
            report.problems.append(f"codes in the text: {', '.join(codes)}")
        report.problems += console
        reports.append(report)
        if screenshot is not None:
            screenshot(page, path)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))"):
            url = urlparse(urljoin(base_url + path, href))
            if url.netloc != origin or url.scheme not in ("http", "https"):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in seen_paths:
                queue.append(target)
    return reports
