"""Code tables of the directory (seeded from shared/domain). Labels are what users see."""

from __future__ import annotations

LINES_OF_BUSINESS: dict[str, str] = {
    "motor": "机动车辆保险",
    "surety": "保证保险",
    "property_other": "财产险其他",
    "life": "普通寿险",
    "participating": "分红险",
    "universal": "万能险",
    "unit_linked": "投连险",
    "annuity": "年金险",
    "critical_illness": "疾病保险",
    "medical": "医疗保险",
    "accident": "意外伤害保险",
}

LIFE_LINES = frozenset({"life", "participating", "universal", "unit_linked", "annuity", "critical_illness", "medical"})

POLICY_STATUSES: dict[str, str] = {
    "in_force": "有效",
    "lapsed": "失效",
    "surrendered": "已退保",
    "matured": "满期",
    "terminated": "终止",
    "cooling_off": "犹豫期内",
}

CLAIM_STATUSES: dict[str, str] = {
    "reported": "已报案",
    "surveying": "查勘中",
    "assessing": "定损/理算中",
    "approved": "已核赔",
    "paid": "已结案",
    "rejected": "拒赔",
    "withdrawn": "已撤案",
}

RISK_FLAGS: dict[str, str] = {
    "repeat_complainant": "重复投诉人",
    "regulator_words": "提及监管/媒体",
    "proxy_surrender": "疑似代理退保",
    "vip": "VIP 客户",
    "elderly": "60 岁以上",
}

PAYMENT_FREQUENCIES: dict[str, str] = {"single": "趸交", "annual": "年交", "semiannual": "半年交", "monthly": "月交"}
