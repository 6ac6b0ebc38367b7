/* AIGC Atlas catalog explorer: facets, text filter and sorting over a static JSON file.

   The page's HTML already lists every entry (what readers without JavaScript get); this
   script fetches catalog/explorer.json, replaces the list with a table and keeps the
   filters in the address (?kind=book,paper&level=beginner&text=gan&sort=-year), so a link
   reproduces the view. The text filter is "text", not "q": Material opens its own search
   for ?q=. Nothing runs on a server.

   Staying responsive at 10,000 entries: each entry's searchable text is lower-cased once;
   one pass over the entries computes both the matches and every facet's counts (an entry
   that fails exactly one facet still counts for that facet's options); only the first
   PAGE_SIZE rows go into the DOM ("show more" adds more); the address is updated after
   typing pauses. Runs on every page change of Material's instant navigation (document$).

   The facets, their values, their labels and their order, and the table's columns (with
   stars and last activity when catalog/metadata.json exists) come from explorer.json,
   which the site builds from the catalog's schema: this script keeps no vocabulary and no
   column list of its own. */
(function () {
  "use strict";

  const PAGE_SIZE = 100;
  const dataCache = new Map();

  function loadData(url) {
    if (!dataCache.has(url)) {
      dataCache.set(url, fetch(url).then((response) => {
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        return response.json();
      }).catch((error) => { dataCache.delete(url); throw error; }));
    }
    return dataCache.get(url);
  }

  function element(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  /* ---- State <-> address ------------------------------------------------------------- */

  function emptyState(data) {
    const state = { q: "", facets: {}, topic: "", from: null, to: null, sort: "title",
                    desc: false };
    for (const facet of data.facets) state.facets[facet.id] = new Set();
    return state;
  }

  function readState(search, data) {
    const params = new URLSearchParams(search);
    const state = emptyState(data);
    state.q = (params.get("text") || "").slice(0, 200);
    for (const facet of data.facets) {
      const allowed = new Set(facet.values.map((v) => v.value));
      for (const value of (params.get(facet.id) || "").split(",")) {
        if (allowed.has(value)) state.facets[facet.id].add(value);
      }
    }
    const topic = params.get("topic") || "";
    if (data.topics.some((t) => t.id === topic)) state.topic = topic;
    for (const bound of ["from", "to"]) {
      const year = parseInt(params.get(bound) || "", 10);
      state[bound] = Number.isFinite(year) ? year : null;
    }
    const sort = params.get("sort") || "title";
    state.desc = sort.startsWith("-");
    state.sort = sort.replace(/^-/, "") in data._columns ? sort.replace(/^-/, "") : "title";
    return state;
  }

  function writeState(state) {
    const params = new URLSearchParams();
    if (state.q.trim()) params.set("text", state.q.trim());
    for (const [facet, chosen] of Object.entries(state.facets)) {
      if (chosen.size) params.set(facet, [...chosen].sort().join(","));
    }
    if (state.topic) params.set("topic", state.topic);
    if (state.from !== null) params.set("from", String(state.from));
    if (state.to !== null) params.set("to", String(state.to));
    if (state.sort !== "title" || state.desc) params.set("sort", (state.desc ? "-" : "") + state.sort);
    const query = params.toString().replace(/%2C/g, ",");
    return location.pathname + (query ? "?" + query : "") + location.hash;
  }

  /* ---- Filtering --------------------------------------------------------------------- */

  function prepare(data) {
    /* Per record key: the label of each value, and the values' order for sorting. */
    data._labels = {};
    data._order = {};
    data._columns = Object.fromEntries(data.columns.map((column) => [column.id, column]));
    for (const facet of data.facets) {
      data._labels[facet.key] = Object.fromEntries(facet.values.map((v) => [v.value, v.label]));
      data._order[facet.key] = facet.values.map((v) => v.value);
    }
    for (const entry of data.entries) {
      entry._text = [entry.id, entry.t, entry.tt, entry.a, entry.s, entry.tg.join(" ")]
        .join("\n").toLowerCase();
      entry._title = entry.t.toLowerCase();
    }
  }

  /* One pass: the matching entries, and per facet the counts of its options among the
     entries that pass every other filter. */
  /* An entry's values for a facet, as a list (none when the entry has no such field). */
  function valuesOf(entry, facet) {
    const value = entry[facet.key];
    if (value === undefined || value === null) return [];
    return facet.many ? value : [value];
  }

  function evaluate(data, state) {
    const terms = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    const counts = {};
    for (const facet of data.facets) counts[facet.id] = Object.create(null);
    const matches = [];
    const active = data.facets.filter((facet) => state.facets[facet.id].size);
    for (const entry of data.entries) {
      if (terms.length && !terms.every((term) => entry._text.includes(term))) continue;
      if (state.topic && !entry.p.includes(state.topic)) continue;
      if (state.from !== null && (entry.y === null || entry.y < state.from)) continue;
      if (state.to !== null && (entry.y === null || entry.y > state.to)) continue;
      let failed = null;
      let failures = 0;
      for (const facet of active) {
        const chosen = state.facets[facet.id];
        if (!valuesOf(entry, facet).some((value) => chosen.has(value))) {
          failures += 1; failed = facet; if (failures > 1) break;
        }
      }
      if (failures > 1) continue;
      for (const facet of data.facets) {
        if (failures === 1 && facet !== failed) continue;
        const count = counts[facet.id];
        for (const value of valuesOf(entry, facet)) count[value] = (count[value] || 0) + 1;
      }
      if (failures === 0) matches.push(entry);
    }
    const key = data._columns[state.sort].key;
    const rank = data._order[key];
    const direction = state.desc ? -1 : 1;
    matches.sort((a, b) => {
      let x = key === "t" ? a._title : a[key];
      let y = key === "t" ? b._title : b[key];
      if (rank) { x = rank.indexOf(x); y = rank.indexOf(y); }
      if (x === null || x === undefined) return y === null || y === undefined ? tie(a, b) : 1;
      if (y === null || y === undefined) return -1;  /* entries without a value go last */
      if (x < y) return -direction;
      if (x > y) return direction;
      return tie(a, b);
    });
    return { matches, counts };
  }

  function tie(a, b) {
    return a._title < b._title ? -1 : a._title > b._title ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  /* ---- The widget -------------------------------------------------------------------- */

  function build(root, data) {
    const labels = data.labels;
    const base = new URL(root.dataset.root || "./", location.href);
    let state = readState(location.search, data);
    let limit = PAGE_SIZE;
    let addressTimer = null;
    const valueLabel = (key, value) => (data._labels[key] && data._labels[key][value]) || value;

    const search = element("input", { type: "search", class: "atlas-explorer__q",
      placeholder: labels.placeholder, "aria-label": labels.filter, value: state.q });
    search.value = state.q;
    const facetBoxes = {};
    const fieldsets = data.facets.map((facet) => {
      const legend = element("legend", { text: facet.label });
      const options = facet.values.map(({ value, label }) => {
        const box = element("input", { type: "checkbox", value, name: facet.id });
        box.checked = state.facets[facet.id].has(value);
        const count = element("span", { class: "atlas-explorer__count" });
        facetBoxes[`${facet.id}:${value}`] = { box, count };
        return element("label", { class: "atlas-explorer__option" }, box, " ", label, " ", count);
      });
      return element("fieldset", { class: "atlas-explorer__facet", dataset: { facet: facet.id } },
        legend, ...options);
    });
    const topicSelect = element("select", { class: "atlas-explorer__topic", "aria-label": labels.topic },
      element("option", { value: "", text: labels.all_topics }),
      ...data.topics.map((t) => element("option", { value: t.id,
        text: "\u2003".repeat(t.depth) + t.name })));
    topicSelect.value = state.topic;
    const yearInput = (bound) => {
      const input = element("input", { type: "number", class: "atlas-explorer__year",
        dataset: { bound }, inputmode: "numeric", min: "1900", max: "2100",
        "aria-label": `${labels.year} ${labels[bound]}` });
      input.value = state[bound] === null ? "" : String(state[bound]);
      return input;
    };
    const fromInput = yearInput("from");
    const toInput = yearInput("to");
    const reset = element("button", { type: "button", class: "md-button atlas-explorer__reset",
      text: labels.reset });
    const controls = element("div", { class: "atlas-explorer__controls" },
      element("div", { class: "atlas-explorer__row" }, search),
      element("div", { class: "atlas-explorer__row" },
        element("label", {}, labels.topic, " ", topicSelect),
        element("label", {}, labels.year, " ", labels.from, " ", fromInput, " ", labels.to, " ",
          toInput),
        reset),
      element("div", { class: "atlas-explorer__facets" }, ...fieldsets));

    const status = element("p", { class: "atlas-explorer__status", role: "status",
      "aria-live": "polite" });
    const headers = {};
    const headRow = element("tr", {}, ...data.columns.map((column) => {
      const button = element("button", { type: "button", class: "atlas-explorer__sort",
        dataset: { sort: column.id }, text: column.label });
      headers[column.id] = element("th", { scope: "col",
        class: column.type === "number" ? "atlas-explorer__number" : null }, button);
      return headers[column.id];
    }));
    const body = element("tbody");
    const table = element("table", { class: "atlas-explorer__table" },
      element("thead", {}, headRow), body);
    const more = element("button", { type: "button", class: "md-button atlas-explorer__more" });
    const wrapper = element("div", { class: "md-typeset__scrollwrap" },
      element("div", { class: "md-typeset__table" }, table));
    const fetched = data.fetched ? element("p", { class: "atlas-explorer__fetched",
      text: labels.fetched.replace("{dates}", data.fetched) }) : null;
    const numbers = new Intl.NumberFormat(data.lang === "zh" ? "zh-CN" : "en");

    root.replaceChildren(...[controls, status, fetched, wrapper, more].filter(Boolean));
    root.classList.add("atlas-explorer--ready");

    function cell(column, entry) {
      const value = entry[column.key];
      if (column.type === "title") {
        const href = new URL(data.entryPath.replace("{id}", entry.id), base).href;
        const title = element("td", {}, element("a", { href, text: entry.t }));
        if (entry.tt) title.append(" ", element("span", { class: "atlas-explorer__tt", text: entry.tt }));
        if (entry.a) title.append(element("br"), element("small", { text: entry.a }));
        return title;
      }
      if (value === undefined || value === null) return element("td", { text: "" });
      if (column.type === "label") return element("td", { text: valueLabel(column.key, value) });
      if (column.type === "number") {
        return element("td", { class: "atlas-explorer__number", text: numbers.format(value) });
      }
      return element("td", { text: String(value) });
    }

    function row(entry) {
      return element("tr", { dataset: { id: entry.id } },
        ...data.columns.map((column) => cell(column, entry)));
    }

    function render() {
      const started = performance.now();
      const { matches, counts } = evaluate(data, state);
      for (const facet of data.facets) {
        for (const { value } of facet.values) {
          facetBoxes[`${facet.id}:${value}`].count.textContent = `(${counts[facet.id][value] || 0})`;
        }
      }
      const shown = Math.min(limit, matches.length);
      const rows = document.createDocumentFragment();
      for (let i = 0; i < shown; i += 1) rows.append(row(matches[i]));
      if (!matches.length) {
        rows.append(element("tr", {}, element("td", { colspan: String(data.columns.length),
          text: labels.none })));
      }
      body.replaceChildren(rows);
      status.textContent = labels.shown.replace("{shown}", matches.length)
        .replace("{total}", data.entries.length);
      const rest = Math.min(PAGE_SIZE, matches.length - shown);
      more.hidden = rest <= 0;
      more.textContent = labels.more.replace("{count}", rest);
      for (const [key, th] of Object.entries(headers)) {
        th.setAttribute("aria-sort", key === state.sort ? (state.desc ? "descending" : "ascending")
          : "none");
      }
      root.dataset.shown = String(matches.length);
      root.dataset.renders = String(Number(root.dataset.renders || 0) + 1);
      root.dataset.renderMs = (performance.now() - started).toFixed(2);
    }

    function update(delayAddress) {
      limit = PAGE_SIZE;
      render();
      clearTimeout(addressTimer);
      const write = () => history.replaceState(history.state, "", writeState(state));
      if (delayAddress) addressTimer = setTimeout(write, 300);
      else write();
    }

    search.addEventListener("input", () => { state.q = search.value; update(true); });
    for (const input of [fromInput, toInput]) {
      input.addEventListener("input", () => {
        const year = parseInt(input.value, 10);
        state[input.dataset.bound] = Number.isFinite(year) && input.value.length >= 4 ? year : null;
        update(true);
      });
    }
    root.addEventListener("change", (event) => {
      const target = event.target;
      if (target.type === "checkbox" && target.name in state.facets) {
        if (target.checked) state.facets[target.name].add(target.value);
        else state.facets[target.name].delete(target.value);
        update(false);
      } else if (target === topicSelect) {
        state.topic = topicSelect.value;
        update(false);
      }
    });
    headRow.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-sort]");
      if (!button) return;
      const key = button.dataset.sort;
      state.desc = state.sort === key ? !state.desc : Boolean(data._columns[key].descending);
      state.sort = key;
      update(false);
    });
    more.addEventListener("click", () => {
      const first = body.rows.length;
      limit += PAGE_SIZE;
      render();
      /* The last "show more" hides itself: the keyboard focus goes on to the first new row
         instead of falling back to the top of the page. */
      if (more.hidden && body.rows[first]) body.rows[first].querySelector("a").focus();
    });
    reset.addEventListener("click", () => {
      state = emptyState(data);
      search.value = ""; topicSelect.value = ""; fromInput.value = ""; toInput.value = "";
      for (const { box } of Object.values(facetBoxes)) box.checked = false;
      update(false);
    });
    render();
  }

  function initialise() {
    const root = document.querySelector(".atlas-explorer");
    if (!root || root.dataset.state) return;
    root.dataset.state = "loading";
    loadData(new URL(root.dataset.src, location.href).href).then((data) => {
      if (!root.isConnected) return;
      if (!data.entries[0] || data.entries[0]._text === undefined) prepare(data);
      build(root, data);
      root.dataset.readyAt = performance.now().toFixed(1);  /* for bench/explorer_bench.py */
      root.dataset.state = "ready";
    }).catch((error) => {
      root.dataset.state = "failed";  /* the plain list stays */
      console.error("atlas explorer:", error);
    });
  }

  if (typeof document$ !== "undefined") document$.subscribe(initialise);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initialise);
  else initialise();
})();
