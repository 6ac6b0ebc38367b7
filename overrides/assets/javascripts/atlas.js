/* AIGC Atlas: maths rendering, the language switcher, keyboard access to what scrolls
   and, under `make serve`, the catalog's problems. Runs on every page change, including
   instant navigation (Material's document$ observable). */

/* Render only what arithmatex marked as maths, never a stray "$" in catalog text. */
function renderMaths(root) {
  if (typeof katex === "undefined") return;
  root.querySelectorAll(".arithmatex").forEach((element) => {
    if (element.dataset.atlasRendered) return;
    const tex = element.textContent.trim();
    const display = tex.startsWith("\\[");
    const body = tex.replace(/^\\[\[(]/, "").replace(/\\[\])]$/, "");
    try {
      katex.render(body, element, { displayMode: display, throwOnError: false });
      element.dataset.atlasRendered = "1";
    } catch (error) {
      console.error("KaTeX:", error);
    }
  });
}

/* The English site is the root, the Chinese one lives under zh/. Switching language keeps
   the reader on the same page, and is a full page load (each language has its own search). */
function languageRoots() {
  const scope = new URL(typeof __md_scope !== "undefined" ? __md_scope : ".", location.href);
  const zh = /\/zh\/$/.test(scope.pathname);
  const en = zh ? new URL("../", scope) : scope;
  return { current: zh ? "zh" : "en", scope, en, zh: zh ? scope : new URL("zh/", scope) };
}

function onLanguageClick(event) {
  const link = event.target.closest("a[hreflang]");
  if (!link || !link.closest(".md-select")) return;
  const roots = languageRoots();
  const target = link.getAttribute("hreflang");
  if (!(target in roots) || target === roots.current) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  const path = location.pathname.startsWith(roots.scope.pathname)
    ? location.pathname.slice(roots.scope.pathname.length) : "";
  location.assign(new URL(path + location.hash, roots[target]).href);
}
document.addEventListener("click", onLanguageClick, true);

/* Keyboard access to what scrolls sideways (WCAG 2.1.1): a long display formula or a wide
   table is focusable while it overflows, so the arrow keys scroll it, and is then named as a
   group. Material does the same for code blocks. A ResizeObserver re-checks on every change
   of size (the window, the explorer's rows); tables are wrapped by Material's script and the
   explorer's table comes later, so new wrappers are looked for as they are added. */
/* A display formula scrolls in its own box on a wide screen (atlas.css) and in Material's
   div.arithmatex, which narrows the formula to its content, on a narrow one. */
const SCROLLERS = ".katex-display, div.arithmatex, .md-typeset__scrollwrap";
const SCROLL_NAMES = {
  en: { formula: "Formula (scrolls sideways)", table: "Table (scrolls sideways)" },
  zh: { formula: "公式（可横向滚动）", table: "表格（可横向滚动）" },
};

function markScrollable(element) {
  const names = SCROLL_NAMES[document.documentElement.lang.startsWith("zh") ? "zh" : "en"];
  const scrolls = element.scrollWidth > element.clientWidth + 1;
  if (scrolls === (element.dataset.atlasScrolls === "1")) return;
  if (scrolls) {
    element.dataset.atlasScrolls = "1";
    element.tabIndex = 0;
    element.setAttribute("role", "group");
    element.setAttribute("aria-label",
      element.matches(".katex-display, .arithmatex") ? names.formula : names.table);
  } else {
    delete element.dataset.atlasScrolls;
    for (const name of ["tabindex", "role", "aria-label"]) element.removeAttribute(name);
  }
}

const resized = typeof ResizeObserver === "undefined" ? null
  : new ResizeObserver((entries) => entries.forEach(({ target }) => markScrollable(target)));

const watched = new Set();

function watch(element) {
  if (watched.has(element)) return;
  watched.add(element);
  resized.observe(element);
}

function watchScrollables(root) {
  if (root.nodeType !== Node.ELEMENT_NODE) return;
  /* Material's copy button sits in a <nav> per code block: a toolbar, not a landmark
     (axe-core landmark-unique: many unnamed navigation landmarks). */
  if (root.matches("nav.md-code__nav")) root.setAttribute("role", "none");
  root.querySelectorAll("nav.md-code__nav").forEach((nav) => nav.setAttribute("role", "none"));
  if (!resized) return;
  if (root.matches(SCROLLERS)) watch(root);
  root.querySelectorAll(SCROLLERS).forEach(watch);
}

/* A formula widens when its fonts arrive, inside a box that keeps its size. */
function recheckScrollables() {
  for (const element of watched) {
    if (element.isConnected) markScrollable(element);
    else { watched.delete(element); resized.unobserve(element); }
  }
}
if (resized && document.fonts) {
  document.fonts.addEventListener("loadingdone", recheckScrollables);
  document.fonts.ready.then(recheckScrollables);
}

const added = typeof MutationObserver === "undefined" ? null
  : new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach(watchScrollables);
  });

/* Material's sections with an index page (navigation.indexes) label their sub-navigation
   with the arrow beside the link, which has no text: every such <nav> has an empty name
   (axe-core landmark-unique). The arrow takes the section's name. */
function nameSections(root) {
  root.querySelectorAll(".md-nav__container > label.md-nav__link[id]").forEach((label) => {
    const link = label.parentElement.querySelector("a.md-nav__link");
    if (!label.textContent.trim() && link && !label.hasAttribute("aria-label")) {
      label.setAttribute("aria-label", link.textContent.trim());
    }
  });
}

/* Under `make serve` a catalog with problems does not stop the server: the build keeps the
   entries without problems and writes the list to atlas-status.json, and every page shows
   it until the files are fixed. Only served pages carry the atlas-serve marker. */
const PROBLEM_TEXT = {
  en: (count) => `The catalog has ${count} problem(s). The site shows the entries without ` +
    "problems until these are fixed (run `atlas validate` for the same list):",
  zh: (count) => `目录中有 ${count} 处问题。在修正之前，网站只显示没有问题的条目` +
    "（运行 `atlas validate` 可看到同样的列表）：",
};

function showCatalogProblems() {
  if (!document.querySelector('meta[name="atlas-serve"]')) return;
  const roots = languageRoots();
  fetch(new URL("atlas-status.json", roots.en), { cache: "no-store" })
    .then((response) => (response.ok ? response.json() : { problems: [] }))
    .catch(() => ({ problems: [] }))
    .then(({ problems }) => {
      document.querySelectorAll(".atlas-problems").forEach((old) => old.remove());
      if (!problems || !problems.length) return;
      const box = document.createElement("div");
      box.className = "atlas-problems";
      box.setAttribute("role", "alert");
      const intro = document.createElement("p");
      intro.textContent = PROBLEM_TEXT[roots.current](problems.length);
      const list = document.createElement("ul");
      for (const problem of problems) {
        const item = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = problem;  /* text, never markup: it quotes contributor files */
        item.append(code);
        list.append(item);
      }
      box.append(intro, list);
      (document.querySelector(".md-content__inner") || document.body).prepend(box);
    });
}

function onPage(body) {
  renderMaths(body);
  nameSections(body);
  watchScrollables(body);
  const content = body.querySelector(".md-content");
  if (added && content) added.observe(content, { childList: true, subtree: true });
  showCatalogProblems();
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => onPage(body));
} else {
  document.addEventListener("DOMContentLoaded", () => onPage(document.body));
}
