/** The login page: post the credentials, then go to the console. */

import { ApiError, api } from "./api.js";

const form = document.getElementById("login-form");
const username = document.getElementById("username");
const password = document.getElementById("password");
const submit = document.getElementById("login-submit");
const message = document.getElementById("login-message");

const fieldErrors = {
  username: document.getElementById("username-error"),
  password: document.getElementById("password-error"),
};
const inputs = { username, password };

function setFieldError(name, text) {
  fieldErrors[name].textContent = text;
  if (text) {
    inputs[name].setAttribute("aria-invalid", "true");
  } else {
    inputs[name].removeAttribute("aria-invalid");
  }
}

function clearErrors() {
  message.textContent = "";
  setFieldError("username", "");
  setFieldError("password", "");
}

function setBusy(busy) {
  submit.disabled = busy;
  submit.textContent = busy ? "正在登录…" : "登录";
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

function checkRequired() {
  let first = null;
  if (!username.value.trim()) {
    setFieldError("username", "请输入用户名");
    first = first || username;
  }
  if (!password.value) {
    setFieldError("password", "请输入密码");
    first = first || password;
  }
  if (first) {
    first.focus();
    return false;
  }
  return true;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  if (!checkRequired()) {
    return;
  }
  setBusy(true);
  try {
    await api("/api/auth/login", {
      method: "POST",
      body: { username: username.value.trim(), password: password.value },
      redirectOn401: false,
    });
    window.location.replace("/console");
  } catch (err) {
    setBusy(false);
    const detail = err instanceof ApiError ? err.detail : "登录失败，请稍后重试。";
    message.textContent = detail || "登录失败，请稍后重试。";
    password.value = "";
    password.focus();
  }
});

for (const name of Object.keys(inputs)) {
  inputs[name].addEventListener("input", () => setFieldError(name, ""));
}
