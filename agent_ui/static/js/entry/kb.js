/**
 * The knowledge-base panel beside the entry form: a search box (suggested from the chosen cause or the
 * subject until the agent types their own words), hits from GET /api/kb/articles?q=…, and the chosen
 * article from GET /api/kb/articles/<id>.
 *
 * An article's body is HTML (sanitised by the server), but it is still not put into the page as markup:
 * it is parsed into an inert document and only its text and paragraph structure (headings, paragraphs,
 * lists, emphasis, line breaks) are rebuilt with createElement — no attributes, links or images survive.
 */

import { ApiError, api, segment } from "../api.js";
import { $, el, formatDateTime, shown } from "../dom.js";

const DEBOUNCE_MS = 350;
const BLOCKS = { P: "p", DIV: "p", SECTION: "p", ARTICLE: "p", BLOCKQUOTE: "blockquote", PRE: "pre",
  H1: "h4", H2: "h4", H3: "h5", H4: "h5", H5: "h6", H6: "h6", UL: "ul", OL: "ol", LI: "li", TR: "p" };
const INLINE = { STRONG: "strong", B: "strong", EM: "em", I: "em", U: "span", SPAN: "span", A: "span", CODE: "code",
  SUB: "sub", SUP: "sup", TD: "span", TH: "strong" };
const SKIPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH", "NOSCRIPT",
  "IMG", "VIDEO", "AUDIO", "FORM", "INPUT", "BUTTON", "SELECT", "TEXTAREA"]);
const MAX_DEPTH = 12;

/** The text and paragraph structure of ``html``, rebuilt as new nodes in ``target``. */
export function renderArticleBody(html, target) {
  const doc = new DOMParser().parseFromString(String(html || ""), "text/html");
  target.replaceChildren(...copyChildren(doc.body, 0));
}

function copyChildren(source, depth) {
  const out = [];
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      out.push(document.createTextNode(node.textContent));
    } else if (node.nodeType === Node.ELEMENT_NODE && !SKIPPED.has(node.tagName) && depth < MAX_DEPTH) {
      if (node.tagName === "BR") {
        out.push(el("br"));
        continue;
      }
      const tag = BLOCKS[node.tagName] || INLINE[node.tagName];
      if (tag) {
        const copy = el(tag);
        copy.append(...copyChildren(node, depth + 1));
        if (node.tagName === "TD" || node.tagName === "TH") {
          copy.append(document.createTextNode(" "));
        }
        out.push(copy);
      } else {
        out.push(...copyChildren(node, depth + 1)); // an unknown wrapper: keep its content only
      }
    }
  }
  return out;
}

export class KnowledgeBase {
  constructor() {
    this.ui = {
      aside: $("entry-kb"),
      form: $("kb-search"),
      query: $("kb-query"),
      status: $("kb-status"),
      hits: $("kb-hits"),
      article: $("kb-article"),
      articleTitle: $("kb-article-title"),
      articleMeta: $("kb-article-meta"),
      articleBody: $("kb-article-body"),
      back: $("kb-back"),
    };
    this.typed = false;
    this.timer = null;
    this.request = 0;
    this.opened = null; // the hit whose article is shown: focus goes back to it
  }

  start() {
    this.ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    this.ui.query.addEventListener("input", () => {
      this.typed = this.ui.query.value.trim() !== "";
      this.later();
    });
    this.ui.back.addEventListener("click", () => {
      this.showHits();
      if (this.opened && this.opened.isConnected) {
        this.opened.focus();
      }
    });
  }

  /** Words from the form: used until the agent types a search of their own. */
  suggest(text) {
    const words = String(text || "").trim().slice(0, 30);
    if (this.typed || !words || words === this.ui.query.value) {
      return;
    }
    this.ui.query.value = words;
    this.later();
  }

  reset() {
    this.typed = false;
    this.request += 1;
    this.ui.query.value = "";
    this.ui.hits.replaceChildren();
    this.ui.status.textContent = "输入关键词或选择投诉事由，查找相关知识。";
    this.showHits();
  }

  focus() {
    this.ui.query.focus();
    this.ui.query.select();
  }

  later() {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.search(), DEBOUNCE_MS);
  }

  async search() {
    window.clearTimeout(this.timer);
    const q = this.ui.query.value.trim();
    const request = ++this.request;
    if (!q) {
      this.ui.hits.replaceChildren();
      this.ui.status.textContent = "请输入关键词";
      return;
    }
    this.ui.status.textContent = "正在搜索知识库…";
    let hits;
    try {
      hits = await api("/api/kb/articles", { query: { q: q.slice(0, 100), limit: 10 } });
    } catch (err) {
      if (request === this.request) {
        this.ui.hits.replaceChildren();
        this.ui.status.textContent = err instanceof ApiError && err.status === 403
          ? "您的角色不能查看知识库。" : `知识库搜索失败：${err instanceof ApiError ? err.detail : "请稍后重试"}`;
      }
      return;
    }
    if (request !== this.request) {
      return;
    }
    const rows = Array.isArray(hits) ? hits : [];
    this.ui.status.textContent = rows.length ? `找到 ${rows.length} 篇相关知识` : "未找到相关知识";
    this.ui.hits.replaceChildren(...rows.map((hit) => this.hitItem(hit)));
    this.showHits();
  }

  hitItem(hit) {
    const item = el("li");
    const button = el("button", "kb-hit");
    button.type = "button";
    button.dataset.articleId = hit.id;
    button.append(el("span", "kb-hit-title", shown(hit.title)),
      el("span", "kb-hit-meta", `${shown(hit.category_name)} · ${formatDateTime(hit.published_at)}`),
      el("span", "kb-hit-snippet", hit.snippet || ""));
    button.addEventListener("click", () => {
      this.opened = button;
      this.open(hit.id);
    });
    item.append(button);
    return item;
  }

  async open(id) {
    const request = ++this.request;
    this.ui.status.textContent = "正在打开…";
    let article;
    try {
      article = await api(`/api/kb/articles/${segment(id)}`);
    } catch (err) {
      if (request === this.request) {
        this.ui.status.textContent = `无法打开：${err instanceof ApiError ? err.detail : "请稍后重试"}`;
      }
      return;
    }
    if (request !== this.request) {
      return;
    }
    this.ui.articleTitle.textContent = shown(article.title);
    this.ui.articleMeta.textContent = `${shown(article.category_name)} · ${shown(article.org_name)} · 发布于 ${
      formatDateTime(article.published_at)}`;
    renderArticleBody(article.body_html, this.ui.articleBody);
    this.ui.status.textContent = "";
    this.ui.hits.hidden = true;
    this.ui.article.hidden = false;
    this.ui.back.focus();
  }

  showHits() {
    this.ui.article.hidden = true;
    this.ui.hits.hidden = false;
  }
}
