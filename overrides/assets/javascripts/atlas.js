/* AIGC Atlas: maths rendering, the language switcher and, under `make serve`, the
   catalog's problems. Runs on every page change, including instant navigation (Material's
   document$ observable). */

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
  showCatalogProblems();
}

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => onPage(body));
} else {
  document.addEventListener("DOMContentLoaded", () => onPage(document.body));
}
