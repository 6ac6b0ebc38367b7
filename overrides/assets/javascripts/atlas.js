/* AIGC Atlas: maths rendering and the language switcher. Runs on every page change,
   including instant navigation (Material's document$ observable). */

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

if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => renderMaths(body));
} else {
  document.addEventListener("DOMContentLoaded", () => renderMaths(document.body));
}
