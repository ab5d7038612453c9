/**
 * The policy choice of the entry form: the customer's policies (GET /api/customers/<id>/policies) in a
 * select beside the typed policy number. Choosing one — or typing a number that is one of them — shows the
 * policy's facts (holder, insured, product, line, selling org and agent) and hands the policy to the form,
 * which fills the fields it implies (line of business, plate, the respondent's agent code).
 */

import { ApiError, api, segment } from "../api.js";
import { $, el, shown } from "../dom.js";

export class PolicyPicker {
  /** ``onChoose(policy | null)`` after the agent picks a policy (not when the form restores one). */
  constructor({ onChoose }) {
    this.onChoose = onChoose;
    this.policies = [];
    this.customerId = null;
    this.request = 0;
    this.ui = {
      box: $("entry-policy"),
      select: $("entry-policy-pick"),
      status: $("entry-policy-status"),
      facts: $("entry-policy-facts"),
    };
  }

  start() {
    this.ui.select.addEventListener("change", () => {
      const policy = this.find(this.ui.select.value);
      this.showFacts(policy);
      this.onChoose(policy);
    });
  }

  /** Loads the customer's policies (none without a customer: the agent types a number). */
  async load(customerId) {
    const request = ++this.request;
    this.customerId = customerId || null;
    this.policies = [];
    this.showFacts(null);
    this.ui.select.replaceChildren(option("", customerId ? "正在加载保单…" : "未关联客户，可直接填写保单号"));
    this.ui.select.disabled = true;
    if (!customerId) {
      return;
    }
    let rows;
    try {
      rows = await api(`/api/customers/${segment(customerId)}/policies`);
    } catch (err) {
      if (request === this.request) {
        this.ui.select.replaceChildren(option("", err instanceof ApiError && err.status === 403
          ? "无权查看客户保单" : "保单加载失败，可直接填写保单号"));
      }
      return;
    }
    if (request !== this.request) {
      return;
    }
    this.policies = Array.isArray(rows) ? rows : [];
    this.ui.select.replaceChildren(
      option("", this.policies.length ? `请选择（共 ${this.policies.length} 张保单）` : "该客户名下无保单"),
      ...this.policies.map((p) => option(p.policy_number,
        [p.policy_number, p.line_label, p.product_name, p.status_label].filter(Boolean).join(" · "))),
    );
    this.ui.select.disabled = !this.policies.length;
  }

  find(number) {
    const wanted = String(number || "").trim();
    return wanted ? this.policies.find((p) => p.policy_number === wanted) || null : null;
  }

  /** Shows ``number`` as chosen when it is one of the customer's policies (typed or restored). */
  show(number) {
    const policy = this.find(number);
    this.ui.select.value = policy ? policy.policy_number : "";
    this.showFacts(policy);
    return policy;
  }

  showFacts(policy) {
    this.ui.facts.hidden = !policy;
    if (!policy) {
      this.ui.facts.replaceChildren();
      return;
    }
    const agent = policy.sales_agent_name
      ? `${policy.sales_agent_name}${policy.sales_agent_code ? `（${policy.sales_agent_code}）` : ""}` : null;
    this.ui.facts.replaceChildren(
      fact("投保人", policy.holder_name, "holder"),
      fact("被保险人", policy.insured_name, "insured"),
      fact("产品", policy.product_name, "product"),
      fact("险种", policy.line_label, "line"),
      fact("出单机构", policy.org_name, "org"),
      fact("业务员", agent, "agent"),
      fact("保险期间", `${shown(policy.effective_date)} 至 ${shown(policy.expiry_date)}`, "period"),
      fact("车牌", policy.plate_number, "plate"),
    );
  }
}

function option(value, text) {
  const node = el("option", null, text);
  node.value = value;
  return node;
}

function fact(label, value, key) {
  const wrap = el("div", "fact");
  wrap.dataset.fact = key;
  wrap.append(el("dt", null, label), el("dd", null, shown(value)));
  return wrap;
}
