/**
 * Client-side checks of the smart-entry form: pure functions, each returning a Chinese message for the
 * agent or null when the value is fine. They mirror the server's rules (backend/directory/identity.py) so
 * the agent hears about a typo while the caller is still on the line; the server checks again anyway.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";
const ID_RE = /^\d{17}[\dX]$/;
const MOBILE_RE = /^1[3-9]\d{9}$/;
const LANDLINE_RE = /^0\d{2,3}-?\d{7,8}$/;
// The same rule as ValidPlate: province, issuing letter, then 5 characters (or 6 for new-energy D/F plates).
const PLATE_RE = new RegExp(
  "^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
  + "[A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5}[DF])$",
);
const INT_RE = /^\d{1,9}$/;

/** The GB 11643 check character of the first 17 digits. */
export function idCheckDigit(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) {
    sum += Number(first17[i]) * ID_WEIGHTS[i];
  }
  return ID_CHECK[sum % 11];
}

export function normaliseIdNumber(raw) {
  return String(raw).trim().replace(/ /g, "").toUpperCase();
}

function validBirthDate(year, month, day, today) {
  const born = new Date(Date.UTC(year, month - 1, day));
  if (born.getUTCFullYear() !== year || born.getUTCMonth() !== month - 1 || born.getUTCDate() !== day) {
    return false; // 0230 and the like roll over into another month
  }
  const now = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return year >= 1900 && born.getTime() <= now;
}

/** Why an 18-digit 居民身份证号码 is invalid, or null. ``today`` is for tests of the future-date rule. */
export function idNumberProblem(raw, today = new Date()) {
  const value = normaliseIdNumber(raw);
  if (!ID_RE.test(value)) {
    return "身份证号码应为 18 位（前 17 位为数字，末位为数字或 X）";
  }
  const year = Number(value.slice(6, 10));
  const month = Number(value.slice(10, 12));
  const day = Number(value.slice(12, 14));
  if (!validBirthDate(year, month, day, today)) {
    return "身份证号码中的出生日期无效";
  }
  if (idCheckDigit(value.slice(0, 17)) !== value[17]) {
    return "身份证号码校验位错误";
  }
  return null;
}

/** Spaces, brackets and a +86/0086 prefix removed, as the server normalises before checking. */
export function normalisePhone(raw) {
  let value = String(raw).trim().replace(/[\s()（）]/g, "");
  for (const prefix of ["+86", "0086"]) {
    if (value.startsWith(prefix)) {
      value = value.slice(prefix.length).replace(/^-+/, "");
    }
  }
  return value;
}

export function phoneProblem(raw) {
  const value = normalisePhone(raw);
  if (MOBILE_RE.test(value.replace(/-/g, "")) || LANDLINE_RE.test(value)) {
    return null;
  }
  return "电话号码格式不正确（手机号为 11 位，固话如 010-12345678）";
}

export function plateProblem(raw) {
  return PLATE_RE.test(String(raw).trim().toUpperCase()) ? null : "车牌号格式不正确";
}

export function requiredProblem(value) {
  const empty = value === undefined || value === null || (typeof value === "string" && !value.trim());
  return empty ? "此项为必填项" : null;
}

export function maxLengthProblem(value, maxLength) {
  const length = typeof value === "string" ? [...value].length : 0; // characters, as the server counts them
  return maxLength && length > maxLength ? `最多 ${maxLength} 个字（当前 ${length} 个）` : null;
}

export function intProblem(raw) {
  return INT_RE.test(String(raw).trim()) ? null : "请输入整数";
}

export function datetimeProblem(raw) {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(String(raw)) ? null : "请输入有效的日期和时间";
}

const BY_KIND = {
  id_number: idNumberProblem,
  phone: phoneProblem,
  plate: plateProblem,
  int: intProblem,
  datetime: datetimeProblem,
};

/**
 * The first problem of ``value`` for a field definition ({kind, required, max_length}); ``submitting``
 * adds the required check, which would only nag while the agent is still typing elsewhere.
 */
export function fieldProblem(field, value, { submitting = false } = {}) {
  const empty = requiredProblem(value) !== null;
  if (empty) {
    return submitting && field.required ? requiredProblem(value) : null;
  }
  if (typeof value !== "string") {
    return null; // checkboxes and selects hold what they offer
  }
  const byKind = BY_KIND[field.kind];
  return maxLengthProblem(value, field.max_length) || (byKind ? byKind(value) : null);
}
